"""What the server's endpoints take and answer: the request bodies (strict: an unknown field is
refused by name, a number is never read from true/false or a string) and the error body.
``GET /models`` says which field each served model reads (``reads``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from lstmkit.boundary import MAX_SEED

MAX_TOP_K = 1_000_000         # above the vocabulary's size top_k is no limit anyway

Real = StrictInt | StrictFloat                            # a JSON number, not true/false or "0.5"
Columns = dict[str, list[Real | StrictStr]]
Images = list[list[list[Real | list[Real]]]]


class Strict(BaseModel):
    """Unknown fields are refused by name ("lenght" is not silently the default length), and
    numbers are not read from booleans ("length": true is not 1)."""
    model_config = ConfigDict(extra="forbid")


class PredictRequest(Strict):
    model: str | None = Field(None, description="the model's name (GET /models); optional with one model")
    texts: list[str] | None = Field(None, description="the texts, for a model that reads \"texts\" (GET /models: reads)")
    data: Columns | None = Field(None, description="{column: [values]} of recent rows, for a model that reads \"data\"")
    images: Images | None = Field(
        None, description="28x28 grey values, 0-255 or 0-1 (or 28x28 pixels of 1-4 channel values), for a model that "
                          "reads \"images\"")
    invert: StrictBool | None = Field(None, description="true for dark digits on a light ground (images)")


class GenerateRequest(Strict):
    model: str | None = None
    prefix: str
    length: StrictInt = Field(200, description="tokens to add, 1 to 1,000,000 (a stream stops at the time limit)")
    temperature: Real | None = Field(0.8, description="sampling temperature in [0.001, 1e6]; null = greedy")
    top_k: StrictInt = Field(0, description=f"sample among the k likeliest tokens, 0 to {MAX_TOP_K:,} (0 = all)")
    top_p: Real = Field(1.0, description="nucleus sampling mass in (0, 1] (1 = all)")
    seed: StrictInt | None = Field(None, description=f"0 to {MAX_SEED} for a reproducible sample; null = random")


class InspectRequest(Strict):
    model: str | None = None
    text: str | None = Field(None, description="one text, for a model inspected on \"text\" (GET /models: inspects)")
    images: Images | None = Field(None, description="one 28x28 array, for a model inspected on \"images\"")
    data: Columns | None = Field(None, description="{column: [values]} of recent rows, for a model inspected on \"data\"")
    invert: StrictBool | None = Field(None, description="a dark digit on a light ground (images)")


class ErrorBody(BaseModel):
    error: str = Field(description="what was wrong and how to fix it")


ERROR_RESPONSES = {status: {"model": ErrorBody, "description": meaning} for status, meaning in (
    (400, "bad input"), (404, "unknown model or path"), (413, "body over the size limit"),
    (422, "malformed request"), (500, "internal error"), (503, "every model-call slot is taken: retry"),
    (504, "past the time limit"))}


__all__ = ["ERROR_RESPONSES", "MAX_TOP_K", "ErrorBody", "GenerateRequest", "InspectRequest", "PredictRequest"]
