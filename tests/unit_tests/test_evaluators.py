"""PerceivedErrorEvaluator and the function evaluators, called the way langsmith calls them."""

from __future__ import annotations

import asyncio
import functools
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from langsmith import aevaluate, evaluate
from langsmith.evaluation.evaluator import EvaluationResult, RunEvaluator
from langsmith.schemas import Example, Run

from langchain_perceived_error.core.prompts import PROMPT_VERSION
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Verdict
from langchain_perceived_error.evaluation.evaluators import (
    DEFAULT_KEY,
    PerceivedErrorEvaluator,
    create_async_perceived_error_evaluator,
    create_perceived_error_evaluator,
    evaluation_result,
    thread_id_of,
)
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from tests.fakes import ScriptedChatModel, ScriptedError

CORRECTED = [
    {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
    {"role": "assistant", "content": "Done, it's now on Wednesday at 10:00."},
    {"role": "user", "content": "No, I said Tuesday."},
]
THANKED = [
    {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
    {"role": "assistant", "content": "Done, it's now on Tuesday at 10:00."},
    {"role": "user", "content": "Great, thanks!"},
]
SINGLE_TURN = [
    {"role": "user", "content": "Hi!"},
    {"role": "assistant", "content": "Hello, how can I help?"},
]
FLAGGED_JSON = '{"perceived_error": true, "reason": "The user corrects the day."}'
CLEAN_JSON = '{"perceived_error": false, "reason": "The user thanks the assistant."}'


def make_run(messages: list[dict[str, str]], **fields: Any) -> Run:
    """A root run as evaluate() hands it over: history in inputs, the reply in outputs."""
    run_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": run_id,
        "trace_id": run_id,
        "name": "chat",
        "run_type": "chain",
        "start_time": datetime.now(timezone.utc),
        "inputs": {"messages": messages[:-1]},
        "outputs": {"messages": messages[-1:]},
        "session_id": uuid.uuid4(),
    }
    values.update(fields)
    return Run(**values)


def evaluate_like_langsmith(evaluator: RunEvaluator, run: Run) -> EvaluationResult:
    """Exactly the call langsmith's experiment runner makes (keywords, evaluator_run_id)."""
    result = evaluator.evaluate_run(run=run, example=None, evaluator_run_id=uuid.uuid4())
    assert isinstance(result, EvaluationResult)
    return result


# -- construction ----------------------------------------------------------------------------------


def test_is_a_run_evaluator_with_its_feedback_key():
    evaluator = PerceivedErrorEvaluator("rules")
    assert isinstance(evaluator, RunEvaluator)
    assert evaluator.feedback_keys == [DEFAULT_KEY] == ["perceived_error"]
    assert PerceivedErrorEvaluator("rules", key="pe").feedback_keys == ["pe"]
    assert "rules" in repr(evaluator)


def test_thread_source_without_a_reader_is_refused_at_construction():
    with pytest.raises(ValueError, match="thread_reader"):
        PerceivedErrorEvaluator("rules", source="thread")


def test_unknown_source_and_model_plus_judge_are_refused():
    with pytest.raises(ValueError, match="source must be one of"):
        PerceivedErrorEvaluator("rules", source="trace")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        PerceivedErrorEvaluator("rules", judge=PerceivedErrorJudge("rules"))


# -- mapping ---------------------------------------------------------------------------------------


def test_judged_flagged_maps_to_score_1_with_reason_tokens_and_model():
    model = ScriptedChatModel(script=[FLAGGED_JSON])
    result = evaluate_like_langsmith(PerceivedErrorEvaluator(model), make_run(CORRECTED))
    assert result.key == "perceived_error"
    assert result.score == 1
    assert result.comment == "The user corrects the day."
    assert result.evaluator_info == {"model": "scripted", "prompt_version": PROMPT_VERSION}
    assert result.extra is not None
    assert result.extra["status"] == "judged"
    assert (result.extra["attempts"], result.extra["input_tokens"]) == (1, 100)
    assert result.extra["output_tokens"] == 20
    assert result.extra["latency_s"] >= 0
    assert "error" not in result.extra


def test_judged_clean_maps_to_score_0():
    model = ScriptedChatModel(script=[CLEAN_JSON])
    result = evaluate_like_langsmith(PerceivedErrorEvaluator(model), make_run(THANKED))
    assert result.score == 0
    assert result.comment == "The user thanks the assistant."


def test_skipped_has_no_score_and_says_why_without_calling_the_model():
    model = ScriptedChatModel(script=[FLAGGED_JSON])
    result = evaluate_like_langsmith(PerceivedErrorEvaluator(model), make_run(SINGLE_TURN))
    assert result.score is None
    assert result.value is None
    assert result.comment is not None
    assert result.comment.startswith("skipped: no user turn follows an assistant turn")
    assert result.extra is not None
    assert result.extra["status"] == "skipped"
    assert "error" not in result.extra
    assert model.calls == []


def test_bad_json_on_every_attempt_is_an_error_result_never_a_0():
    model = ScriptedChatModel(script=["I think the user is happy."])
    evaluator = PerceivedErrorEvaluator(model, max_attempts=2)
    result = evaluate_like_langsmith(evaluator, make_run(CORRECTED))
    assert result.score is None
    assert result.extra is not None
    assert result.extra["error"] is True
    assert result.extra["status"] == "failed"
    assert result.extra["attempts"] == 2
    assert result.extra["raw_output"] == "I think the user is happy."
    assert result.comment
    assert len(model.calls) == 2


def test_a_model_error_is_an_error_result_never_a_0():
    model = ScriptedChatModel(script=[ScriptedError(401, "bad key")])
    result = evaluate_like_langsmith(PerceivedErrorEvaluator(model), make_run(CORRECTED))
    assert result.score is None
    assert result.extra is not None
    assert result.extra["error"] is True
    assert "bad key" in (result.comment or "")


def test_a_run_that_errored_without_outputs_is_an_error_result_not_a_skip():
    run = make_run(CORRECTED, outputs=None, error="KeyError: 'messages'")
    for source in ("run", "outputs"):
        result = evaluate_like_langsmith(PerceivedErrorEvaluator("rules", source=source), run)
        assert result.score is None
        assert result.extra is not None
        assert result.extra["error"] is True
        assert "failed without outputs: KeyError" in (result.comment or "")


def test_evaluation_result_never_scores_a_failure_even_with_a_stray_verdict():
    failed = JudgeResult(status=JudgeStatus.FAILED, error="boom", model="m")
    assert evaluation_result(failed).score is None
    assert evaluation_result(failed).comment == "boom"
    judged = JudgeResult(
        status=JudgeStatus.JUDGED,
        verdict=Verdict(perceived_error=False, reason="Fine."),
        model="m",
    )
    assert evaluation_result(judged, key="k").model_dump(include={"key", "score"}) == {
        "key": "k",
        "score": 0,
    }


# -- sources ---------------------------------------------------------------------------------------


def test_outputs_source_reads_only_the_outputs():
    run = make_run(
        CORRECTED,
        inputs={"user_responses": ["not", "a", "conversation"]},
        outputs={"messages": CORRECTED},
    )
    result = evaluate_like_langsmith(PerceivedErrorEvaluator("rules", source="outputs"), run)
    assert result.score == 1


def test_thread_source_reads_the_whole_thread_of_a_traced_agent(captured_thread):
    roots = captured_thread.root_runs
    project_id = str(uuid.uuid4())
    calls: list[dict[str, str]] = []

    def read_thread(clients: object, *, project_id: str, thread_id: str) -> list[dict[str, Any]]:
        calls.append({"project_id": project_id, "thread_id": thread_id})
        return roots

    last = Run(**{**roots[-1], "session_id": project_id})
    evaluator = PerceivedErrorEvaluator(
        "rules", source="thread", thread_reader=functools.partial(read_thread, object())
    )
    result = evaluate_like_langsmith(evaluator, last)
    assert calls == [{"project_id": project_id, "thread_id": captured_thread.thread_id}]
    # the correction is in the second trace; the last trace alone holds no complaint
    assert result.score == 1
    assert "Paris" in (result.comment or "")


def test_thread_id_is_read_from_any_metadata_key():
    for key in ("thread_id", "session_id", "conversation_id"):
        run = make_run(CORRECTED, extra={"metadata": {key: "t-1"}})
        assert thread_id_of(run) == "t-1"
        assert thread_id_of({"extra": {"metadata": {key: "t-1"}}}) == "t-1"
    assert thread_id_of(make_run(CORRECTED)) is None


def test_thread_source_without_a_thread_id_or_with_a_failing_reader_is_an_error_result():
    def broken(*, project_id: str, thread_id: str) -> list[Any]:
        raise ConnectionError("langsmith is down")

    evaluator = PerceivedErrorEvaluator("rules", source="thread", thread_reader=broken)
    no_thread = evaluate_like_langsmith(evaluator, make_run(CORRECTED))
    assert no_thread.score is None
    assert no_thread.extra is not None
    assert no_thread.extra["error"] is True
    assert "no thread id" in (no_thread.comment or "")
    down = evaluate_like_langsmith(
        evaluator, make_run(CORRECTED, extra={"metadata": {"thread_id": "t"}})
    )
    assert down.score is None
    assert "langsmith is down" in (down.comment or "")


def test_an_async_thread_reader_needs_aevaluate_run():
    async def read(*, project_id: str, thread_id: str) -> list[dict[str, Any]]:
        return [{"inputs": {"messages": CORRECTED[:-1]}, "outputs": {"messages": CORRECTED[-1:]}}]

    evaluator = PerceivedErrorEvaluator("rules", source="thread", thread_reader=read)
    run = make_run(CORRECTED, extra={"metadata": {"thread_id": "t"}})
    sync = evaluate_like_langsmith(evaluator, run)
    assert sync.score is None
    assert "aevaluate_run" in (sync.comment or "")

    result = asyncio.run(
        evaluator.aevaluate_run(run=run, example=None, evaluator_run_id=uuid.uuid4())
    )
    assert isinstance(result, EvaluationResult)
    assert result.score == 1


# -- async -----------------------------------------------------------------------------------------


async def test_aevaluate_run_awaits_ajudge_on_the_event_loop(monkeypatch):
    evaluator = PerceivedErrorEvaluator("rules")
    seen: list[threading.Thread] = []
    verdict = Verdict(perceived_error=True, reason="Async.")

    async def ajudge(record: Any) -> JudgeResult:
        seen.append(threading.current_thread())
        await asyncio.sleep(0)
        return JudgeResult(status=JudgeStatus.JUDGED, verdict=verdict, model="rules")

    def no_sync(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("aevaluate_run must not fall back to the sync path")

    monkeypatch.setattr(evaluator.judge, "ajudge", ajudge)
    monkeypatch.setattr(evaluator.judge, "judge", no_sync)
    monkeypatch.setattr(evaluator, "evaluate_run", no_sync)
    monkeypatch.setattr(asyncio.get_running_loop(), "run_in_executor", no_sync)

    result = await evaluator.aevaluate_run(
        run=make_run(CORRECTED), example=None, evaluator_run_id=uuid.uuid4()
    )
    assert isinstance(result, EvaluationResult)
    assert (result.score, result.comment) == (1, "Async.")
    assert seen == [threading.main_thread()]


async def test_aevaluate_run_with_a_real_model_uses_its_async_path():
    model = ScriptedChatModel(script=[FLAGGED_JSON])
    evaluator = PerceivedErrorEvaluator(model)
    result = await evaluator.aevaluate_run(
        run=make_run(CORRECTED), example=None, evaluator_run_id=uuid.uuid4()
    )
    assert isinstance(result, EvaluationResult)
    assert result.score == 1
    assert len(model.calls) == 1


# -- function evaluators ---------------------------------------------------------------------------


def test_function_evaluator_judges_outputs_and_returns_a_plain_dict():
    evaluator = create_perceived_error_evaluator("rules")
    flagged = evaluator(outputs={"messages": CORRECTED}, reference_outputs=None)
    assert flagged["key"] == "perceived_error"
    assert flagged["score"] == 1
    assert flagged["extra"]["status"] == "judged"
    skipped = evaluator(outputs=SINGLE_TURN)
    assert skipped.get("score") is None
    assert skipped["comment"].startswith("skipped: ")
    assert evaluator.__name__ == "perceived_error"
    with pytest.raises(ValueError, match="not both"):
        create_perceived_error_evaluator("rules", judge=PerceivedErrorJudge("rules"))


async def test_async_function_evaluator():
    evaluator = create_async_perceived_error_evaluator(judge=PerceivedErrorJudge("rules"), key="pe")
    result = await evaluator(outputs={"messages": CORRECTED})
    assert (result["key"], result["score"]) == ("pe", 1)


# -- inside langsmith.evaluate / aevaluate -------------------------------------------------------


def examples() -> list[Example]:
    return [
        Example(id=uuid.uuid4(), inputs={"messages": messages})
        for messages in (CORRECTED, THANKED, SINGLE_TURN)
    ]


def echo(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"messages": inputs["messages"]}


async def aecho(inputs: dict[str, Any]) -> dict[str, Any]:
    return echo(inputs)


def scores(rows: list[Any], key: str = "perceived_error") -> list[Any]:
    return [
        next(r.score for r in row["evaluation_results"]["results"] if r.key == key) for row in rows
    ]


def test_evaluate_offline_makes_zero_requests(langsmith_server):
    client = langsmith_server.client()
    results = evaluate(
        echo,
        data=examples(),
        evaluators=[PerceivedErrorEvaluator("rules"), create_perceived_error_evaluator(key="fn")],
        client=client,
        upload_results=False,
    )
    rows = list(results)
    assert scores(rows) == [1, 0, None]
    assert scores(rows, "fn") == [1, 0, None]
    assert langsmith_server.requests == []


async def test_aevaluate_offline_makes_zero_requests(langsmith_server):
    client = langsmith_server.client(tracing_sampling_rate=0.0)
    results = await aevaluate(
        aecho,
        data=examples(),
        evaluators=[
            PerceivedErrorEvaluator("rules"),
            create_async_perceived_error_evaluator("rules", key="fn"),
        ],
        client=client,
        upload_results=False,
    )
    rows = [row async for row in results]
    by_example = {row["example"].inputs["messages"][-1]["content"]: row for row in rows}
    ordered = [by_example[m[-1]["content"]] for m in (CORRECTED, THANKED, SINGLE_TURN)]
    assert scores(ordered) == [1, 0, None]
    assert scores(ordered, "fn") == [1, 0, None]
    assert langsmith_server.requests == []


def test_evaluate_with_uploads_writes_feedback_to_the_server(langsmith_server):
    client = langsmith_server.client()
    dataset = client.create_dataset("conversations")
    client.create_examples(
        dataset_id=dataset.id, examples=[{"inputs": e.inputs} for e in examples()]
    )
    results = evaluate(
        echo,
        data="conversations",
        evaluators=[PerceivedErrorEvaluator("rules")],
        client=client,
        experiment_prefix="replay",
    )
    rows = list(results)
    feedback = {f["run_id"]: f for f in langsmith_server.feedback if f["key"] == "perceived_error"}
    run_ids = {str(row["run"].id) for row in rows}
    assert set(feedback) == run_ids
    by_last = {
        row["example"].inputs["messages"][-1]["content"]: feedback[str(row["run"].id)]
        for row in rows
    }
    assert by_last["No, I said Tuesday."]["score"] == 1
    assert by_last["Great, thanks!"]["score"] == 0
    skipped = by_last["Hello, how can I help?"]
    assert skipped.get("score") is None
    assert skipped["comment"].startswith("skipped: ")
    assert skipped["extra"]["status"] == "skipped"
    flagged = by_last["No, I said Tuesday."]
    assert flagged["extra"]["status"] == "judged"
    assert flagged["feedback_source"]["metadata"]["prompt_version"] == PROMPT_VERSION
