"""Connections of ``lstmkit serve``: a client must send a request's headers within a time limit.

uvicorn's h11 server closes an idle keep-alive connection, but one that has sent part of a
request's headers and then trickles a byte at a time (a "slowloris" client) is held open for
ever, and enough of them use up ``limit_concurrency``: every other client then gets 503.
:class:`HeaderTimeoutProtocol` arms a timer when a connection opens and after each response;
if no new request has begun when it fires, the client gets ``408`` and the connection is closed.
A slow body is the app's business: :class:`lstmkit.serve.app.Limits` answers 408 or 504 past
``--timeout``.

A request h11 cannot read (headers over its 16 KiB limit, a malformed request line) is answered
as JSON, 431 or 400, and the connection is closed only after the client has had time to read
it: closing a socket that still holds unread bytes of the request sends a TCP reset, and the
client saw "connection reset" instead of the answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0       # a request's line and headers arrive in well under a second on any real link
MAX_HEAD_BYTES = 16_384       # a request's line and headers (h11's limit on a head that arrives in pieces;
                              # :class:`lstmkit.serve.app.Limits` holds a head that came whole to it too)


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline of :attr:`header_timeout_s` for each request's
    headers (see the module's docstring)."""

    header_timeout_s: float = HEADER_TIMEOUT_S
    _lingering: bool = False                  # answered and closing: what still arrives is dropped

    _head: bytes = b""                        # the start of the current request, for the 400's reason

    def data_received(self, data: bytes) -> None:
        # a method, not an attribute set on the instance: uvloop keeps the bound method it was given
        if not self._lingering:
            if len(self._head) < MAX_HEAD_BYTES:
                self._head = (self._head + data)[:MAX_HEAD_BYTES]
            super().data_received(data)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        self._head = b""
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        waiting_since = self.cycle                            # a new request replaces it
        self.loop.call_later(self.header_timeout_s, self._late, waiting_since)

    def _late(self, waiting_since: Any) -> None:
        if self.cycle is not waiting_since or self.transport.is_closing():
            return                                            # a request began (or the connection ended)
        if waiting_since is not None and not waiting_since.response_complete:
            return
        body = json.dumps({"error": f"the request's headers did not arrive within {self.header_timeout_s:g} s; "
                                    "send the whole request at once"}).encode()
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                             b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.transport.close()


    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 refused: JSON, 431 for headers over the limit, and a
        lingering close (see the module's docstring)."""
        if self._lingering or self.transport.is_closing():
            return                                            # answered once already
        buffered = len(self.conn.trailing_data[0])
        limit = MAX_HEAD_BYTES
        if buffered > limit:
            status, reason = 431, b"Request Header Fields Too Large"
            text = (f"the request's line and headers are over {limit:,} bytes; send them shorter (a large value "
                    "belongs in the JSON body)")
        else:
            status, reason = 400, b"Bad Request"
            text = _why_unreadable(self._head)
        body = json.dumps({"error": text}).encode()
        self.transport.write(b"HTTP/1.1 " + str(status).encode() + b" " + reason + b"\r\ncontent-type: application/json"
                             b"\r\nconnection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self._linger()

    def _linger(self) -> None:
        """Stop answering, send FIN, read and drop what the client still sends, close after 2 s."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def _why_unreadable(head: bytes) -> str:
    """The reason h11 refused a request, from its first bytes: h11 raises, uvicorn drops the words."""
    line, _, rest = head.partition(b"\r\n")
    fields = rest.split(b"\r\n\r\n", 1)[0].split(b"\r\n") if b"\r\n\r\n" in rest else None
    if line.endswith(b" HTTP/1.1") and fields is not None and not any(
            f.split(b":", 1)[0].strip().lower() == b"host" for f in fields):
        return ("the request has no Host header, which HTTP/1.1 requires; send 'Host: 127.0.0.1:PORT' (the "
                "address you connect to) with it")
    return "the request is not valid HTTP/1.1 (its request line or headers could not be read)"


LINGER_S = 2.0                # time for a client that is still sending to read the answer


def server_config(app: Any, host: str, port: int, limit_concurrency: int,
                  header_timeout_s: float = HEADER_TIMEOUT_S):
    """The ``uvicorn.Config`` of ``lstmkit serve``: h11 with :class:`HeaderTimeoutProtocol`."""
    import uvicorn

    protocol = type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout_s": header_timeout_s})
    return uvicorn.Config(app, host=host, port=port, log_level="warning", limit_concurrency=limit_concurrency,
                          http=protocol, h11_max_incomplete_event_size=MAX_HEAD_BYTES)


__all__ = ["HEADER_TIMEOUT_S", "MAX_HEAD_BYTES", "HeaderTimeoutProtocol", "server_config"]
