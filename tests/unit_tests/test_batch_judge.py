"""The batched judge core: one graph run judges many traces, each on its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.types import RetryPolicy
from pydantic import PrivateAttr

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.judge.batching import batch_plan
from langchain_perceived_error.judge.graph import (
    REQUEST_SLOTS,
    RequestSlots,
    build_judge_graph,
)
from langchain_perceived_error.transport.ratelimit import AdaptiveRateLimiter
from langchain_perceived_error.transport.retries import is_transient_error
from tests.fakes import RunTree, ScriptedError

FAST_RETRY = RetryPolicy(
    initial_interval=0.001, backoff_factor=1.0, max_attempts=3, jitter=False,
    retry_on=is_transient_error,
)  # fmt: skip
TRUE = '{"perceived_error": true, "reason": "The user corrects the day."}'
FALSE = '{"perceived_error": false, "reason": "No correction."}'


def trace(key: str) -> dict[str, Any]:
    return {
        "id": key,
        "messages": [
            {"role": "user", "content": "Move my meeting to Tuesday."},
            {"role": "assistant", "content": "Moved it to Wednesday."},
            {"role": "user", "content": f"No, I said Tuesday. [{key}]"},
        ],
    }


class PerTraceModel(BaseChatModel):
    """Answers each trace from its own script, found by the ``[key]`` in its transcript.

    An Exception in a script is raised; the last entry repeats. Counts requests per key and the
    most requests in flight at once.
    """

    scripts: dict[str, list[Any]]
    delay_s: float = 0.0
    _calls: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _in_flight: int = PrivateAttr(default=0)
    _max_in_flight: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "per-trace"

    def calls(self, key: str) -> int:
        return self._calls.get(key, 0)

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    def _answer(self, messages: Sequence[BaseMessage]) -> ChatResult:
        key = next(k for k in self.scripts if f"[{k}]" in messages[1].text)
        with self._lock:
            index = self._calls.get(key, 0)
            self._calls[key] = index + 1
        script = self.scripts[key]
        entry = script[min(index, len(script) - 1)]
        if isinstance(entry, Exception):
            raise entry
        usage = {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(content=entry, usage_metadata=usage))]
        )

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:  # fmt: skip
        self._enter()
        try:
            time.sleep(self.delay_s)
            return self._answer(messages)
        finally:
            self._leave()

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:  # fmt: skip
        self._enter()
        try:
            await asyncio.sleep(self.delay_s)
            return self._answer(messages)
        finally:
            self._leave()


def batch_sizes(monkeypatch: pytest.MonkeyPatch, judge: PerceivedErrorJudge) -> list[int]:
    """The size of every batch ``judge`` runs from now on (sync and async batch methods)."""
    sizes: list[int] = []
    sync, asynchronous = judge.judge_batch, judge.ajudge_batch

    def counting(records: Any, **kwargs: Any) -> Any:
        sizes.append(len(records))
        return sync(records, **kwargs)

    async def acounting(records: Any, **kwargs: Any) -> Any:
        sizes.append(len(records))
        return await asynchronous(records, **kwargs)

    monkeypatch.setattr(judge, "judge_batch", counting)
    monkeypatch.setattr(judge, "ajudge_batch", acounting)
    return sizes


SCRIPTS = {
    "ok": [TRUE],
    "format": ["not json", FALSE],
    "flaky": [ScriptedError(503), ScriptedError(500), TRUE],
    "down": [ScriptedError(502, "bad gateway")],
    "badkey": [ScriptedError(401, "invalid api key")],
}
SINGLE = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_one_run_judges_a_batch_each_trace_on_its_own(mode):
    model = PerTraceModel(scripts=SCRIPTS)
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY, rate_limiter=None)
    records = [trace(k) for k in SCRIPTS] + [{"id": "single", "messages": SINGLE}]
    if mode == "async":
        results = asyncio.run(judge.ajudge_batch(records))
    else:  # the sync graph: the same run over the batch, its requests one after another
        results = judge.judge_batch(records)
    by_id = {r.id: r for r in results}
    assert [r.id for r in results] == [*SCRIPTS, "single"]
    assert (by_id["ok"].status, by_id["ok"].perceived_error, by_id["ok"].attempts) == (
        JudgeStatus.JUDGED, True, 1,
    )  # fmt: skip
    # a format retry for one trace only
    assert (by_id["format"].perceived_error, by_id["format"].attempts) == (False, 2)
    assert by_id["format"].input_tokens == 20
    # transport retries per request: two 5xx, then an answer; no format attempt used
    assert (by_id["flaky"].status, by_id["flaky"].attempts) == (JudgeStatus.JUDGED, 1)
    # a request whose retries run out fails its trace, not the batch
    assert by_id["down"].status is JudgeStatus.FAILED
    assert "bad gateway" in (by_id["down"].error or "")
    assert by_id["down"].turns  # the trace was read; only its request failed
    assert "invalid api key" in (by_id["badkey"].error or "")
    assert by_id["single"].status is JudgeStatus.SKIPPED
    expected_calls = {
        "ok": 1,
        "format": 2,
        "flaky": 3,
        "down": FAST_RETRY.max_attempts,
        "badkey": 1,
    }
    assert {k: model.calls(k) for k in SCRIPTS} == expected_calls


def test_a_batch_is_one_trace_with_every_request_under_its_judge_node():
    model = PerTraceModel(scripts={"a": [TRUE], "b": ["not json", TRUE], "c": [FALSE]})
    graph = build_judge_graph(model, transport_retry=FAST_RETRY)
    runs = RunTree()
    state = asyncio.run(
        graph.ainvoke({"records": [trace("a"), trace("b"), trace("c")]}, {"callbacks": [runs]})
    )
    assert [item["attempts"] for item in state["items"]] == [1, 2, 1]
    assert runs.children("perceived_error_judge") == [
        ["extract", "judge", "validate", "judge", "validate"]
    ]
    assert runs.children("judge") == [["<model call>"] * 3, ["<model call>"]]


def test_a_shared_semaphore_bounds_requests_across_runs_and_the_limiter_counts_each():
    keys = [f"k{i}" for i in range(12)]
    model = PerTraceModel(scripts={k: [TRUE] for k in keys}, delay_s=0.01)
    limiter = AdaptiveRateLimiter()
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY, rate_limiter=limiter)
    config: RunnableConfig = {"configurable": {REQUEST_SLOTS: None}}

    batches = [keys[:6], keys[6:]]

    async def main() -> list[Any]:
        slots = RequestSlots(3)
        config["configurable"][REQUEST_SLOTS] = slots
        for _ in batches:
            slots.admit()
        results = await asyncio.gather(
            *(judge.ajudge_batch([trace(k) for k in b], config=config) for b in batches)
        )
        assert (slots.starting, slots.demand) == (0, 0)  # every count came back down
        return results

    results = [r for batch in asyncio.run(main()) for r in batch]
    assert all(r.status is JudgeStatus.JUDGED for r in results)
    assert 1 < model.max_in_flight <= 3
    stats = limiter.stats()
    assert (stats.slots, stats.successes) == (12, 12)  # a limiter slot per model request


def test_batch_plan():
    # (first batch, largest batch, traces in flight when a slot idles, behind a slow request)
    assert batch_plan(1) == (1, 8, 16, 32)
    assert batch_plan(8) == (8, 64, 128, 256)
    assert batch_plan(64) == (64, 64, 128, 512)
    assert batch_plan(256) == (64, 64, 512, 2048)
    with pytest.raises(ValueError, match="concurrency"):
        batch_plan(0)


async def test_ajudge_many_runs_batches_and_keeps_input_order(monkeypatch):
    keys = [f"k{i}" for i in range(23)]
    model = PerTraceModel(scripts={k: [TRUE] for k in keys}, delay_s=0.005)
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY)
    sizes = batch_sizes(monkeypatch, judge)
    results = [r async for r in judge.ajudge_many([trace(k) for k in keys], concurrency=5)]
    assert [r.id for r in results] == keys
    assert sizes == [5, 10, 8]  # one round of requests first, then doubling (at most 8 x 5)
    assert 1 < model.max_in_flight <= 5
    pairs = [p async for p in judge.ajudge_as_completed([trace(k) for k in keys], concurrency=5)]
    assert sorted(index for index, _ in pairs) == list(range(23))
    assert all(keys[index] == result.id for index, result in pairs)


async def test_a_subclass_that_overrides_ajudge_is_still_run_through_it():
    class Tagged(PerceivedErrorJudge):
        async def ajudge(self, record: Any, *, context: Any = None) -> Any:
            result = await super().ajudge(record, context=context)
            return result.model_copy(update={"model": "tagged"})

    judge = Tagged(PerTraceModel(scripts={"a": [TRUE], "b": [FALSE]}), transport_retry=FAST_RETRY)
    results = [r async for r in judge.ajudge_many([trace("a"), trace("b")], concurrency=2)]
    assert [(r.id, r.model) for r in results] == [("a", "tagged"), ("b", "tagged")]


async def test_batches_double_up_to_eight_per_slot(monkeypatch):
    keys = [f"k{i}" for i in range(60)]
    model = PerTraceModel(scripts={k: [TRUE] for k in keys})
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY)
    sizes = batch_sizes(monkeypatch, judge)
    results = [r async for r in judge.ajudge_many([trace(k) for k in keys], concurrency=3)]
    assert [r.id for r in results] == keys
    assert sizes == [3, 6, 12, 24, 15]
    assert model.max_in_flight <= 3  # a batch larger than the concurrency waits for slots


async def test_records_of_a_slow_stream_are_judged_without_waiting_for_the_next_ones():
    keys = [f"k{i}" for i in range(5)]
    judge = PerceivedErrorJudge(
        PerTraceModel(scripts={k: [TRUE] for k in keys}), transport_retry=FAST_RETRY
    )
    more = asyncio.Event()

    async def stream() -> Any:
        for key in keys[:3]:
            yield trace(key)
        await more.wait()  # a writer that has not written yet
        for key in keys[3:]:
            yield trace(key)

    seen: list[str | None] = []

    async def consume() -> None:
        async for result in judge.ajudge_many(stream(), concurrency=8):
            seen.append(result.id)
            if len(seen) == 3:
                more.set()  # the first three came out before the stream went on

    await asyncio.wait_for(consume(), timeout=10)  # waiting to fill a batch of 8 would hang
    assert seen == keys


@pytest.mark.parametrize("before", [1, 3, 20])
async def test_an_error_of_an_async_source_is_raised_after_the_records_before_it(before):
    keys = [f"k{i}" for i in range(before)]
    model = PerTraceModel(scripts={k: [TRUE] for k in keys}, delay_s=0.002)
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY)

    async def broken() -> Any:
        for key in keys:
            yield trace(key)
        raise OSError("the pipe broke")

    seen: list[str | None] = []

    async def consume() -> None:
        async for result in judge.ajudge_many(broken(), concurrency=4):
            seen.append(result.id)

    with pytest.raises(OSError, match="the pipe broke"):
        await consume()
    assert seen == keys  # every record read before the error is judged and comes out


def test_judge_many_runs_a_batch_per_thread_and_keeps_input_order(monkeypatch):
    keys = [f"k{i}" for i in range(40)]
    model = PerTraceModel(scripts={k: [TRUE] for k in keys}, delay_s=0.002)
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY)
    sizes = batch_sizes(monkeypatch, judge)
    results = list(judge.judge_many([trace(k) for k in keys], concurrency=3))
    assert [r.id for r in results] == keys
    assert all(r.status is JudgeStatus.JUDGED for r in results)
    # a round of single traces (first results after one request), then doubling up to 8
    assert sorted(sizes) == sorted([1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 3])
    assert 1 < model.max_in_flight <= 3
    pairs = list(judge.judge_as_completed([trace(k) for k in keys], concurrency=3))
    assert sorted(index for index, _ in pairs) == list(range(40))
    assert all(keys[index] == result.id for index, result in pairs)


def test_a_subclass_that_overrides_judge_is_still_run_through_it():
    class Tagged(PerceivedErrorJudge):
        def judge(self, record: Any, *, context: Any = None) -> Any:
            return super().judge(record, context=context).model_copy(update={"model": "tagged"})

    judge = Tagged(PerTraceModel(scripts={"a": [TRUE], "b": [FALSE]}), transport_retry=FAST_RETRY)
    results = list(judge.judge_many([trace("a"), trace("b")], concurrency=2))
    assert [(r.id, r.model) for r in results] == [("a", "tagged"), ("b", "tagged")]
