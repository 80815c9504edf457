"""The server's endpoints: ``/health``, ``/models``, ``/predict``, ``/generate``, ``/inspect``
and ``/runs/{name}/metrics``. Each asks the served run what it reads (``run.serve_input``,
``run.inspect_input``, ``run.generates``) and never which task it is."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from lstmkit.boundary import MAX_SEED, shown   # MAX_SEED: lstmkit.Run.stream refuses above it
from lstmkit.errors import LstmkitError
from lstmkit.notices import noted
from lstmkit.serve.batching import MicroBatcher
from lstmkit.serve.handlers import UnknownModel
from lstmkit.serve.limits import DEADLINE_KEY
from lstmkit.serve.schema import MAX_TOP_K, GenerateRequest, InspectRequest, PredictRequest

logger = logging.getLogger("lstmkit.serve.app")   # the logger these messages always had

MAX_TEXTS = 256               # texts (or images) in one request
MAX_TEXT_CHARS = 200_000      # characters in one text


@dataclass
class Served:
    name: str
    run: Any                   # an lstmkit.api Run
    batcher: MicroBatcher | None


def load_runs(run_dirs: list[str | Path]) -> dict[str, Served]:
    import lstmkit

    served: dict[str, Served] = {}
    folders = [Path(d).resolve() for d in run_dirs]
    for folder in folders:
        if folders.count(folder) > 1:
            raise LstmkitError(f"the run {str(folder)!r} is given more than once; serve each run once")
    for run_dir, folder in zip(run_dirs, folders):
        run = lstmkit.load(run_dir)
        name = _model_name(folder, folders)
        batched = run.serve_input is not None and run.serve_input.batched         # list in, list out
        batcher = MicroBatcher(run.predict) if batched else None
        served[name] = Served(name, run, batcher)
    return served


def _model_name(folder: Path, folders: list[Path]) -> str:
    """A served run's name: its folder's name, or as many of its last path parts as make it
    unique among the runs served, joined by ``:`` (``a:cls`` and ``b:cls``: a name stays one
    URL path segment). Never a made-up suffix, which could be another run's folder name
    (``cls-2``)."""
    for parts in range(1, len(folder.parts) + 1):
        name = ":".join(folder.parts[-parts:])
        if sum(1 for f in folders if ":".join(f.parts[-parts:]) == name) == 1:
            return name
    return ":".join(folder.parts)


def _pick(request: Request, name: str | None, endpoint: str) -> Served:
    served: dict[str, Served] = request.app.state.served
    if name is None:
        if len(served) != 1:
            raise LstmkitError(f"several models are served; name one with \"model\": {sorted(served)}")
        chosen = next(iter(served.values()))
    elif name not in served:
        raise UnknownModel(f"no model named {shown(name, typed=False)}; served: {', '.join(sorted(served))}")
    else:
        chosen = served[name]
    run = chosen.run
    if endpoint == "/predict" and run.serve_input is None:
        raise LstmkitError(f"model {chosen.name!r} is a {run.task} run, which {endpoint} does not serve"
                           + (" (use /generate)" if run.generates else ""))
    if endpoint == "/generate" and not run.generates:
        raise LstmkitError(f"model {chosen.name!r} is a {run.task} run, which labels its input and does not "
                           "generate text (use /predict)")
    return chosen


async def health(request: Request) -> dict:
    return {"status": "ok", "models": len(request.app.state.served)}


async def models(request: Request) -> list[dict]:
    out = []
    for s in request.app.state.served.values():
        info: dict[str, Any] = {"name": s.name, "task": s.run.task, "run_dir": str(s.run.run_dir),
                                "reads": s.run.serve_input.field if s.run.serve_input else None,
                                "inspects": s.run.inspect_input, "generates": s.run.generates,
                                **s.run.serve_info()}
        if s.batcher is not None:
            info["batched_calls"], info["batched_items"] = s.batcher.calls, s.batcher.items
        out.append(info)
    return out


async def predict(body: PredictRequest, request: Request) -> dict:
    s = _pick(request, body.model, "/predict")
    task, wanted = s.run.task, s.run.serve_input
    reads = wanted.field
    extra = [f for f in ("texts", "data", "images", "invert") if f != reads and getattr(body, f) is not None
             and f not in wanted.options]
    if extra:                                         # never ignored: the client meant something by them
        raise LstmkitError(f"model {s.name!r} is a {task} run and reads \"{reads}\", not "
                           f"{', '.join(repr(f) for f in extra)}; send only \"{reads}\"")
    value = getattr(body, reads)
    if wanted.batched:
        results, notes = await s.batcher.submit(_checked_texts(value))
    else:
        if not value:
            raise LstmkitError(wanted.need)
        if isinstance(value, list) and len(value) > MAX_TEXTS:
            raise LstmkitError(f"{len(value)} {reads} in one request; send at most {MAX_TEXTS}")
        options = [bool(getattr(body, f)) for f in wanted.options]
        results, notes = await request.app.state.calls.run(noted, s.run.predict, value, *options)
    return {"model": s.name, "task": task, "results": s.run.served(results), **_warnings(notes)}


async def generate(body: GenerateRequest, request: Request):
    s = _pick(request, body.model, "/generate")
    _check_generate(body.top_k, body.seed)
    # run.stream checks the prefix and the sampling options now, before the first byte is sent
    pieces = s.run.stream(body.prefix, body.length, body.temperature, body.top_k, body.top_p, body.seed)
    timeout_s = request.app.state.timeout_s
    margin = min(1.0, timeout_s / 10)          # end with the message line before Limits' 504 cuts the stream
    deadline = request.scope.get(DEADLINE_KEY, time.monotonic() + timeout_s) - margin
    return StreamingResponse(_stream_until(pieces, deadline, body.length, timeout_s),
                             media_type="text/plain; charset=utf-8")


async def inspect(body: InspectRequest, request: Request) -> dict:
    from lstmkit.serve.inspect import inspect_input

    s = _pick(request, body.model, "/inspect")
    reads = s.run.inspect_input
    extra = [f for f in ("text", "data", "images") if f != reads and getattr(body, f) is not None]
    if extra:                                         # never ignored, as /predict does
        raise LstmkitError(f"model {s.name!r} is a {s.run.task} run and is inspected on \"{reads}\", not "
                           f"{', '.join(repr(f) for f in extra)}; send only \"{reads}\"")
    text = _checked_texts([body.text])[0] if body.text is not None else None
    result, notes = await request.app.state.calls.run(noted, inspect_input, s.run, text, body.images, body.data,
                                                      bool(body.invert))
    return {**result, **_warnings(notes)}


async def metrics(name: str, request: Request) -> list[dict]:
    served = request.app.state.served
    if name not in served:
        raise UnknownModel(f"no model named {shown(name, typed=False)}; served: {', '.join(sorted(served))}")
    return served[name].run.history


def add_routes(app: FastAPI) -> None:
    """The endpoints, in the order /docs lists them."""
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route("/models", models, methods=["GET"])
    app.add_api_route("/predict", predict, methods=["POST"])
    app.add_api_route("/generate", generate, methods=["POST"], response_class=PlainTextResponse,
                      responses={200: {"description": "the prefix and the generated text, streamed as it is produced"}})
    app.add_api_route("/inspect", inspect, methods=["POST"])
    app.add_api_route("/runs/{name}/metrics", metrics, methods=["GET"])


def _warnings(notes: list[str]) -> dict[str, list[str]]:
    """``{"warnings": [...]}`` when the call warned of its input (duplicate dates, outliers),
    so the client hears what the server's log hears; nothing when it did not."""
    return {"warnings": notes} if notes else {}


def _check_generate(top_k: int, seed: int | None) -> None:
    """The server's own bounds of /generate's integer options, before anything is generated (the
    run checks the rest, its :class:`Sampling` included, in ``run.stream``)."""
    if not 0 <= top_k <= MAX_TOP_K:
        raise LstmkitError(f"top_k must be in 0..{MAX_TOP_K:,} (0 = no limit), got {shown(top_k, typed=False)}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise LstmkitError(f"seed must be in 0..{MAX_SEED} (2**{MAX_SEED.bit_length()} - 1), got {shown(seed, typed=False)}; "
                           "any integer in that range gives a reproducible sample, or leave it out for a random one")


def _stream_until(pieces: Iterator[str], deadline: float, length: int, timeout_s: float) -> Iterator[bytes]:
    """The generated text as UTF-8 (a lone surrogate of the prefix as its escape), stopped at
    ``deadline`` (``time.monotonic()``) or by an error with one last message line."""
    made = 0
    try:
        for made, piece in enumerate(pieces):               # piece 0 is the prefix, then one per token
            yield piece.encode("utf-8", "backslashreplace")
            if 0 < made < length and time.monotonic() > deadline:
                yield (f"\n[lstmkit: stopped after {made:,} of {length:,} tokens at the server's time limit of "
                       f"{timeout_s:g} s; ask for a shorter length, or continue from the end of this text]\n").encode()
                return
    except Exception as err:                                 # noqa: BLE001 - the response has begun: say it in the text
        logger.warning("generation stopped after %d tokens: %s: %s", max(made - 1, 0), type(err).__name__, err)
        yield (f"\n[lstmkit: error: generation stopped after {max(made - 1, 0):,} tokens ({type(err).__name__}: "
               f"{shown(str(err), 200, typed=False)})]\n").encode("utf-8", "backslashreplace")


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


__all__ = ["MAX_TEXTS", "MAX_TEXT_CHARS", "Served", "add_routes", "load_runs"]
