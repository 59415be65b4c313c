"""First come, first served turns on the CPU for judgements that share one event loop.

Why: concurrent judgements on one event loop take turns at every ``await``, so their CPU work
(reading the trace, building the prompt, LangGraph's bookkeeping, parsing the verdict) is
interleaved round-robin. When many traces start together, as every batch does, none of them
reaches the model before all of them have done their first steps, and none finishes before all
have done their last. With a model of fixed latency the batch stays in lock step: each round
costs the model's latency *plus* the CPU time of the whole batch (64 traces x 2 ms = +128 ms on
a 200 ms model, 61% of the ideal throughput).

A :class:`CpuGate` hands the CPU to one judgement at a time, in arrival order, and the holder
gives it up only while it waits on the model (:func:`off_cpu`). The CPU work of different
traces then runs back to back instead of interleaved, the first trace reaches the model after
its own first steps rather than after the whole batch's, and the traces stagger themselves so later
rounds overlap their CPU work with other traces' waiting. Same CPU, same concurrency, same
order of results; measured in ``benchmarks/perf_throughput.py`` (with and without the gate).

Rules that keep it safe:

- the turn is given up around the model call *and* the rate limiter's wait, and it is taken
  back only when the call returns normally: after an error (a transport retry backs off with
  ``asyncio.sleep`` in LangGraph) the judgement runs without the turn until it next calls the
  model;
- while a turn is held only LangGraph's own steps (and any callback handlers the run was given)
  are awaited, never the network, so a turn lasts about one judgement's CPU work;
- one lock per event loop (asyncio locks are bound to the loop they first wait on), held in a
  context variable that LangGraph's node tasks inherit; outside :meth:`CpuGate.turn` (the sync
  path, or the graph invoked directly) :func:`off_cpu` does nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

__all__ = ["CpuGate", "off_cpu"]


class _Hold:
    """One judgement's claim on a gate's lock; knows whether it holds it right now."""

    __slots__ = ("held", "lock")

    def __init__(self, lock: asyncio.Lock) -> None:
        self.lock = lock
        self.held = False

    async def acquire(self) -> None:
        await self.lock.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.lock.release()


_CURRENT: ContextVar[_Hold | None] = ContextVar("perceived_error_cpu_turn", default=None)


class CpuGate:
    """FIFO turns on the CPU for the judgements of one judge (see the module docs)."""

    def __init__(self, *, enabled: bool = True) -> None:
        """Create a gate (its locks are made lazily, one per running event loop).

        Args:
            enabled: ``False`` makes :meth:`turn` a no-op (for side-by-side benchmarks).

        """
        self.enabled = enabled
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this judgement's turn; hold it for the block except inside :func:`off_cpu`."""
        if not self.enabled:
            yield
            return
        hold = _Hold(self._lock())
        await hold.acquire()
        token = _CURRENT.set(hold)
        try:
            yield
        finally:
            _CURRENT.reset(token)
            hold.release()


@asynccontextmanager
async def off_cpu() -> AsyncIterator[None]:
    """Give the current turn away while waiting on I/O; take it back only on a normal exit."""
    hold = _CURRENT.get()
    if hold is None:
        yield
        return
    hold.release()
    yield
    await hold.acquire()
