"""Model calls off the event loop, bounded by the calls still running, not by the requests.

A request past the time limit gets 504, but the model call it started runs on in its thread:
Python cannot stop a thread. Without a bound, clients that keep sending slow requests pile up
such calls until the executor's queue holds minutes of work and every request times out. So
:class:`ModelCalls` counts the calls whose threads are still running (a call is counted until
its thread returns, whether or not anyone still waits for it) and answers 503 at once when
``limit`` are, with a message that says why and when to retry.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from lstmkit.errors import LstmkitError

T = TypeVar("T")


class Busy(LstmkitError):
    """Every model-call slot is taken (answered 503 with Retry-After)."""


class ModelCalls:
    """At most ``limit`` model calls running at once, on their own thread pool."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.pool = concurrent.futures.ThreadPoolExecutor(limit, thread_name_prefix="lstmkit-model")
        self._running = 0
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        """Calls whose threads have not returned (including ones whose request timed out)."""
        return self._running

    def _done(self, _: concurrent.futures.Future) -> None:
        with self._lock:
            self._running -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the pool; raises :class:`Busy` at once when ``limit`` calls run."""
        with self._lock:
            if self._running >= self.limit:
                raise Busy(f"the server is busy: {self._running} model call(s) are running (a request that timed out "
                           "finishes its call before the slot is free); retry in a few seconds")
            self._running += 1
        try:
            future = self.pool.submit(fn, *args)
        except BaseException:
            with self._lock:
                self._running -= 1
            raise
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
