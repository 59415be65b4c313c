"""Judge many traces in batches: one graph run per batch, the next batch as soon as a slot idles.

The async many-trace paths (:meth:`~langchain_perceived_error.PerceivedErrorJudge.ajudge_many`,
``ajudge_as_completed``, the CLI's ``judge``) cut the input into batches of
``min(concurrency, 64)`` traces and judge each in one run of the judge graph, which costs
LangGraph's per-run machinery once per batch instead of once per trace. At most ``concurrency``
model requests are in flight across the batches (a shared
:class:`~langchain_perceived_error.judge.graph.RequestSlots`). A batch ends with its slowest
request, so one batch at a time would leave slots idle behind a slow request; instead a new batch
is started whenever the requests already admitted would leave a slot free: up to
``2 x concurrency`` traces in flight, and while a slow request holds a batch open, up to
``8 x concurrency``. With requests of equal latency that is one or two batches; behind a slow
request, as many as keep every slot busy. Results come as each batch finishes, with their
input positions.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import Any, TypeVar

from langchain_perceived_error.judge.graph import RequestSlots
from langchain_perceived_error.transport.ordered import check_concurrency

__all__ = ["IN_FLIGHT_PER_SLOT", "MAX_BATCH_SIZE", "batch_plan", "in_batches"]

ResultT = TypeVar("ResultT")

MAX_BATCH_SIZE = 64
"""Traces per graph run (fewer when ``concurrency`` is lower)."""
IN_FLIGHT_PER_SLOT = 8
"""Traces admitted but not yet returned, per unit of concurrency, at most."""


def batch_plan(concurrency: int) -> tuple[int, int]:
    """``(batch size, most traces in flight)`` for ``concurrency`` requests in flight."""
    check_concurrency(concurrency)
    size = min(concurrency, MAX_BATCH_SIZE)
    return size, max(IN_FLIGHT_PER_SLOT * concurrency, 2 * size)


async def _chunks(
    records: Iterable[Any] | AsyncIterable[Any], size: int
) -> AsyncIterator[list[Any]]:
    """``records`` in lists of ``size`` (the last one shorter), read only as each list is taken."""
    chunk: list[Any] = []
    if isinstance(records, AsyncIterable):
        async for record in records:
            chunk.append(record)
            if len(chunk) == size:
                yield chunk
                chunk = []
    else:
        for record in records:
            chunk.append(record)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _room(slots: RequestSlots, in_flight: int, most: int) -> bool:
    """Whether a batch that brings ``in_flight`` traces may start now.

    Only when a slot would sit idle; past ``2 x concurrency`` traces only while requests are still
    waiting on the model (a slow one holds a batch open), up to ``most``. With none waiting, the
    batches in flight are only finishing their own work, and the next one starts when one ends.
    """
    if not slots.idle:
        slots.wake_when_idle = True
        return False
    return in_flight <= 2 * slots.limit or (slots.demand > 0 and in_flight <= most)


async def in_batches(
    run: Callable[[list[Any], RequestSlots], Awaitable[list[ResultT]]],
    records: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int,
) -> AsyncGenerator[tuple[int, ResultT], None]:
    """``(input index, result)`` for every record, a batch at a time as each batch finishes.

    ``run(batch, slots)`` judges one batch, its model requests taking ``slots``. A consumer that
    stops early cancels the batches still running.
    """
    size, most = batch_plan(concurrency)
    slots = RequestSlots(concurrency)
    source = _chunks(records, size)
    running: dict[asyncio.Future[list[ResultT]], tuple[int, int]] = {}
    finished: deque[asyncio.Future[list[ResultT]]] = deque()
    admitted = in_flight = 0
    exhausted = False

    def on_done(task: asyncio.Future[list[ResultT]]) -> None:
        finished.append(task)
        slots.changed.set()

    try:
        while True:
            slots.changed.clear()  # any change from here on wakes the wait below
            while not exhausted and (not running or _room(slots, in_flight + size, most)):
                try:
                    batch = await anext(source)
                except StopAsyncIteration:
                    exhausted = True
                    break
                slots.admit()
                started = asyncio.ensure_future(run(batch, slots))
                running[started] = (admitted, len(batch))
                admitted += len(batch)
                in_flight += len(batch)
                started.add_done_callback(on_done)
            while finished:
                done = finished.popleft()
                first, count = running.pop(done)
                in_flight -= count
                for offset, result in enumerate(done.result()):
                    yield first + offset, result
            if not running:
                if exhausted:
                    return
                slots.starting = 0  # a batch that ended before counting itself
                continue
            if not finished:
                await slots.changed.wait()
    finally:
        for task in running:
            task.cancel()
