"""Micro-batching: concurrent requests for one model are answered by one model call.

A request puts its items on the model's queue and waits; one worker task takes what has
arrived (up to ``max_items``; with ``max_wait_s`` > 0 it also waits that long after the first
for more), runs the model once in a thread, and hands each request its slice of the results.
With the default ``max_wait_s = 0`` a lone request never waits: batches form from the requests
that queued up while the model was busy, so under load many small forward passes become a few
larger ones and at low load latency is one forward pass.

Each request also hears the warnings the call logged about its own items ("text 2 has no word
the model knows"): a batch of several requests that warned is answered request by request, so
that every warning is numbered in its own request's items.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lstmkit.notices import noted

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    items: list[Any]
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _settle(pending: _Pending, result: tuple[list[Any], list[str]] | None = None,
            error: BaseException | None = None) -> None:
    """Answer one request, unless it is answered already (its caller timed out and cancelled it)."""
    if pending.done.done():
        return
    if error is not None:
        pending.done.set_exception(error)
    else:
        pending.done.set_result(result)


class MicroBatcher:
    """Batch calls of ``fn(items) -> results`` (one result per item, same order).

    Args:
        fn: the model call; runs in a worker thread, one call at a time.
        max_items: the most items one call takes.
        max_wait_s: how long the first request of a batch waits for others.
    """

    def __init__(self, fn: Callable[[list[Any]], Sequence[Any]], max_items: int = 64, max_wait_s: float = 0.0) -> None:
        self.fn, self.max_items, self.max_wait_s = fn, max_items, max_wait_s
        self.queue: asyncio.Queue[_Pending] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.worker: asyncio.Task | None = None
        self.calls = 0                      # model calls made (for tests and /models)
        self.items = 0                      # items answered

    async def submit(self, items: list[Any]) -> tuple[list[Any], list[str]]:
        """The results for ``items`` and the warnings logged about them; raises what the model
        call raised."""
        loop = asyncio.get_running_loop()
        if self.queue is None or self.loop is not loop:           # first use, or a new event loop
            self.queue, self.loop = asyncio.Queue(), loop
            self.worker = loop.create_task(self._run())
        pending = _Pending(list(items))
        await self.queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        """The worker: never ends while the server runs, whatever a model call or a caller does
        (a caller whose request timed out has cancelled its future: its result is dropped)."""
        assert self.queue is not None
        while True:
            try:
                await self._one_batch()
            except asyncio.CancelledError:
                raise
            except Exception:                                 # noqa: BLE001 - logged; the next batch runs
                logger.exception("micro-batching: a batch failed unexpectedly; serving goes on")

    async def _one_batch(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        batch = [await self.queue.get()]
        count = len(batch[0].items)
        while count < self.max_items and not self.queue.empty():           # what queued up meanwhile
            nxt = self.queue.get_nowait()
            batch.append(nxt)
            count += len(nxt.items)
        deadline = loop.time() + self.max_wait_s
        while count < self.max_items and self.max_wait_s > 0:
            timeout = deadline - loop.time()
            if timeout <= 0:
                break
            try:
                nxt = await asyncio.wait_for(self.queue.get(), timeout)
            except asyncio.TimeoutError:
                break
            batch.append(nxt)
            count += len(nxt.items)
        batch = [p for p in batch if not p.done.done()]       # answered already (timed out): no work for it
        if not batch:
            return
        flat = [item for p in batch for item in p.items]
        try:
            results, notes = await loop.run_in_executor(None, noted, self.fn, flat)
        except Exception as err:                              # noqa: BLE001 - handed to the callers
            if len(batch) == 1:
                _settle(batch[0], error=err)
                return
            await self._one_by_one(batch)                     # one bad request must not fail the others
            return
        self.calls += 1
        self.items += len(flat)
        if notes and len(batch) > 1:                          # each request's warnings, in its own numbers
            await self._one_by_one(batch)
            return
        start = 0
        for p in batch:
            _settle(p, (list(results[start : start + len(p.items)]), notes))
            start += len(p.items)

    async def _one_by_one(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        for p in batch:
            if p.done.done():
                continue
            try:
                results, notes = await loop.run_in_executor(None, noted, self.fn, p.items)
                _settle(p, (list(results), notes))
            except Exception as own:                          # noqa: BLE001
                _settle(p, error=own)

    async def close(self) -> None:
        if self.worker is not None:
            self.worker.cancel()


__all__ = ["MicroBatcher"]
