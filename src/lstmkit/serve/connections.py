"""Connections of ``lstmkit serve``: a client must send a request's headers within a time limit.

uvicorn's h11 server closes an idle keep-alive connection, but one that has sent part of a
request's headers and then trickles a byte at a time (a "slowloris" client) is held open for
ever, and enough of them use up ``limit_concurrency``: every other client then gets 503.
:class:`HeaderTimeoutProtocol` arms a timer when a connection opens and after each response;
if no new request has begun when it fires, the client gets ``408`` and the connection is closed.
A slow body is the app's business: :class:`lstmkit.serve.app.Limits` answers 504 past
``--timeout``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0       # a request's line and headers arrive in well under a second on any real link


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline of :attr:`header_timeout_s` for each request's
    headers (see the module's docstring)."""

    header_timeout_s: float = HEADER_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
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


def server_config(app: Any, host: str, port: int, limit_concurrency: int,
                  header_timeout_s: float = HEADER_TIMEOUT_S):
    """The ``uvicorn.Config`` of ``lstmkit serve``: h11 with :class:`HeaderTimeoutProtocol`."""
    import uvicorn

    protocol = type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout_s": header_timeout_s})
    return uvicorn.Config(app, host=host, port=port, log_level="warning", limit_concurrency=limit_concurrency,
                          http=protocol)


__all__ = ["HEADER_TIMEOUT_S", "HeaderTimeoutProtocol", "server_config"]
