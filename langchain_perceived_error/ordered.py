"""Run many calls with bounded concurrency and yield their results in input order.

Used by every batch API (:meth:`PerceivedErrorJudge.judge_many` / ``ajudge_many``, the panel's
``label_many`` / ``alabel_many``). At most ``concurrency`` calls run at once and at most
``2 * concurrency`` are held (running or finished and waiting for their turn to be yielded), so an
input stream of any length runs in constant memory. The sync shell runs calls in a thread pool,
the async one as tasks on the running event loop; a consumer that stops early cancels the tasks
still pending.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["check_concurrency", "in_order", "in_order_async"]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


def check_concurrency(concurrency: int) -> None:
    """Raise ``ValueError`` unless ``concurrency`` is at least 1."""
    if concurrency < 1:
        msg = f"concurrency must be at least 1, got {concurrency}"
        raise ValueError(msg)


def in_order(
    fn: Callable[[ItemT], ResultT],
    items: Iterable[ItemT],
    *,
    concurrency: int,
    thread_name_prefix: str,
) -> Iterator[ResultT]:
    """``fn(item)`` for each item in ``concurrency`` threads, yielded in order (module doc)."""
    check_concurrency(concurrency)
    window: deque[Future[ResultT]] = deque()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=thread_name_prefix) as pool:
        for item in items:
            window.append(pool.submit(fn, item))
            if len(window) >= 2 * concurrency:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


async def in_order_async(
    fn: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT] | AsyncIterable[ItemT],
    *,
    concurrency: int,
) -> AsyncIterator[ResultT]:
    """Async :func:`in_order`: ``concurrency`` calls awaited at once, results in order."""
    check_concurrency(concurrency)
    limit = asyncio.Semaphore(concurrency)

    async def bounded(item: ItemT) -> ResultT:
        async with limit:
            return await fn(item)

    window: deque[asyncio.Task[ResultT]] = deque()
    try:
        async for item in _aiter(items):
            window.append(asyncio.ensure_future(bounded(item)))
            if len(window) >= 2 * concurrency:
                yield await window.popleft()
        while window:
            yield await window.popleft()
    finally:
        for task in window:
            task.cancel()


async def _aiter(items: Iterable[ItemT] | AsyncIterable[ItemT]) -> AsyncIterator[ItemT]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
