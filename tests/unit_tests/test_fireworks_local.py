"""The real ChatFireworks client, resolved from a spec, talking to a local server on 127.0.0.1."""

import json

import pytest

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.core.prompts import SYSTEM_PROMPT
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL, resolve_model
from tests.unit_tests.test_graph import CONVERSATION, FAST_RETRY

PATH = "/inference/v1/chat/completions"


def completion(content, prompt_tokens=321, completion_tokens=17):
    return {
        "id": "cmpl-local",
        "object": "chat.completion",
        "created": 1,
        "model": DEFAULT_FIREWORKS_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@pytest.fixture
def judge(httpserver):
    model = resolve_model(
        f"fireworks:{DEFAULT_FIREWORKS_MODEL}",
        api_key="fw-local-test",
        base_url=httpserver.url_for("/inference"),
    )
    return PerceivedErrorJudge(model, transport_retry=FAST_RETRY)


def test_request_carries_prompt_and_judge_settings(httpserver, judge):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        completion('{"perceived_error": true, "reason": "The user corrects the day."}')
    )
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is True
    assert (result.input_tokens, result.output_tokens) == (321, 17)
    assert result.model == DEFAULT_FIREWORKS_MODEL
    ((request, _),) = httpserver.log
    body = json.loads(request.get_data())
    assert body["model"] == DEFAULT_FIREWORKS_MODEL
    assert body["temperature"] == 0.0
    assert body["reasoning_effort"] == "none"
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "user: No, I said Tuesday." in body["messages"][1]["content"]
    assert request.headers["Authorization"] == "Bearer fw-local-test"


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_then_success_through_the_real_sdk(httpserver, judge, status):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(
        {"error": {"message": "slow down"}}, status=status
    )
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(
        completion('{"perceived_error": false, "reason": "No signal."}')
    )
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is False
    assert result.attempts == 1
    assert len(httpserver.log) == 2


def test_thinking_output_and_format_retry_through_the_real_sdk(httpserver, judge):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(
        completion("<think>hmm</think> The user is annoyed.")
    )
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(
        completion('<think>ok</think>{"perceived_error": true, "reason": "The user says no."}')
    )
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.attempts == 2
    assert result.input_tokens == 642
    retry_body = json.loads(httpserver.log[1][0].get_data())
    assert retry_body["messages"][2]["content"] == "<think>hmm</think> The user is annoyed."
    assert "no JSON object found" in retry_body["messages"][3]["content"]


def test_bad_key_is_a_recorded_failure(httpserver, judge):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"error": {"message": "invalid api key"}}, status=401
    )
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.FAILED
    assert "401" in (result.error or "") or "invalid api key" in (result.error or "")
    assert len(httpserver.log) == 1


async def test_async_client_against_the_local_server(httpserver, judge):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        completion('{"perceived_error": true, "reason": "The user corrects the day."}')
    )
    try:
        result = await judge.ajudge(CONVERSATION)
    finally:
        await judge.model.aclose()  # the aiohttp session must not outlive the loop
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is True
    assert result.output_tokens == 17
