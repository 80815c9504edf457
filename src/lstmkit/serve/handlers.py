"""How the server answers an error: one JSON shape, ``{"error": message}``, whatever raised it,
with the status that says what kind of error it was (see :mod:`lstmkit.serve.app`)."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lstmkit.boundary import shown
from lstmkit.errors import LstmkitError
from lstmkit.serve.calls import Busy


class UnknownModel(LstmkitError):
    """A request names a model that is not served (answered with 404)."""


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


class ApiJSON(JSONResponse):
    """Every JSON answer: strict JSON (NaN as null), UTF-8."""

    def render(self, content: Any) -> bytes:
        return _json_bytes(content)


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return ApiJSON({"error": message}, status_code=status, headers=headers)


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


def _malformed(request: Request, err: RequestValidationError) -> str:
    """What was malformed in a request that does not fit its endpoint's schema (422)."""
    first = err.errors()[0] if err.errors() else {}
    if first.get("type") == "json_invalid":                  # loc is ("body", character position)
        position, why = first.get("loc", ("body", "?"))[-1], first.get("ctx", {}).get("error", "invalid")
        return (f"malformed request: the body is not JSON ({why} at character {position}); send a "
                "JSON object, see /docs for the request format")
    members = {"int", "float", "str", "bool"}               # a union's member names: not the user's field
    loc = [p for p in first.get("loc", ()) if p != "body"]
    in_union = any(str(p) in members or str(p).startswith("function-") for p in loc)
    where = ".".join(str(p) for p in loc if str(p) not in members and not str(p).startswith("function-"))
    if in_union and first.get("type") in ("int_type", "float_type", "string_type", "bool_type"):
        return (f"malformed request: {shown(where, 80, typed=False)[1:-1]}: must be a JSON number (not "
                "a string or true/false); see /docs for the request format")
    kind = request.headers.get("content-type", "")
    if first.get("type") in ("model_attributes_type", "dict_type") and not where and \
            not kind.lower().startswith("application/json"):
        return (f"malformed request: the body must be JSON sent with Content-Type: application/json, "
                f"got Content-Type {shown(kind, 60, typed=False) if kind else 'none'}")
    if first.get("type") == "extra_forbidden":
        return (f"malformed request: unknown field {shown(where, 80, typed=False)}; see /docs for the fields "
                "each endpoint takes (check the spelling)")
    return (f"malformed request: {shown(where, 80, typed=False)[1:-1] if where else 'body'}: "
            f"{first.get('msg', 'invalid')}; see /docs for the request format")


def _http_message(request: Request, err: HTTPException) -> str:
    path = shown(request.url.path, 80, typed=False)
    bare = request.url.path.rstrip("/")
    near = (f"; did you mean {bare} (without the trailing slash)?" if bare != request.url.path and any(
        getattr(route, "path", None) == bare for route in request.app.routes) else "")
    return {404: f"no such path {path}{near}; the endpoints are listed at /docs",
            405: f"{request.method} is not allowed on {path}; the endpoints and their methods are listed at /docs",
            }.get(err.status_code, f"{err.detail} ({request.method} {path})")


def add_error_handlers(app: FastAPI) -> None:
    """Answer lstmkit's errors (400, 404 for an unknown model, 503 when busy), ValueErrors (400),
    malformed requests (422) and Starlette's own (404, 405, an unreadable body) as JSON."""

    @app.exception_handler(LstmkitError)
    async def _bad_input(request: Request, err: LstmkitError):
        if isinstance(err, Busy):
            return error(503, str(err), {"Retry-After": "2"})
        return error(404 if isinstance(err, UnknownModel) else 400, str(err))

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, err: ValueError):
        return error(400, str(err))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError):
        return error(422, _malformed(request, err))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException):
        if err.status_code == 400 and err.__cause__ is not None:          # FastAPI could not read the body
            return error(422, _unreadable_body(err.__cause__))
        return error(err.status_code, _http_message(request, err), err.headers)


__all__ = ["ApiJSON", "UnknownModel", "add_error_handlers", "error"]
