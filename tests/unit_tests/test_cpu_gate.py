"""The CPU gate: FIFO turns, given up while waiting on the model, never held through a backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langgraph.types import RetryPolicy

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.cpu_gate import CpuGate, off_cpu
from langchain_perceived_error.retries import is_transient_error
from tests.fakes import ScriptedChatModel, ScriptedError

FALSE = '{"perceived_error": false, "reason": "No correction."}'


def conversation(topic: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": f"Tell me about {topic}."},
        {"role": "assistant", "content": f"Here is something about {topic}."},
        {"role": "user", "content": "Thanks."},
    ]


# -- the gate on its own ----------------------------------------------------------------------


async def test_turns_are_taken_one_at_a_time_in_arrival_order():
    gate, log = CpuGate(), []

    async def worker(name: str) -> None:
        async with gate.turn():
            log.append(f"{name} in")
            await asyncio.sleep(0)  # a holder's own awaits do not let others in
            await asyncio.sleep(0)
            log.append(f"{name} out")

    await asyncio.gather(*(worker(name) for name in "abc"))
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out"]


async def test_off_cpu_lets_the_next_one_in_and_takes_the_turn_back_after_it():
    gate, log = CpuGate(), []
    waiting = asyncio.Event()

    async def first() -> None:
        async with gate.turn():
            log.append("first: cpu")
            async with off_cpu():
                await waiting.wait()  # "the model call": second runs meanwhile
            log.append("first: cpu again")

    async def second() -> None:
        async with gate.turn():
            log.append("second: cpu")
            waiting.set()
            await asyncio.sleep(0.01)  # first cannot come back while second holds the turn
            log.append("second: done")

    await asyncio.wait_for(asyncio.gather(first(), second()), timeout=5)  # no deadlock
    assert log == ["first: cpu", "second: cpu", "second: done", "first: cpu again"]


async def test_an_error_inside_off_cpu_leaves_the_turn_given_up():
    gate = CpuGate()

    async def failing() -> None:
        async with gate.turn(), off_cpu():
            raise ScriptedError(503)

    with pytest.raises(ScriptedError):
        await failing()
    lock = gate._locks[asyncio.get_running_loop()]
    assert not lock.locked()  # released once, not twice (a double release would raise)
    async with gate.turn():  # and the gate still works
        assert lock.locked()


async def test_a_cancelled_holder_frees_the_turn():
    gate = CpuGate()
    entered = asyncio.Event()

    async def holder() -> None:
        async with gate.turn():
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.ensure_future(holder())
    await entered.wait()
    task.cancel()
    await asyncio.wait_for(_take_turn(gate), timeout=1)


async def _take_turn(gate: CpuGate) -> None:
    async with gate.turn():
        pass


async def test_off_cpu_outside_a_turn_and_a_disabled_gate_do_nothing():
    async with off_cpu():
        pass
    gate = CpuGate(enabled=False)
    async with gate.turn(), gate.turn():  # not a lock at all: nesting cannot deadlock
        assert gate._locks == {}


def test_one_gate_serves_several_event_loops():
    gate = CpuGate()
    asyncio.run(_take_turn(gate))
    asyncio.run(_take_turn(gate))  # an asyncio.Lock bound to the first loop would fail here


# -- the gate inside the judge ----------------------------------------------------------------


class RendezvousModel(ScriptedChatModel):
    """Answers once ``expected`` calls are in flight together; fails (not transient) after 5 s."""

    expected: int = 3

    async def _agenerate(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> ChatResult:
        self._enter()
        try:
            deadline = asyncio.get_running_loop().time() + 5
            while self.max_in_flight < self.expected:
                if asyncio.get_running_loop().time() > deadline:
                    msg = f"only {self.max_in_flight} model calls were ever in flight together"
                    raise ValueError(msg)
                await asyncio.sleep(0.001)
            return self._next(messages)
        finally:
            self._exit()


async def test_model_calls_of_concurrent_traces_overlap():
    model = RendezvousModel(script=[FALSE], expected=3)
    judge = PerceivedErrorJudge(model)
    records = [conversation(topic) for topic in ("tea", "rain", "maps")]
    results = await asyncio.wait_for(judge.abatch(records, concurrency=3), timeout=10)
    assert [r.status for r in results] == [JudgeStatus.JUDGED] * 3
    assert model.max_in_flight == 3


async def test_a_transport_backoff_does_not_hold_the_turn():
    """Trace A fails at once and backs off 0.3 s; trace B arrives 0.1 s later and is judged then."""
    model = ScriptedChatModel(script=[ScriptedError(500), FALSE])
    backoff = RetryPolicy(
        initial_interval=0.3,
        backoff_factor=1.0,
        max_attempts=2,
        jitter=False,
        retry_on=is_transient_error,
    )
    judge = PerceivedErrorJudge(model, transport_retry=backoff, rate_limiter=None)

    async def records() -> AsyncIterator[list[dict[str, str]]]:
        yield conversation("tea")
        await asyncio.sleep(0.1)  # A has failed and is backing off by now
        yield conversation("rain")

    results = [r async for r in judge.ajudge_many(records(), concurrency=2)]
    assert [r.status for r in results] == [JudgeStatus.JUDGED] * 2
    asked_about = ["tea" if "tea" in str(call[-1].content) else "rain" for call in model.calls]
    assert asked_about == ["tea", "rain", "tea"]  # B did not wait for A's retry


def test_the_offline_rules_judge_takes_no_turns():
    """Rules never wait on I/O: giving up and retaking the CPU around them would only cost."""
    assert not PerceivedErrorJudge("rules")._cpu_gate.enabled
    assert PerceivedErrorJudge(ScriptedChatModel(script=[FALSE]))._cpu_gate.enabled
