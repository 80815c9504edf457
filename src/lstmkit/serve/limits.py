"""The server's limits, outside every route (:class:`Limits`, pure ASGI middleware): the Host
header, the head's size, the body's size and encoding, keys given twice, the time limit, and one
JSON answer for an error nothing else took. Also the checks ``lstmkit serve`` makes before it
listens (:func:`check_limits`, :func:`listen_socket`, :func:`loopback_hosts`)."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
import time
from typing import Any

from lstmkit.boundary import duplicate_key, shown
from lstmkit.errors import LstmkitError
from lstmkit.serve.connections import MAX_HEAD_BYTES

logger = logging.getLogger("lstmkit.serve.app")   # the logger these messages always had

MAX_TIMEOUT_S = 86_400.0      # a day: longer is a mistake (and overflows the event loop's clock)
MIN_TIMEOUT_S = 0.1           # shorter, and no model call could finish: every request would get 504
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

    def _refusal(self, scope: dict, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        """(status, message) for a request refused on its head alone, before any body is read."""
        head_bytes = (len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
                      + sum(len(k) + len(v) + 4 for k, v in scope["headers"]))
        if head_bytes > MAX_HEAD_BYTES:           # a head that came in one read passed h11's limit on pieces
            return 431, (f"the request's line and headers are over {MAX_HEAD_BYTES:,} bytes (about {head_bytes:,}); "
                         "send them shorter (a large value belongs in the JSON body)")
        if self.hosts is not None and b"host" not in headers:
            return 400, (f"the request has no Host header (an HTTP/1.0 client may leave it out); send "
                         f"'Host: {sorted(self.hosts)[0]}:PORT' with it")
        if self.hosts is not None and _host_name(headers.get(b"host", b"")) not in self.hosts:
            return 421, (f"this server answers requests for {', '.join(sorted(self.hosts))} only, not "
                         f"{shown(headers.get(b'host', b'').decode('latin-1'), 80, typed=False)} (a guard against "
                         "DNS rebinding); start it with --host 0.0.0.0 to serve other names")
        coding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if coding not in ("", "identity"):                # never read as if it were plain JSON, nor ignored
            return 415, (f"the body is sent with Content-Encoding: {shown(coding, 40, typed=False)}; this "
                         "server reads bodies uncompressed: send it without compression")
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return 413, self._too_large(int(declared))
        return None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(send)
        headers = dict(scope["headers"])
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await exchange.fail(*refusal)
            return
        declared = headers.get(b"content-length", b"")
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


__all__ = ["DEADLINE_KEY", "Limits", "check_limits", "listen_socket", "loopback_hosts"]
