"""Run many calls with bounded concurrency; yield results as they complete or in input order.

Used by every batch API (:meth:`PerceivedErrorJudge.judge_many` / ``ajudge_many`` and their
``*_as_completed`` twins, the panel's ``label_many`` / ``alabel_many``, the CLI's ``judge``).
At most ``concurrency`` calls run at once, and a new one starts as soon as any one finishes: a
slow call holds its own slot and nothing else (no head-of-line blocking).

- :func:`as_completed` / :func:`as_completed_async` yield ``(index, result)`` pairs in completion
  order, ``index`` being the item's position in the input. Only the ``concurrency`` running items
  are held in memory.
- :func:`in_order` / :func:`in_order_async` restore input order on top of that
  (:func:`in_index_order`): a result that finishes before its turn waits in a window of at most
  ``window`` results and ``window_bytes`` bytes (pickled), and past the window in a temporary file,
  so memory stays bounded however long the head of the line takes, and the calls behind it keep
  running. Results held out of order must be picklable.

The sync shells run calls in a thread pool, the async ones as tasks on the running event loop; a
consumer that stops early cancels the tasks still pending.
"""

from __future__ import annotations

import asyncio
import pickle
import queue
import tempfile
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Generator,
    Iterable,
)
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import aclosing, closing
from types import TracebackType
from typing import IO, Generic, TypeVar

__all__ = [
    "WINDOW_BYTES",
    "WINDOW_PER_SLOT",
    "aiter_of",
    "as_completed",
    "as_completed_async",
    "check_concurrency",
    "in_index_order",
    "in_index_order_async",
    "in_order",
    "in_order_async",
]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

WINDOW_PER_SLOT = 32
"""Results held in memory while waiting for their turn, per unit of concurrency."""
WINDOW_BYTES = 64 * 2**20
"""Pickled bytes held in memory while waiting for their turn; past it they go to a temp file."""


def check_concurrency(concurrency: int) -> None:
    """Raise ``ValueError`` unless ``concurrency`` is at least 1."""
    if concurrency < 1:
        msg = f"concurrency must be at least 1, got {concurrency}"
        raise ValueError(msg)


def as_completed(
    fn: Callable[[ItemT], ResultT],
    items: Iterable[ItemT],
    *,
    concurrency: int,
    thread_name_prefix: str,
) -> Generator[tuple[int, ResultT], None, None]:
    """``(index, fn(item))`` in completion order, ``concurrency`` threads at once."""
    check_concurrency(concurrency)
    finished: queue.SimpleQueue[Future[ResultT]] = queue.SimpleQueue()
    running: dict[Future[ResultT], int] = {}
    source = enumerate(items)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=thread_name_prefix) as pool:
        try:
            while True:
                while len(running) < concurrency and (taken := next(source, None)) is not None:
                    future = pool.submit(fn, taken[1])
                    running[future] = taken[0]
                    future.add_done_callback(finished.put)
                if not running:
                    return
                future = finished.get()
                yield running.pop(future), future.result()
        finally:
            for future in running:
                future.cancel()


async def as_completed_async(
    fn: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT] | AsyncIterable[ItemT],
    *,
    concurrency: int,
) -> AsyncGenerator[tuple[int, ResultT], None]:
    """Async :func:`as_completed`: ``concurrency`` calls awaited at once, as tasks."""
    check_concurrency(concurrency)
    finished: asyncio.Queue[asyncio.Future[ResultT]] = asyncio.Queue()
    running: dict[asyncio.Future[ResultT], int] = {}
    source, index, exhausted = aiter_of(items), 0, False
    try:
        while True:
            while not exhausted and len(running) < concurrency:
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    exhausted = True
                    break
                started = asyncio.ensure_future(fn(item))
                running[started] = index
                index += 1
                started.add_done_callback(finished.put_nowait)
            if not running:
                return
            done = await finished.get()
            yield running.pop(done), done.result()
    finally:
        for task in running:
            task.cancel()


class _Reorder(Generic[ResultT]):
    """Results that finished before their turn, pickled: in memory up to a window, then on disk."""

    def __init__(self, window: int, window_bytes: int) -> None:
        self.next = 0
        self.window, self.window_bytes = window, window_bytes
        self.memory: dict[int, bytes] = {}
        self.memory_bytes = 0
        self.disk: dict[int, tuple[int, int]] = {}
        self.file: IO[bytes] | None = None

    def __enter__(self) -> _Reorder[ResultT]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.file is not None:
            self.file.close()

    def push(self, index: int, value: ResultT) -> list[ResultT]:
        """Take one result; return those whose turn has come (in order), maybe none."""
        if index != self.next:
            self._hold(index, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
            return []
        ready = [value]
        self.next += 1
        while (blob := self._take(self.next)) is not None:
            ready.append(pickle.loads(blob))  # our own bytes, written by _hold
            self.next += 1
        return ready

    def check_drained(self) -> None:
        """Raise ``ValueError`` if a result is still waiting (an index was never given)."""
        if self.memory or self.disk:
            msg = f"no result with index {self.next}; later ones were given"
            raise ValueError(msg)

    def _hold(self, index: int, blob: bytes) -> None:
        if len(self.memory) < self.window and self.memory_bytes + len(blob) <= self.window_bytes:
            self.memory[index] = blob
            self.memory_bytes += len(blob)
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        offset = self.file.seek(0, 2)
        self.file.write(blob)
        self.disk[index] = (offset, len(blob))

    def _take(self, index: int) -> bytes | None:
        blob = self.memory.pop(index, None)
        if blob is not None:
            self.memory_bytes -= len(blob)
            return blob
        place = self.disk.pop(index, None)
        if place is None or self.file is None:
            return None
        self.file.seek(place[0])
        blob = self.file.read(place[1])
        if not self.disk:  # everything spilled has been read back: reuse the file from the start
            self.file.seek(0)
            self.file.truncate()
        return blob


def in_index_order(
    pairs: Iterable[tuple[int, ResultT]], *, window: int, window_bytes: int = WINDOW_BYTES
) -> Generator[ResultT, None, None]:
    """The values of ``(index, value)`` pairs (indexes 0, 1, 2, ... in any order) in index order."""
    with _Reorder[ResultT](window, window_bytes) as held:
        for index, value in pairs:
            yield from held.push(index, value)
        held.check_drained()


async def in_index_order_async(
    pairs: AsyncIterable[tuple[int, ResultT]], *, window: int, window_bytes: int = WINDOW_BYTES
) -> AsyncGenerator[ResultT, None]:
    """Async :func:`in_index_order`."""
    with _Reorder[ResultT](window, window_bytes) as held:
        async for index, value in pairs:
            for ready in held.push(index, value):
                yield ready
        held.check_drained()


def in_order(
    fn: Callable[[ItemT], ResultT],
    items: Iterable[ItemT],
    *,
    concurrency: int,
    thread_name_prefix: str,
) -> Generator[ResultT, None, None]:
    """``fn(item)`` for each item in ``concurrency`` threads, yielded in input order."""
    pairs = as_completed(fn, items, concurrency=concurrency, thread_name_prefix=thread_name_prefix)
    with closing(pairs):
        yield from in_index_order(pairs, window=WINDOW_PER_SLOT * concurrency)


async def in_order_async(
    fn: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT] | AsyncIterable[ItemT],
    *,
    concurrency: int,
) -> AsyncGenerator[ResultT, None]:
    """Async :func:`in_order`: ``concurrency`` calls awaited at once, results in input order."""
    async with aclosing(as_completed_async(fn, items, concurrency=concurrency)) as pairs:
        ordered = in_index_order_async(pairs, window=WINDOW_PER_SLOT * concurrency)
        async with aclosing(ordered):
            async for result in ordered:
                yield result


async def aiter_of(items: Iterable[ItemT] | AsyncIterable[ItemT]) -> AsyncGenerator[ItemT, None]:
    """``items`` as an async generator, whether they are an iterable or an async one."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
