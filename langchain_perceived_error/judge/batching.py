"""Judge many traces in batches: a graph run per batch, the next one while two rounds remain.

The async many-trace paths (:meth:`~langchain_perceived_error.PerceivedErrorJudge.ajudge_many`,
``ajudge_as_completed``, the CLI's ``judge``) cut the input into batches and judge each in one run
of the judge graph, which costs LangGraph's per-run machinery once per batch instead of once per
trace. The first batch is ``min(concurrency, 64)`` traces, so the first results come after one
round of requests; each next batch is twice the one before, up to ``min(8 x concurrency, 64)``,
because a graph run costs about as much CPU as judging a dozen traces (measured in
``benchmarks/perf_cpu.py``: at concurrency 8, batches of 8 cost 1.4x openevals' CPU per trace,
batches of 64 0.85x). At most ``concurrency`` model requests are in flight across the batches (a
shared :class:`~langchain_perceived_error.judge.graph.RequestSlots`), so a batch larger than the
concurrency waits for slots; it does not send more at once. From a stream a batch takes the
records that have arrived (:func:`_chunks`). The sync paths run a batch per thread instead
(:func:`thread_batches`: 1, then 2, 4, up to :data:`MAX_THREAD_BATCH_SIZE` traces).

A batch ends with its slowest request, so one batch at a time would leave slots idle behind a slow
request; instead a new batch is started whenever fewer than two rounds of requests are still to
come (:attr:`~langchain_perceived_error.judge.graph.RequestSlots.needs_batch`), so that its traces
are read and its requests queued before a slot frees: up to two of the largest batches (or
``2 x concurrency`` traces, if more) in flight, and while a slow request holds a batch open, up to
``8 x concurrency`` (or four of the largest batches, if more). Results come as each batch
finishes, with their input positions.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from contextlib import aclosing, suppress
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from langchain_perceived_error.judge.graph import RequestSlots
from langchain_perceived_error.transport.ordered import aiter_of, check_concurrency

__all__ = [
    "BATCH_PER_SLOT",
    "IN_FLIGHT_PER_SLOT",
    "MAX_BATCH_SIZE",
    "MAX_THREAD_BATCH_SIZE",
    "BatchPlan",
    "batch_plan",
    "in_batches",
    "thread_batches",
]

ResultT = TypeVar("ResultT")

MAX_BATCH_SIZE = 64
"""Traces per graph run, at most."""
BATCH_PER_SLOT = 8
"""A batch is at most this many traces per unit of concurrency (and :data:`MAX_BATCH_SIZE`)."""
MAX_THREAD_BATCH_SIZE = 8
"""Traces per graph run, at most, in the sync paths (a thread sends a batch's requests in turn)."""
IN_FLIGHT_PER_SLOT = 8
"""Traces admitted but not yet returned behind a slow request, per unit of concurrency, at most
(or four of the largest batches, if more)."""


class BatchPlan(NamedTuple):
    """How :func:`in_batches` cuts and admits the input for one ``concurrency``."""

    first: int
    """The first batch's size: one round of requests."""
    largest: int
    """The size the batches double up to."""
    steady: int
    """Traces in flight a new batch may bring the total up to whenever one is needed."""
    most: int
    """Traces in flight at most, while a slow request holds a batch open."""


def batch_plan(concurrency: int) -> BatchPlan:
    """The batch sizes and in-flight bounds for ``concurrency`` requests in flight."""
    check_concurrency(concurrency)
    first = min(concurrency, MAX_BATCH_SIZE)
    largest = min(BATCH_PER_SLOT * concurrency, MAX_BATCH_SIZE)
    steady = 2 * max(concurrency, largest)
    return BatchPlan(first, largest, steady, max(IN_FLIGHT_PER_SLOT * concurrency, 2 * steady))


_END = object()
"""What :func:`_chunks`' reader queues after the source's last record."""


class _SourceFailed(NamedTuple):
    """What :func:`_chunks`' reader queues when the source raises."""

    error: Exception


def _sizes(first: int, largest: int, per_round: int = 1) -> Iterator[int]:
    """Batch sizes: ``per_round`` of ``first``, then of twice that, up to ``largest`` for good."""
    size = first
    while True:
        for _ in range(per_round):
            yield size
        size = min(2 * size, largest)


async def _chunks(
    records: Iterable[Any] | AsyncIterable[Any], plan: BatchPlan
) -> AsyncGenerator[list[Any], None]:
    """``records`` in lists of at most ``plan.first``, then twice that, up to ``plan.largest``.

    Each list holds the records that have arrived, at least one: a stream (standard input read on
    a thread, a queue of new traces) gives what it has, so the records read are judged without
    waiting for the next ones; an iterable's records have all arrived, so its lists are full. A
    task reads the source at most ``plan.largest`` records ahead. An error of the source is raised
    after the list of the records before it.
    """
    # the records themselves, then _END or the source's error: no allocation per record
    arrived: asyncio.Queue[Any] = asyncio.Queue(maxsize=plan.largest)

    async def read() -> None:
        source = aiter_of(records)
        try:
            async with aclosing(source):
                async for record in source:
                    await arrived.put(record)
        except Exception as e:  # raised to the consumer, in its place
            await arrived.put(_SourceFailed(e))
        else:
            await arrived.put(_END)

    reader = asyncio.ensure_future(read())
    try:
        for size in _sizes(plan.first, plan.largest):
            chunk: list[Any] = []
            item = await arrived.get()
            while item is not _END and not isinstance(item, _SourceFailed):
                chunk.append(item)
                if len(chunk) == size or arrived.empty():
                    break
                item = arrived.get_nowait()
            if chunk:
                yield chunk
            if isinstance(item, _SourceFailed):
                raise item.error
            if item is _END:
                return
    finally:
        reader.cancel()
        with suppress(asyncio.CancelledError):
            await reader


def thread_batches(records: Iterable[Any], concurrency: int) -> Iterator[tuple[int, list[Any]]]:
    """``(input index of the first, batch)`` for the sync paths, which run a batch per thread.

    A thread sends its batch's requests one after another, so the first round is ``concurrency``
    batches of one trace (first results after one request), then rounds of batches of 2, 4, up to
    :data:`MAX_THREAD_BATCH_SIZE` traces. Records are read only as each batch is taken.
    """
    check_concurrency(concurrency)
    source, first = iter(records), 0
    for size in _sizes(1, MAX_THREAD_BATCH_SIZE, per_round=concurrency):
        batch = list(islice(source, size))
        if not batch:
            return
        yield first, batch
        first += len(batch)


def _room(slots: RequestSlots, in_flight: int, plan: BatchPlan) -> bool:
    """Whether a batch may start now that would bring (at most) ``in_flight`` traces in flight.

    Only when fewer than two rounds of requests are still to come
    (:attr:`RequestSlots.needs_batch`); past ``plan.steady`` traces only while requests are still
    waiting on the model (a slow one holds a batch open), up to ``plan.most``. With none waiting,
    the batches in flight are only finishing their own work, and the next one starts when one ends.
    """
    if not slots.needs_batch:
        slots.wake_when_needed = True
        return False
    return in_flight <= plan.steady or (slots.demand > 0 and in_flight <= plan.most)


async def in_batches(
    run: Callable[[list[Any], RequestSlots], Awaitable[list[ResultT]]],
    records: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int,
) -> AsyncGenerator[tuple[int, ResultT], None]:
    """``(input index, result)`` for every record, a batch at a time as each batch finishes.

    ``run(batch, slots)`` judges one batch, its model requests taking ``slots``. A consumer that
    stops early cancels the batches still running. An error of the source stops the admission of
    batches: the batches running finish and their results come out, then the error is raised.
    """
    plan = batch_plan(concurrency)
    slots = RequestSlots(concurrency)
    source = _chunks(records, plan)
    next_chunk: asyncio.Future[list[Any]] | None = None  # being read: a stream may be slow
    running: dict[asyncio.Future[list[ResultT]], tuple[int, int]] = {}
    finished: deque[asyncio.Future[list[ResultT]]] = deque()
    admitted = in_flight = 0
    exhausted, source_error = False, None

    def on_done(task: asyncio.Future[list[ResultT]]) -> None:
        finished.append(task)
        slots.changed.set()

    try:
        while True:
            slots.changed.clear()  # any change from here on wakes the wait below
            while not exhausted and (not running or _room(slots, in_flight + plan.largest, plan)):
                if next_chunk is None:
                    next_chunk = asyncio.ensure_future(anext(source))
                    next_chunk.add_done_callback(lambda _: slots.changed.set())
                if not next_chunk.done():
                    break  # the results of the batches running go out meanwhile
                reading, next_chunk = next_chunk, None
                try:
                    batch = reading.result()
                except StopAsyncIteration:
                    exhausted = True
                    break
                except Exception as e:  # the source broke: finish what runs, then raise
                    exhausted, source_error = True, e
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
                    if source_error is not None:
                        raise source_error
                    return
                slots.starting = 0  # a batch that ended before counting itself
                if next_chunk is None or next_chunk.done():
                    # Nothing is left to wake the wait below: a chunk that arrived while the
                    # batches ending now were running (no room then) set ``changed`` before the
                    # ``clear()`` above. Take it now, with nothing running.
                    continue
            if not finished:
                await slots.changed.wait()
    finally:
        for task in running:
            task.cancel()
        if next_chunk is not None:
            next_chunk.cancel()
            with suppress(asyncio.CancelledError, Exception):  # its error, if any, is moot now
                await next_chunk
        await source.aclose()
