import asyncio

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.core.prompts import build_judge_messages
from langchain_perceived_error.core.records import UnreadableRecord
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.judge.batching import batch_plan
from langchain_perceived_error.judge.graph import build_judge_graph
from langchain_perceived_error.transport.retries import is_transient_error
from tests.fakes import RunTree, ScriptedChatModel, ScriptedError

FAST_RETRY = RetryPolicy(
    initial_interval=0.001,
    backoff_factor=1.0,
    max_attempts=3,
    jitter=False,
    retry_on=is_transient_error,
)
CONVERSATION = [
    {"role": "user", "content": "Move my meeting to Tuesday."},
    {"role": "assistant", "content": "Moved it to Wednesday."},
    {"role": "user", "content": "No, I said Tuesday."},
]
TRUE = '{"perceived_error": true, "reason": "The user corrects the day."}'
FALSE = '{"perceived_error": false, "reason": "No correction."}'


def make(script, **kwargs):
    model = ScriptedChatModel(script=script)
    return model, PerceivedErrorJudge(model, transport_retry=FAST_RETRY, **kwargs)


def test_factory_returns_a_compiled_state_graph_with_the_documented_nodes():
    graph = build_judge_graph(ScriptedChatModel(script=[TRUE]))
    assert isinstance(graph, CompiledStateGraph)
    assert {"extract", "judge", "validate"} <= set(graph.get_graph().nodes)


def test_valid_answer_is_judged_with_tokens_and_model_name():
    model, judge = make([TRUE])
    result = judge.judge({"id": "r1", "messages": CONVERSATION})
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is True
    assert result.reason == "The user corrects the day."
    assert (result.id, result.attempts, result.model) == ("r1", 1, "scripted")
    assert (result.input_tokens, result.output_tokens) == (100, 20)
    assert result.latency_s > 0
    assert [t.role for t in result.turns] == ["human", "ai", "human"]
    assert model.calls == [build_judge_messages(result.turns)]


def test_finished_items_keep_no_prompt_and_requests_share_one_system_message():
    model = ScriptedChatModel(script=["not json", TRUE, FALSE])
    graph = build_judge_graph(model)
    state = graph.invoke({"records": [CONVERSATION, [*CONVERSATION[:2], CONVERSATION[2]]]})
    assert [item["status"] for item in state["items"]] == [JudgeStatus.JUDGED] * 2
    assert state["items"][0]["attempts"] == 2  # the retry's messages were there while it waited
    for item in state["items"]:
        assert not {"messages", "retry_messages"} & item.keys()
        assert "response_metadata" in item  # the last answer's, for callers that read logprobs
    first, second = build_judge_messages([]), build_judge_messages([])
    assert first[0] is second[0]
    assert first[1] is not second[1]
    assert len({id(call[0]) for call in model.calls}) == 1


def test_invalid_then_valid_retries_with_the_validation_error():
    model, judge = make(["I think the user was upset.", f"```json\n{FALSE}\n```"])
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is False
    assert result.attempts == 2
    assert (result.input_tokens, result.output_tokens) == (200, 40)
    second = model.calls[1]
    assert second[:2] == model.calls[0]
    assert isinstance(second[2], AIMessage)
    assert second[2].content == "I think the user was upset."
    assert isinstance(second[3], HumanMessage)
    assert "no JSON object found" in second[3].text


def test_always_invalid_fails_after_max_attempts_never_false():
    model, judge = make(['{"perceived_error": "maybe", "reason": "unsure"}'], max_attempts=3)
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.FAILED
    assert result.perceived_error is None
    assert result.verdict is None
    assert result.attempts == 3
    assert len(model.calls) == 3
    assert "no valid verdict after 3 attempts" in (result.error or "")
    assert result.raw_output == '{"perceived_error": "maybe", "reason": "unsure"}'
    assert result.to_record()["perceived_error"] is None


def test_truncated_answer_is_named_in_the_error():
    cut = AIMessage(content='{"perceived_error": tr', response_metadata={"finish_reason": "length"})
    _, judge = make([cut], max_attempts=1)
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.FAILED
    assert "cut off at the token limit" in (result.error or "")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transport_error_then_success_is_retried_without_using_format_attempts(status):
    model, judge = make([ScriptedError(status), ScriptedError(status), TRUE], max_attempts=1)
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is True
    assert result.attempts == 1
    assert len(model.calls) == 3


def test_transport_errors_that_never_stop_become_a_recorded_failure():
    model, judge = make([ScriptedError(429, "rate limited")])
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.FAILED
    assert result.perceived_error is None
    assert "rate limited" in (result.error or "")
    assert len(model.calls) == FAST_RETRY.max_attempts


def test_non_transient_model_error_fails_at_once():
    model, judge = make([ScriptedError(401, "invalid api key")])
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.FAILED
    assert "invalid api key" in (result.error or "")
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    "record",
    [
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        [{"role": "user", "content": "No, I said Tuesday."}],
        [{"role": "assistant", "content": "How can I help?"}],
        [],
    ],
)
def test_not_multi_turn_is_skipped_without_a_model_call(record):
    model, judge = make([TRUE])
    result = judge.judge(record)
    assert result.status is JudgeStatus.SKIPPED
    assert result.skip_reason
    assert result.perceived_error is None
    assert result.attempts == 0
    assert model.calls == []


def test_unreadable_input_is_a_failed_result_not_an_exception():
    model, judge = make([TRUE])
    bad_shape = judge.judge({"unexpected": 1})
    bad_json = judge.judge(UnreadableRecord(source="x.jsonl:3", error="invalid JSON at x.jsonl:3"))
    assert bad_shape.status is JudgeStatus.FAILED
    assert "unexpected" in (bad_shape.error or "")
    assert bad_json.status is JudgeStatus.FAILED
    assert "x.jsonl:3" in (bad_json.error or "")
    assert model.calls == []


def test_turns_can_be_given_directly():
    _, judge = make([TRUE])
    turns = [Turn(role="human", text="a"), Turn(role="ai", text="b"), Turn(role="human", text="c")]
    assert judge.judge(turns).status is JudgeStatus.JUDGED


async def test_async_path_matches_sync_path():
    script = ["not json", TRUE]
    _, sync_judge = make(script)
    _, async_judge = make(script)
    sync_result = sync_judge.judge(CONVERSATION)
    async_result = await async_judge.ajudge(CONVERSATION)
    fields = ("status", "verdict", "attempts", "input_tokens", "output_tokens", "turns")
    assert {f: getattr(async_result, f) for f in fields} == {
        f: getattr(sync_result, f) for f in fields
    }


def _records(n):
    return [{"id": f"r{i}", "messages": CONVERSATION} for i in range(n)]


def test_judge_many_keeps_input_order_and_bounds_concurrency():
    model = ScriptedChatModel(script=[TRUE], delay_s=0.01)
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY)
    results = list(judge.judge_many(_records(30), concurrency=4))
    assert [r.id for r in results] == [f"r{i}" for i in range(30)]
    assert all(r.status is JudgeStatus.JUDGED for r in results)
    assert 1 < model.max_in_flight <= 4


async def test_ajudge_many_keeps_order_bounds_concurrency_and_reads_lazily():
    model = ScriptedChatModel(script=[TRUE], delay_s=0.01)
    judge = PerceivedErrorJudge(model, transport_retry=FAST_RETRY)
    pulled = 0

    def records():
        nonlocal pulled
        for record in _records(400):
            pulled += 1
            yield record

    # requests of equal latency: at most two of the largest batches in flight, and one being read
    plan = batch_plan(5)
    seen = []
    async for result in judge.ajudge_many(records(), concurrency=5):
        seen.append(result.id)
        assert pulled - len(seen) <= plan.steady + plan.largest < 400
    assert seen == [f"r{i}" for i in range(400)]
    assert 1 < model.max_in_flight <= 5


def test_batch_and_abatch_agree():
    _, judge = make([TRUE])
    sync = judge.batch(_records(5), concurrency=2)
    asynchronous = asyncio.run(judge.abatch(_records(5), concurrency=2))
    assert [r.id for r in sync] == [r.id for r in asynchronous]
    assert [r.perceived_error for r in sync] == [r.perceived_error for r in asynchronous]


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match="max_attempts"):
        build_judge_graph(ScriptedChatModel(script=[TRUE]), max_attempts=0)
    _, judge = make([TRUE])
    with pytest.raises(ValueError, match="concurrency"):
        judge.batch([], concurrency=0)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_node_and_the_model_call_appear_in_the_trace(mode):
    """A trace shows the graph, its nodes, and each model call inside the judge node."""
    model = ScriptedChatModel(script=["not json", TRUE])
    graph = build_judge_graph(model, transport_retry=FAST_RETRY)
    tree = RunTree()
    config: RunnableConfig = {"callbacks": [tree]}
    state = (
        graph.invoke({"record": CONVERSATION}, config)
        if mode == "sync"
        else asyncio.run(graph.ainvoke({"record": CONVERSATION}, config))
    )
    assert state["items"][0]["attempts"] == 2
    assert tree.children("perceived_error_judge") == [
        ["extract", "judge", "validate", "judge", "validate"]
    ]
    assert tree.children("judge") == [["<model call>"], ["<model call>"]]
    assert len(model.calls) == 2
