"""The HTTP JSON API of ``lstmkit serve``: trained runs behind /predict, /generate, /inspect.

    lstmkit serve runs/classify-... runs/lm-... --host 127.0.0.1 --port 8000

Endpoints (OpenAPI page at ``/docs``):

- ``GET /health``: ``{"status": "ok", "models": N}``.
- ``GET /models``: each model's name (its run directory's name), task and what it takes.
- ``POST /predict``: ``{"model": NAME, "texts": [...]}`` for classify and tag runs;
  ``{"model": NAME, "data": {column: [values]}}`` for forecasters; ``{"model": NAME,
  "images": [28x28 grey values]}`` for image runs. ``model`` may be left out when one model
  is served.
- ``POST /generate``: ``{"model", "prefix", "length", "temperature", "top_k", "top_p",
  "seed"}``; the text is streamed as it is produced (``text/plain``).
- ``POST /inspect``: per token, layer and direction, the hidden and cell states and the gates
  of a text model (see :mod:`lstmkit.serve.inspect`).
- ``GET /runs/{name}/metrics``: the run's per-epoch metrics (for the training curves).
- ``GET /``: the web page (see :mod:`lstmkit.serve.page`).

Classify and tag requests arriving together are answered by one model call
(:class:`~lstmkit.serve.batching.MicroBatcher`). Every error is JSON ``{"error": message}``
with the CLI's clear message: 400 for bad input, 404 for an unknown model, 413 for a body over
the size limit, 422 for a malformed request, 504 past the time limit; the server keeps running.
"""


import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmkit.errors import LstmkitError
from lstmkit.serve.batching import MicroBatcher

MAX_TEXTS = 256               # texts (or images) in one request
MAX_TEXT_CHARS = 200_000      # characters in one text


class Limits:
    """Pure ASGI middleware (cheaper than Starlette's ``BaseHTTPMiddleware``): a body over
    ``max_body_bytes`` gets 413, a request running past ``timeout_s`` gets 504, both as JSON."""

    def __init__(self, app, max_body_bytes: int, timeout_s: float) -> None:
        self.app, self.max_body_bytes, self.timeout_s = app, max_body_bytes, timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = dict(scope["headers"]).get(b"content-length", b"")
        if size.isdigit() and int(size) > self.max_body_bytes:
            await _json(send, 413, f"request body of {int(size):,} bytes is over the limit of "
                                   f"{self.max_body_bytes:,}; send fewer or shorter inputs per request")
            return
        started = False

        async def watch(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, watch), self.timeout_s)
        except asyncio.TimeoutError:
            if not started:
                await _json(send, 504, f"the request took longer than {self.timeout_s:g} s; send less per request")


async def _json(send, status: int, message: str) -> None:
    import json

    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Served:
    name: str
    run: Any                   # an lstmkit.api Run
    batcher: MicroBatcher | None


def _load(run_dirs: list[str | Path]) -> dict[str, Served]:
    import lstmkit

    served: dict[str, Served] = {}
    for run_dir in run_dirs:
        run = lstmkit.load(run_dir)
        name = Path(run_dir).resolve().name
        while name in served:
            name += "-2"
        batcher = MicroBatcher(run.predict) if run.task in ("classify", "tag") else None   # list in, list out
        served[name] = Served(name, run, batcher)
    return served


def create_app(run_dirs: list[str | Path], max_body_bytes: int = 1_000_000, timeout_s: float = 30.0):
    """The FastAPI application serving ``run_dirs``.

    Raises:
        RunDirError: if a directory is not a run (before the server starts).
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
    from pydantic import BaseModel, Field

    from lstmkit import __version__

    if not run_dirs:
        raise LstmkitError("give at least one run directory to serve")
    served = _load(run_dirs)
    app = FastAPI(title="lstmkit", version=__version__,
                  description="Trained lstmkit runs: predict, generate, look inside the gates.")

    class PredictRequest(BaseModel):
        model: str | None = Field(None, description="the model's name (GET /models); optional with one model")
        texts: list[str] | None = Field(None, description="classify, tag: the texts")
        data: dict[str, list[float | str]] | None = Field(None, description="forecast: columns of recent rows")
        images: list[list[list[float]]] | None = Field(None, description="image: 28x28 grey values, 0-255 or 0-1")

    class GenerateRequest(BaseModel):
        model: str | None = None
        prefix: str
        length: int = 200
        temperature: float | None = 0.8
        top_k: int = 0
        top_p: float = 1.0
        seed: int | None = None

    class InspectRequest(BaseModel):
        model: str | None = None
        text: str | None = Field(None, description="classify, tag, lm")
        images: list[list[list[float]]] | None = Field(None, description="image: one 28x28 array")
        data: dict[str, list[float | str]] | None = Field(None, description="forecast: columns of recent rows")

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(LstmkitError)
    async def _bad_input(request: Request, err: LstmkitError):
        return error(400, str(err))

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, err: ValueError):
        return error(400, str(err))

    @app.exception_handler(RequestValidationError)
    async def _malformed(request: Request, err: RequestValidationError):
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(422, f"malformed request: {where or 'body'}: {first.get('msg', 'invalid')}; "
                          "see /docs for the request format")

    @app.exception_handler(Exception)
    async def _internal(request: Request, err: Exception):
        return error(500, f"internal error ({type(err).__name__}: {str(err)[:200]})")

    app.add_middleware(Limits, max_body_bytes=max_body_bytes, timeout_s=timeout_s)

    def pick(name: str | None, tasks: tuple[str, ...]) -> Served:
        if name is None:
            if len(served) != 1:
                raise LstmkitError(f"several models are served; name one with \"model\": {sorted(served)}")
            chosen = next(iter(served.values()))
        elif name not in served:
            raise KeyError(name)
        else:
            chosen = served[name]
        if chosen.run.task not in tasks:
            raise LstmkitError(f"model {chosen.name!r} is a {chosen.run.task} run; this endpoint serves "
                               f"{', '.join(tasks)} runs" + (" (use /generate)" if chosen.run.task == "lm" else ""))
        return chosen

    @app.exception_handler(KeyError)
    async def _unknown_model(request: Request, err: KeyError):
        return error(404, f"no model named {err.args[0]!r}; served: {', '.join(sorted(served))}")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "models": len(served)}

    @app.get("/models")
    async def models() -> list[dict]:
        out = []
        for s in served.values():
            info: dict[str, Any] = {"name": s.name, "task": s.run.task, "run_dir": str(s.run.run_dir)}
            if s.run.task == "classify":
                info["labels"] = s.run.labels
            if s.run.task == "forecast":
                info["inputs"] = s.run.cfg.forecast.input_len
            if s.batcher is not None:
                info["batched_calls"], info["batched_items"] = s.batcher.calls, s.batcher.items
            out.append(info)
        return out

    @app.post("/predict")
    async def predict(body: PredictRequest) -> dict:
        s = pick(body.model, ("classify", "tag", "forecast", "image"))
        task = s.run.task
        if task in ("classify", "tag"):
            texts = _checked_texts(body.texts)
            results = await s.batcher.submit(texts)
            if task == "tag":
                results = [[{"word": w, "tag": t} for w, t in pairs] for pairs in results]
            return {"model": s.name, "task": task, "results": results}
        if task == "forecast":
            if not body.data:
                raise LstmkitError("a forecaster needs \"data\": {column: [values]} of recent rows")
            rows = await asyncio.get_running_loop().run_in_executor(None, s.run.predict, body.data)
            return {"model": s.name, "task": task, "results": rows}
        if not body.images:
            raise LstmkitError("an image model needs \"images\": a list of 28x28 grey-value arrays")
        if len(body.images) > MAX_TEXTS:
            raise LstmkitError(f"{len(body.images)} images in one request; send at most {MAX_TEXTS}")
        results = await asyncio.get_running_loop().run_in_executor(None, s.run.predict, body.images)
        return {"model": s.name, "task": task, "results": results}

    @app.post("/generate")
    async def generate(body: GenerateRequest):
        s = pick(body.model, ("lm",))
        pieces = s.run.stream(body.prefix, body.length, body.temperature, body.top_k, body.top_p, body.seed)
        return StreamingResponse(pieces, media_type="text/plain; charset=utf-8")

    @app.post("/inspect")
    async def inspect(body: InspectRequest) -> dict:
        from lstmkit.serve.inspect import inspect_input

        s = pick(body.model, ("classify", "tag", "lm", "forecast", "image"))
        text = _checked_texts([body.text])[0] if body.text is not None else None
        return await asyncio.get_running_loop().run_in_executor(None, inspect_input, s.run, text, body.images, body.data)

    @app.get("/runs/{name}/metrics")
    async def metrics(name: str) -> list[dict]:
        if name not in served:
            raise KeyError(name)
        return served[name].run.history

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        from lstmkit.serve.page import PAGE

        return PAGE

    app.state.served = served
    return app


def _checked_texts(texts: list[str] | None) -> list[str]:
    if not texts:
        raise LstmkitError("give \"texts\": a list of one or more texts")
    if len(texts) > MAX_TEXTS:
        raise LstmkitError(f"{len(texts)} texts in one request; send at most {MAX_TEXTS}")
    for number, text in enumerate(texts, 1):
        if not text.strip():
            raise LstmkitError(f"text {number} is empty; give some words")
        if len(text) > MAX_TEXT_CHARS:
            raise LstmkitError(f"text {number} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
    return texts



__all__ = ["MAX_TEXTS", "MAX_TEXT_CHARS", "create_app"]
