"""Process signals for the ``watch`` worker: stop after the batch in flight, abort on a second.

:func:`stop_on_signals` turns SIGINT/SIGTERM into a ``threading.Event`` the worker checks between
batches; :func:`wait_or_stop` sleeps between polls and wakes early when the event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

__all__ = ["stop_on_signals", "wait_or_stop"]

logger = logging.getLogger(__name__)

_STOP_CHECK_S = 0.2


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """Set ``stop`` on the first SIGINT/SIGTERM; raise ``KeyboardInterrupt`` on the second.

    The previous handlers are restored on exit. Outside the main thread signals cannot be
    handled: the event is yielded unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        logger.warning(
            "%s: finishing the batch in flight, then stopping (again to abort)",
            signal.Signals(signum).name,
        )

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def wait_or_stop(stop: threading.Event, seconds: float) -> None:
    """Sleep ``seconds`` on the event loop, returning early once ``stop`` is set."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, _STOP_CHECK_S))
