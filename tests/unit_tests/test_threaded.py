"""A blocking iterator read on a thread of its own, as an async iterator."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from langchain_perceived_error.transport.threaded import aiter_in_thread


async def test_items_come_in_order_and_the_reader_stays_at_most_ahead_items_ahead():
    read: list[int] = []

    def items() -> Iterator[int]:
        for i in range(50):
            read.append(i)
            yield i

    seen = []
    async for item in aiter_in_thread(items(), ahead=4):
        seen.append(item)
        await asyncio.sleep(0.001)  # a slow consumer: the reader must wait for room
        assert len(read) - len(seen) <= 4  # never more than ``ahead`` read and not yet taken
    assert seen == list(range(50))


async def test_a_blocked_read_does_not_block_the_event_loop():
    release = threading.Event()

    def items() -> Iterator[str]:
        yield "first"
        release.wait(timeout=10)  # stdin with no writer yet
        yield "second"

    stream = aiter_in_thread(items(), ahead=2)
    assert await anext(stream) == "first"
    waiting = asyncio.ensure_future(anext(stream))
    for _ in range(5):  # a read on the event loop would hold these sleeps for 10 s
        await asyncio.sleep(0.005)
    assert not waiting.done()
    release.set()
    assert await asyncio.wait_for(waiting, timeout=5) == "second"


async def test_an_error_of_the_iterator_is_raised_in_its_place():
    def items() -> Iterator[int]:
        yield 1
        raise OSError("the pipe broke")

    seen = []

    async def consume() -> None:
        async for item in aiter_in_thread(items(), ahead=8):
            seen.append(item)

    with pytest.raises(OSError, match="the pipe broke"):
        await consume()
    assert seen == [1]


async def test_a_consumer_that_stops_early_stops_the_reading():
    read: list[int] = []

    def items() -> Iterator[int]:
        for i in range(1000):
            read.append(i)
            yield i

    stream = aiter_in_thread(items(), ahead=2)
    assert await anext(stream) == 0
    await stream.aclose()
    await asyncio.sleep(0.05)
    assert len(read) <= 3  # the one taken and at most two ahead


def test_ahead_must_be_positive():
    async def take() -> None:
        async for _ in aiter_in_thread(iter([1]), ahead=0):
            pass

    with pytest.raises(ValueError, match="ahead"):
        asyncio.run(take())
