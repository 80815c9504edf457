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
  "seed"}``; the text is streamed as it is produced (``text/plain``). Every argument is checked
  before the stream starts (a bad one is a JSON 400). A stream that reaches the time limit is not
  refused up front (how fast a model writes depends on the machine and the load): it stops just
  before the limit and ends with one message line, ``[lstmkit: stopped after N of M tokens ...]``,
  saying how to go on; an error inside the stream ends it the same way, ``[lstmkit: error: ...]``.
- ``POST /inspect``: per token, layer and direction, the hidden and cell states and the gates
  of a text model (see :mod:`lstmkit.serve.inspect`).
- ``GET /runs/{name}/metrics``: the run's per-epoch metrics (for the training curves).
- ``GET /``: the web page (see :mod:`lstmkit.serve.page`).

Classify and tag requests arriving together are answered by one model call
(:class:`~lstmkit.serve.batching.MicroBatcher`). Every error, whatever raised it, is JSON
``{"error": message}`` with the CLI's clear message: 400 for bad input, 404 for an unknown model
or path, 405 for a wrong method (HEAD is answered as GET without the body), 408 for headers that
do not arrive in time (:mod:`lstmkit.serve.connections`), 413 for a body over the size limit
(however it is sent), 422 for a malformed request, a body that is not JSON or one that gives a key
twice, 500 (logged, no traceback in the answer) for a
bug, 503 (with Retry-After) when every model-call slot is taken, 504 past the time limit; the
server keeps running. A model call whose request got 504 runs on in its thread (Python cannot
stop one), and holds its slot until it returns: :class:`~lstmkit.serve.calls.ModelCalls`
bounds them, so slow requests cannot queue up minutes of work. Every response carries a
Content-Security-Policy (:data:`lstmkit.serve.page.SECURITY_HEADERS`).
"""

import asyncio
import errno
import json
import logging
import math
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmkit.boundary import MAX_SEED, duplicate_key, shown   # MAX_SEED: lstmkit.Run.stream refuses above it
from lstmkit.errors import LstmkitError
from lstmkit.notices import noted
from lstmkit.serve.batching import MicroBatcher
from lstmkit.serve.calls import Busy, ModelCalls
from lstmkit.serve.connections import MAX_HEAD_BYTES

logger = logging.getLogger(__name__)

MAX_TEXTS = 256               # texts (or images) in one request
MAX_TEXT_CHARS = 200_000      # characters in one text
MAX_TIMEOUT_S = 86_400.0      # a day: longer is a mistake (and overflows the event loop's clock)
MODEL_CALLS = 4                # forecast, image and inspect calls running at once (see serve/calls.py)
MIN_TIMEOUT_S = 0.1           # shorter, and no model call could finish: every request would get 504
MAX_TOP_K = 1_000_000         # above the vocabulary's size top_k is no limit anyway
DEADLINE_KEY = "lstmkit.deadline"   # scope key: time.monotonic() at which Limits answers 504


def _host_name(header: bytes) -> str:
    """The host of a Host header, without its port: ``[::1]:8000`` -> ``::1``."""
    host = header.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def loopback_hosts(bind: str) -> frozenset[str] | None:
    """The Host names a server bound to ``bind`` answers: for a loopback address, only names of
    this machine (a page from elsewhere that rebinds its DNS name to 127.0.0.1 is refused); for
    any other address, every name (None)."""
    import ipaddress

    try:
        loopback = ipaddress.ip_address(bind).is_loopback
    except ValueError:
        loopback = bind.lower() == "localhost"
    return frozenset({"127.0.0.1", "localhost", "::1", bind.lower()}) if loopback else None


def check_limits(max_body_bytes: int, timeout_s: float) -> None:
    """Refuse limits under which the server would refuse every request (or never time out).

    Raises:
        LstmkitError: naming the option (CLI and API spelling), the value and the fix.
    """
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise LstmkitError(f"--max-body (max_body_bytes) must be a whole number of bytes >= 1, got "
                           f"{shown(max_body_bytes, typed=False)}; for example --max-body 1000000 (the default)")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or \
            not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise LstmkitError(f"--timeout (timeout_s) must be a number of seconds in [{MIN_TIMEOUT_S:g}, {MAX_TIMEOUT_S:g}], got "
                           f"{shown(timeout_s, typed=False)}; for example --timeout 30 (the default)")


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (uvicorn listens on it), so a busy port is said before the
    server says it is serving.

    Raises:
        LstmkitError: the port is in use, the host is not an address of this machine, or no rights.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise LstmkitError(f"--host {shown(host, typed=False)} is not an address to listen on ({err}); use 127.0.0.1 "
                           "(this machine only), 0.0.0.0 (every interface) or one of this machine's addresses") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)        # as uvicorn does: TIME_WAIT is no obstacle
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise LstmkitError(f"port {port} on {host} is in use; choose another --port") from None
        if err.errno == errno.EACCES:
            raise LstmkitError(f"no permission to listen on port {port} of {host}; choose a --port above 1023") from None
        raise LstmkitError(f"cannot listen on {host} port {port} ({err.strerror}); check --host and --port") from None
    sock.set_inheritable(True)
    return sock


class _Refused(Exception):
    """Raised into the app by :class:`Limits`' ``receive`` once the body is over the limit or
    gives a key twice: the app's own answer is dropped for Limits' 413 or 422."""


class _Exchange:
    """One request's ``send``: adds the security headers, remembers what has been sent, and
    answers an error as JSON, or as a last text line when the response has already begun."""

    def __init__(self, send: Any) -> None:
        self._send, self.started, self.finished = send, False, False

    async def send(self, message: dict) -> None:
        from lstmkit.serve.page import SECURITY_HEADERS

        if message["type"] == "http.response.start":
            names = {name for name, _ in SECURITY_HEADERS}
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": headers + SECURITY_HEADERS}
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True
        await self._send(message)

    async def fail(self, status: int, message: str) -> None:
        if not self.started:
            body = json.dumps({"error": message}).encode()
            await self.send({"type": "http.response.start", "status": status,
                             "headers": [(b"content-type", b"application/json"),
                                         (b"content-length", str(len(body)).encode())]})
            await self.send({"type": "http.response.body", "body": body})
        elif not self.finished:                          # a stream under way: end it with the reason
            await self.send({"type": "http.response.body", "body": f"\n[lstmkit: error: {message}]\n".encode(),
                             "more_body": False})


class Limits:
    """Pure ASGI middleware (cheaper than Starlette's ``BaseHTTPMiddleware``), outside every route:

    - a body over ``max_body_bytes`` gets 413: refused at once by its Content-Length, and counted
      while it is read whatever the transfer encoding (chunked, or a Content-Length that lies);
    - a request running past ``timeout_s`` gets 504;
    - an exception no handler took gets 500 ``{"error": ...}`` (and the traceback goes to the log);
    - every response gets :data:`lstmkit.serve.page.SECURITY_HEADERS`.
    """

    def __init__(self, app: Any, max_body_bytes: int, timeout_s: float, hosts: frozenset[str] | None = None) -> None:
        check_limits(max_body_bytes, timeout_s)
        self.app, self.max_body_bytes, self.timeout_s, self.hosts = app, max_body_bytes, timeout_s, hosts

    def _too_large(self, size: int | None) -> str:
        what = f"request body of {size:,} bytes is" if size is not None else "request body is"
        return (f"{what} over the limit of {self.max_body_bytes:,} bytes; send fewer or shorter inputs per request "
                "(or start the server with a larger --max-body)")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(send)
        head_bytes = (len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
                      + sum(len(k) + len(v) + 4 for k, v in scope["headers"]))
        if head_bytes > MAX_HEAD_BYTES:           # a head that came in one read passed h11's limit on pieces
            await exchange.fail(431, f"the request's line and headers are over {MAX_HEAD_BYTES:,} bytes "
                                     f"(about {head_bytes:,}); send them shorter (a large value belongs in the JSON body)")
            return
        headers = dict(scope["headers"])
        if self.hosts is not None and b"host" not in headers:
            await exchange.fail(400, f"the request has no Host header (an HTTP/1.0 client may leave it out); send "
                                     f"'Host: {sorted(self.hosts)[0]}:PORT' with it")
            return
        if self.hosts is not None and _host_name(headers.get(b"host", b"")) not in self.hosts:
            await exchange.fail(421, f"this server answers requests for {', '.join(sorted(self.hosts))} only, not "
                                     f"{shown(headers.get(b'host', b'').decode('latin-1'), 80, typed=False)} (a guard against "
                                     "DNS rebinding); start it with --host 0.0.0.0 to serve other names")
            return
        coding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if coding not in ("", "identity"):                # never read as if it were plain JSON, nor ignored
            await exchange.fail(415, f"the body is sent with Content-Encoding: {shown(coding, 40, typed=False)}; this "
                                     "server reads bodies uncompressed: send it without compression")
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await exchange.fail(413, self._too_large(int(declared)))
            return
        head = scope.get("method") == "HEAD"
        if head:                                  # HEAD is GET without the body (RFC 9110), for every GET route
            scope = {**scope, "method": "GET"}
        received, over, refused, chunks, whole = 0, False, None, [], False

        async def counted_receive() -> dict:
            nonlocal received, over, refused, whole
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    over = True
                    raise _Refused()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):   # the whole body, bounded above: keys given twice?
                    whole = True
                    twice = duplicate_key(b"".join(chunks)) if received else None
                    if twice:
                        refused = f"malformed request: {twice}; send each field once"
                        raise _Refused()
            return message

        async def guarded_send(message: dict) -> None:
            if over or refused:                   # what the app says about a refused body is replaced below
                return
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await exchange.send(message)

        scope[DEADLINE_KEY] = time.monotonic() + self.timeout_s
        try:
            await asyncio.wait_for(self.app(scope, counted_receive, guarded_send), self.timeout_s)
        except asyncio.TimeoutError:
            if declared.isdigit() and not whole and received < int(declared):   # the client, not the model, was slow
                await exchange.fail(408, f"the request body did not arrive within {self.timeout_s:g} s: Content-Length "
                                         f"says {int(declared):,} bytes, {received:,} came; send the whole body (and a "
                                         "Content-Length that matches it)")
                return
            await exchange.fail(504, f"the request took longer than {self.timeout_s:g} s; send less per request")
            return
        except Exception as err:                  # noqa: BLE001 - answered as JSON, logged with its traceback
            if not (over or refused):
                logger.error("internal error answering %s %s", scope.get("method"), scope.get("path"), exc_info=err)
                await exchange.fail(500, f"internal error ({type(err).__name__}: {shown(str(err), 200, typed=False)}); the "
                                         "server log has the details")
                return
        if over:
            await exchange.fail(413, self._too_large(None))
        elif refused:
            await exchange.fail(422, refused)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_bytes(content: Any) -> bytes:
    """Strict JSON in UTF-8; a lone surrogate (from a request's own text) is written as its
    ``\\uXXXX`` escape, so echoing any request back never fails."""
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        text = json.dumps(_finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


class UnknownModel(LstmkitError):
    """A request names a model that is not served (answered with 404)."""


@dataclass
class Served:
    name: str
    run: Any                   # an lstmkit.api Run
    batcher: MicroBatcher | None


def _load(run_dirs: list[str | Path]) -> dict[str, Served]:
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


def _unreadable_body(cause: BaseException) -> str:
    if isinstance(cause, UnicodeDecodeError) and bytes(cause.object[:2]) == b"\x1f\x8b":
        return ("malformed request: the body is gzip-compressed; send it uncompressed (this server does not read "
                "Content-Encoding: gzip)")
    if isinstance(cause, UnicodeDecodeError):
        return (f"malformed request: the body is not UTF-8 (byte {cause.object[cause.start]:#04x} at position "
                f"{cause.start}); send JSON encoded as UTF-8")
    if isinstance(cause, ValueError) and "digits" in str(cause) and "integer string conversion" in str(cause):
        return ("malformed request: a number in the body has too many digits (at most 4300); send numbers in their "
                "ranges, see /docs")
    if isinstance(cause, RecursionError):
        return "malformed request: the body nests arrays or objects too deeply to read; see /docs for the request format"
    return (f"malformed request: the body cannot be read as JSON ({type(cause).__name__}: {shown(str(cause), 120, typed=False)}); "
            "see /docs for the request format")


def create_app(run_dirs: list[str | Path], max_body_bytes: int = 1_000_000, timeout_s: float = 30.0,
               hosts: frozenset[str] | None = None):
    """The FastAPI application serving ``run_dirs``.

    ``hosts``: the Host header values answered (without port); None answers any. ``lstmkit
    serve`` on a loopback address passes the loopback names (see :func:`loopback_hosts`).

    Raises:
        LstmkitError: for limits under which no request could be answered (:func:`check_limits`).
        RunDirError: if a directory is not a run (before the server starts).
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr  # noqa: F401

    Real = StrictInt | StrictFloat                            # a JSON number, not true/false or "0.5"
    from starlette.exceptions import HTTPException

    from lstmkit import __version__
    from lstmkit.serve.page import add_pages

    check_limits(max_body_bytes, timeout_s)
    if not run_dirs:
        raise LstmkitError("give at least one run directory to serve")
    served = _load(run_dirs)
    calls = ModelCalls(MODEL_CALLS)

    class ApiJSON(JSONResponse):
        def render(self, content: Any) -> bytes:
            return _json_bytes(content)

    class ErrorBody(BaseModel):
        error: str = Field(description="what was wrong and how to fix it")

    errors = {status: {"model": ErrorBody, "description": meaning} for status, meaning in (
        (400, "bad input"), (404, "unknown model or path"), (413, "body over the size limit"),
        (422, "malformed request"), (500, "internal error"), (503, "every model-call slot is taken: retry"),
        (504, "past the time limit"))}
    app = FastAPI(title="lstmkit", version=__version__, default_response_class=ApiJSON, responses=errors,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  description="Trained lstmkit runs: predict, generate, look inside the gates.")
    app.router.redirect_slashes = False     # POST /predict/ is answered 404 naming /predict, not an empty 307

    from pydantic import ConfigDict

    class Strict(BaseModel):
        """Unknown fields are refused by name ("lenght" is not silently the default length), and
        numbers are not read from booleans ("length": true is not 1)."""
        model_config = ConfigDict(extra="forbid")

    class PredictRequest(Strict):
        model: str | None = Field(None, description="the model's name (GET /models); optional with one model")
        texts: list[str] | None = Field(None, description="classify, tag: the texts")
        data: dict[str, list[Real | StrictStr]] | None = Field(None, description="forecast: columns of recent rows")
        images: list[list[list[Real | list[Real]]]] | None = Field(
            None, description="image: 28x28 grey values, 0-255 or 0-1 (or 28x28 pixels of 1-4 channel values)")
        invert: StrictBool | None = Field(None, description="image: true for dark digits on a light ground")

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
        text: str | None = Field(None, description="classify, tag, lm")
        images: list[list[list[Real | list[Real]]]] | None = Field(None, description="image: one 28x28 array")
        data: dict[str, list[Real | StrictStr]] | None = Field(None, description="forecast: columns of recent rows")
        invert: StrictBool | None = Field(None, description="image: a dark digit on a light ground")

    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return ApiJSON({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(LstmkitError)
    async def _bad_input(request: Request, err: LstmkitError):
        if isinstance(err, Busy):
            return error(503, str(err), {"Retry-After": "2"})
        return error(404 if isinstance(err, UnknownModel) else 400, str(err))

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, err: ValueError):
        return error(400, str(err))

    @app.exception_handler(RequestValidationError)
    async def _malformed(request: Request, err: RequestValidationError):
        first = err.errors()[0] if err.errors() else {}
        if first.get("type") == "json_invalid":                  # loc is ("body", character position)
            position, why = first.get("loc", ("body", "?"))[-1], first.get("ctx", {}).get("error", "invalid")
            return error(422, f"malformed request: the body is not JSON ({why} at character {position}); send a "
                              "JSON object, see /docs for the request format")
        members = {"int", "float", "str", "bool"}               # a union's member names: not the user's field
        loc = [p for p in first.get("loc", ()) if p != "body"]
        in_union = any(str(p) in members or str(p).startswith("function-") for p in loc)
        where = ".".join(str(p) for p in loc if str(p) not in members and not str(p).startswith("function-"))
        if in_union and first.get("type") in ("int_type", "float_type", "string_type", "bool_type"):
            return error(422, f"malformed request: {shown(where, 80, typed=False)[1:-1]}: must be a JSON number (not "
                              "a string or true/false); see /docs for the request format")
        kind = request.headers.get("content-type", "")
        if first.get("type") in ("model_attributes_type", "dict_type") and not where and \
                not kind.lower().startswith("application/json"):
            return error(422, f"malformed request: the body must be JSON sent with Content-Type: application/json, "
                              f"got Content-Type {shown(kind, 60, typed=False) if kind else 'none'}")
        if first.get("type") == "extra_forbidden":
            return error(422, f"malformed request: unknown field {shown(where, 80, typed=False)}; see /docs for the fields "
                              "each endpoint takes (check the spelling)")
        return error(422, f"malformed request: {shown(where, 80, typed=False)[1:-1] if where else 'body'}: "
                          f"{first.get('msg', 'invalid')}; see /docs for the request format")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException):
        if err.status_code == 400 and err.__cause__ is not None:          # FastAPI could not read the body
            return error(422, _unreadable_body(err.__cause__))
        path = shown(request.url.path, 80, typed=False)
        bare = request.url.path.rstrip("/")
        near = (f"; did you mean {bare} (without the trailing slash)?" if bare != request.url.path and any(
            getattr(route, "path", None) == bare for route in app.routes) else "")
        message = {404: f"no such path {path}{near}; the endpoints are listed at /docs",
                   405: f"{request.method} is not allowed on {path}; the endpoints and their methods are listed at /docs",
                   }.get(err.status_code, f"{err.detail} ({request.method} {path})")
        return error(err.status_code, message, err.headers)

    app.add_middleware(Limits, max_body_bytes=max_body_bytes, timeout_s=timeout_s, hosts=hosts)
    add_pages(app)

    def pick(name: str | None, endpoint: str) -> Served:
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

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "models": len(served)}

    @app.get("/models")
    async def models() -> list[dict]:
        out = []
        for s in served.values():
            info: dict[str, Any] = {"name": s.name, "task": s.run.task, "run_dir": str(s.run.run_dir),
                                    **s.run.serve_info()}
            if s.batcher is not None:
                info["batched_calls"], info["batched_items"] = s.batcher.calls, s.batcher.items
            out.append(info)
        return out

    @app.post("/predict")
    async def predict(body: PredictRequest) -> dict:
        s = pick(body.model, "/predict")
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
            results, notes = await calls.run(noted, s.run.predict, value, *options)
        return {"model": s.name, "task": task, "results": s.run.served(results), **_warnings(notes)}

    @app.post("/generate", response_class=PlainTextResponse,
              responses={200: {"description": "the prefix and the generated text, streamed as it is produced"}})
    async def generate(body: GenerateRequest, request: Request):
        s = pick(body.model, "/generate")
        _check_generate(body.top_k, body.seed)
        # run.stream checks the prefix and the sampling options now, before the first byte is sent
        pieces = s.run.stream(body.prefix, body.length, body.temperature, body.top_k, body.top_p, body.seed)
        margin = min(1.0, timeout_s / 10)          # end with the message line before Limits' 504 cuts the stream
        deadline = request.scope.get(DEADLINE_KEY, time.monotonic() + timeout_s) - margin
        return StreamingResponse(_stream_until(pieces, deadline, body.length, timeout_s),
                                 media_type="text/plain; charset=utf-8")

    @app.post("/inspect")
    async def inspect(body: InspectRequest) -> dict:
        from lstmkit.serve.inspect import inspect_input

        s = pick(body.model, "/inspect")
        reads = s.run.inspect_input
        extra = [f for f in ("text", "data", "images") if f != reads and getattr(body, f) is not None]
        if extra:                                         # never ignored, as /predict does
            raise LstmkitError(f"model {s.name!r} is a {s.run.task} run and is inspected on \"{reads}\", not "
                               f"{', '.join(repr(f) for f in extra)}; send only \"{reads}\"")
        text = _checked_texts([body.text])[0] if body.text is not None else None
        result, notes = await calls.run(noted, inspect_input, s.run, text, body.images, body.data, bool(body.invert))
        return {**result, **_warnings(notes)}

    @app.get("/runs/{name}/metrics")
    async def metrics(name: str) -> list[dict]:
        if name not in served:
            raise UnknownModel(f"no model named {shown(name, typed=False)}; served: {', '.join(sorted(served))}")
        return served[name].run.history

    app.state.served, app.state.calls = served, calls
    return app


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


__all__ = ["MAX_TEXTS", "MAX_TEXT_CHARS", "Limits", "UnknownModel", "check_limits", "create_app", "listen_socket",
           "shown"]
