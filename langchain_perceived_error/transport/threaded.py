"""Read a blocking iterator on a thread of its own, as an async iterator.

A command reading standard input or a FIFO must not block the event loop while it waits for the
next line: the requests already in flight would stop with it, and the records already read would
wait for ones that may never come (``tail -f log | perceived-error judge -``).
:func:`aiter_in_thread` runs the iterator on a daemon thread (it may stay blocked on a read when
the program ends, so it must not be waited for), at most ``ahead`` items ahead of the consumer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

__all__ = ["aiter_in_thread"]

T = TypeVar("T")

_END = object()


async def aiter_in_thread(items: Iterator[T], *, ahead: int) -> AsyncIterator[T]:
    """The items of ``items``, each read on a daemon thread, at most ``ahead`` not yet taken.

    An exception the iterator raises is raised here, at its place in the sequence. A consumer that
    stops early stops the reading at the next item (a read already blocked stays blocked).
    """
    if ahead < 1:
        msg = f"ahead must be at least 1, got {ahead}"
        raise ValueError(msg)
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[Any] = asyncio.Queue()
    room = threading.Semaphore(ahead)
    stopped = threading.Event()

    def post(value: Any) -> None:
        try:
            loop.call_soon_threadsafe(ready.put_nowait, value)
        except RuntimeError:  # the event loop has closed: nobody reads any more
            stopped.set()

    def read() -> None:
        iterator = iter(items)
        try:
            while True:
                room.acquire()  # before reading: at most ``ahead`` read and not yet taken
                if stopped.is_set():
                    return
                try:
                    item = next(iterator)
                except StopIteration:
                    post(_END)
                    return
                post(item)
        except BaseException as e:  # handed to the consumer, raised there
            post(_Raised(e))

    threading.Thread(target=read, name="read-records", daemon=True).start()
    try:
        while True:
            item = await ready.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            room.release()
            yield item
    finally:
        stopped.set()
        room.release()  # a reader waiting for room wakes and stops


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error
