"""The batch scheduler (:func:`in_batches`) on its own, with batches whose steps the test drives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from langchain_perceived_error.judge.batching import batch_plan, in_batches
from langchain_perceived_error.judge.graph import RequestSlots


async def _settle() -> None:
    """Let every task that can run, run (no timers or I/O here: a bounded number of steps)."""
    for _ in range(50):
        await asyncio.sleep(0)


class _Batches:
    """``run`` for :func:`in_batches`: batch ``i`` needs one request; the test says when it is
    answered (``answer(i)``) and when the batch ends (``finish(i)``)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self._answered: list[asyncio.Event] = []
        self._finished: list[asyncio.Event] = []

    async def run(self, batch: list[int], slots: RequestSlots) -> list[int]:
        i = len(self.sizes)
        self.sizes.append(len(batch))
        self._answered.append(asyncio.Event())
        self._finished.append(asyncio.Event())
        slots.need(1, first=True)  # one trace of the batch needs a request, as the graph counts
        await self._answered[i].wait()
        slots.done()
        await self._finished[i].wait()
        return batch

    def answer(self, i: int) -> None:
        self._answered[i].set()

    def finish(self, *batches: int) -> None:
        for i in batches:  # in one step: the batches end before the scheduler runs again
            self._finished[i].set()


async def test_the_end_of_a_stream_seen_while_the_last_batches_run_ends_the_run():
    # The end of the stream arrives while two batches (12 traces) are still running and no
    # request is waiting: no room for one more batch (past plan.steady - plan.largest = 8 in
    # flight), so the scheduler leaves the finished read for later. Then both batches end in
    # the same step. With nothing left running, that read must be taken at once: it was the
    # last thing to wake the scheduler, and it had already woken it.
    assert batch_plan(1) == (1, 8, 16, 32)
    ended = asyncio.Event()

    async def stream() -> AsyncIterator[int]:
        for i in range(15):  # batches of 1, 2, 4 and 8
            yield i
        await ended.wait()  # the writer closes later

    batches = _Batches()
    out: list[tuple[int, int]] = []

    async def consume() -> None:
        async for pair in in_batches(batches.run, stream(), concurrency=1):
            out.append(pair)

    task = asyncio.ensure_future(consume())
    try:
        await _settle()
        for i in (0, 1):
            batches.answer(i)
            await _settle()
            batches.finish(i)
            await _settle()
        batches.answer(2)  # one request waits (batch 3's): room, so the next read starts
        await _settle()
        batches.answer(3)  # none waits now: 12 traces in flight leave no room
        await _settle()
        assert batches.sizes == [1, 2, 4, 8]
        ended.set()
        await _settle()
        batches.finish(2, 3)
        await asyncio.wait_for(asyncio.shield(task), timeout=10)
    finally:
        task.cancel()
    assert sorted(out) == [(i, i) for i in range(15)]
