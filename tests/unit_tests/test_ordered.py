"""Bounded-concurrency runs: completion order, input order without head-of-line blocking, spill."""

import asyncio
import tempfile
import threading

import pytest
from langgraph.types import RetryPolicy

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.transport import ordered
from langchain_perceived_error.transport.ordered import (
    as_completed,
    as_completed_async,
    in_index_order,
    in_index_order_async,
    in_order,
    in_order_async,
)
from langchain_perceived_error.transport.retries import is_transient_error
from tests.fakes import ScriptedChatModel, ScriptedError
from tests.unit_tests.test_cli import SAMPLE, read_lines, run_cli, sample_records


async def test_a_slow_head_does_not_stall_the_calls_behind_it():
    # the first call finishes only once the 40th has started: with a window of a few times the
    # concurrency (the old design) this never happens and the wait below times out
    started, late = set(), asyncio.Event()

    async def call(i):
        started.add(i)
        if i == 40:
            late.set()
        if i == 0:
            await asyncio.wait_for(late.wait(), timeout=5)
        await asyncio.sleep(0)
        return i

    results = [r async for r in in_order_async(call, range(60), concurrency=2)]
    assert results == list(range(60))
    assert started == set(range(60))


def test_the_sync_shell_does_not_stall_either():
    late = threading.Event()

    def call(i):
        if i == 40:
            late.set()
        if i == 0:
            assert late.wait(timeout=5), "the head stalled the calls behind it"
        return i * 10

    assert list(in_order(call, range(60), concurrency=2, thread_name_prefix="t")) == [
        i * 10 for i in range(60)
    ]


async def test_as_completed_yields_indexes_in_completion_order_with_bounded_concurrency():
    running, peak = 0, 0

    async def call(i):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01 * (3 - i))  # the last started finishes first
        running -= 1
        return f"r{i}"

    pairs = [p async for p in as_completed_async(call, range(3), concurrency=3)]
    assert pairs == [(2, "r2"), (1, "r1"), (0, "r0")]
    pairs = [p async for p in as_completed_async(call, range(3), concurrency=1)]
    assert pairs == [(0, "r0"), (1, "r1"), (2, "r2")]
    assert peak == 3


def test_sync_as_completed_pairs_each_result_with_its_index():
    pairs = list(as_completed(lambda i: i * i, range(20), concurrency=4, thread_name_prefix="t"))
    assert sorted(pairs) == [(i, i * i) for i in range(20)]


@pytest.mark.parametrize(("window", "window_bytes"), [(3, 10**6), (1000, 0), (1000, 10**6)])
def test_reorder_is_exact_with_or_without_spilling(monkeypatch, window, window_bytes):
    files = []
    real = tempfile.TemporaryFile

    def recorded(*args, **kwargs):
        files.append(real(*args, **kwargs))
        return files[-1]

    monkeypatch.setattr(ordered.tempfile, "TemporaryFile", recorded)
    values = [{"i": i, "text": "x" * i} for i in range(200)]
    pairs = [(i, values[i]) for i in reversed(range(200))]  # the worst case: all ahead of turn
    assert list(in_index_order(pairs, window=window, window_bytes=window_bytes)) == values
    spilled = window < 199 or window_bytes == 0
    assert len(files) == int(spilled)
    assert all(f.closed for f in files)


def test_spilled_results_are_read_back_after_interleaving():
    # results keep arriving ahead of their turn while earlier ones are read back from disk
    order = [1, 0, 3, 5, 2, 4, 9, 7, 8, 6, 10, 12, 11]
    got = list(in_index_order(((i, str(i)) for i in order), window=1, window_bytes=10**6))
    assert got == [str(i) for i in range(13)]


async def test_async_reorder_and_a_missing_index_is_an_error():
    async def pairs():
        for i in (2, 0, 1):
            yield i, i

    assert [v async for v in in_index_order_async(pairs(), window=1)] == [0, 1, 2]
    with pytest.raises(ValueError, match="no result with index 1"):
        list(in_index_order([(0, "a"), (2, "c")], window=4))


async def test_stopping_early_cancels_the_calls_in_flight():
    cancelled = []

    async def call(i):
        try:
            await asyncio.sleep(0 if i == 0 else 10)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    results = in_order_async(call, range(100), concurrency=4)
    assert await anext(results) == 0
    await results.aclose()
    await asyncio.sleep(0)  # the cancelled tasks run once more, to raise CancelledError
    assert sorted(cancelled) == [1, 2, 3]  # the next call starts only when asked for


async def test_an_error_in_a_call_is_raised():
    async def call(i):
        if i == 3:
            msg = "boom"
            raise RuntimeError(msg)
        return i

    with pytest.raises(RuntimeError, match="boom"):
        [r async for r in in_order_async(call, range(10), concurrency=2)]


def test_cli_completion_order_lines_carry_their_input_index(tmp_path):
    out = tmp_path / "results.jsonl"
    proc = run_cli(
        "judge", SAMPLE, "--model", "rules", "-c", "8", "--order", "completion", "-o", out
    )
    assert proc.returncode == 0, proc.stderr
    lines = read_lines(out.read_text())
    records = sample_records()
    assert sorted(line["index"] for line in lines) == list(range(len(records)))
    assert all(line["id"] == records[line["index"]]["id"] for line in lines)
    ordered_again = [line["id"] for line in sorted(lines, key=lambda line: line["index"])]
    in_input_order = read_lines(run_cli("judge", SAMPLE, "--model", "rules").stdout)
    assert ordered_again == [line["id"] for line in in_input_order]
    assert all("index" not in line for line in in_input_order)


def test_cli_resume_needs_input_order(tmp_path):
    out = tmp_path / "results.jsonl"
    proc = run_cli("judge", SAMPLE, "-m", "rules", "--order", "completion", "--resume", "-o", out)
    assert proc.returncode == 2
    assert "--resume needs --order input" in proc.stderr
    assert not out.exists()


async def test_a_transport_backoff_does_not_hold_up_the_next_record():
    """Record A fails at once and backs off 0.3 s; B arrives 0.1 s later and is judged then."""
    model = ScriptedChatModel(
        script=[ScriptedError(500), '{"perceived_error": false, "reason": "No correction."}']
    )
    backoff = RetryPolicy(
        initial_interval=0.3,
        backoff_factor=1.0,
        max_attempts=2,
        jitter=False,
        retry_on=is_transient_error,
    )
    judge = PerceivedErrorJudge(model, transport_retry=backoff, rate_limiter=None)

    def conversation(topic):
        return [("user", f"Tell me about {topic}."), ("ai", f"About {topic}."), ("user", "Thanks.")]

    async def records():
        yield conversation("tea")
        await asyncio.sleep(0.1)  # A has failed and is backing off by now
        yield conversation("rain")

    results = [r async for r in judge.ajudge_many(records(), concurrency=2)]
    assert [r.status for r in results] == [JudgeStatus.JUDGED] * 2
    asked_about = ["tea" if "tea" in str(call[-1].content) else "rain" for call in model.calls]
    assert asked_about == ["tea", "rain", "tea"]  # B did not wait for A's retry


def test_judge_as_completed_pairs_each_result_with_its_record():
    records = [
        {"id": f"r{i}", "messages": [("user", "hi"), ("ai", "hello"), ("user", f"no, wrong {i}")]}
        for i in range(12)
    ]
    pairs = list(PerceivedErrorJudge("rules").judge_as_completed(records, concurrency=4))
    assert sorted(index for index, _ in pairs) == list(range(12))
    assert all(result.id == f"r{index}" for index, result in pairs)
