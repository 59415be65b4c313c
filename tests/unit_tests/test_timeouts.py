"""Bounded time for every Fireworks call: a request that never answers is a transient error.

The local Fireworks server (tests/servers/fireworks_server.py) is told to leave requests
unanswered (``hang_next``); the real SDKs time out, the judge retries with backoff, and a request
that never answers ends as a ``failed`` record with its error, never a stalled run.
"""

import json
import time

import httpx
import pytest
from fireworks import APITimeoutError
from langchain_fireworks.chat_models import FireworksReadTimeoutError, FireworksTimeoutError
from langgraph.types import RetryPolicy
from typer.testing import CliRunner

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.cli import app
from langchain_perceived_error.fireworks.jobs import (
    FireworksApiError,
    fireworks_client,
    get_job_status,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL, resolve_model
from langchain_perceived_error.transport.retries import (
    DEFAULT_REQUEST_TIMEOUT_S,
    is_transient_error,
)
from tests.unit_tests.test_reliability import _records

SPEC = f"fireworks:{DEFAULT_FIREWORKS_MODEL}"
CHAT = "/chat/completions"
REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


@pytest.mark.parametrize(
    "error",
    [
        APITimeoutError(request=REQUEST),
        FireworksTimeoutError(request=REQUEST),
        FireworksReadTimeoutError("read timed out", request=REQUEST),
        httpx.ReadTimeout("read timed out", request=REQUEST),
        httpx.ConnectTimeout("connect timed out", request=REQUEST),
        TimeoutError("timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_sdk_timeout_is_transient(error):
    assert is_transient_error(error)


def test_models_get_a_request_timeout():
    default = resolve_model(SPEC, api_key="k")
    assert default.request_timeout == DEFAULT_REQUEST_TIMEOUT_S
    assert default._async_sdk_client.timeout == DEFAULT_REQUEST_TIMEOUT_S  # what httpx gets
    short = resolve_model(SPEC, api_key="k", timeout=2.5)
    assert short.request_timeout == 2.5
    assert short._sdk_client.timeout == 2.5


def test_init_chat_model_providers_get_the_timeout(monkeypatch):
    pytest.importorskip("langchain_openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    model = resolve_model("openai:gpt-5-mini", timeout=7.0)
    assert model.request_timeout == 7.0
    assert model.root_async_client.timeout == 7.0


CONVERSATION = [
    ("user", "move it to Tuesday"),
    ("assistant", "Moved to Wednesday."),
    ("user", "No, Tuesday!"),
]


async def _judge_with_one_second_timeout(server, *, attempts):
    """(result, seconds) of judging CONVERSATION through the real ChatFireworks, 1 s timeout."""
    model = resolve_model(SPEC, api_key="k", base_url=server.inference_url, timeout=1.0)
    retry = RetryPolicy(
        initial_interval=0.05, max_attempts=attempts, jitter=False, retry_on=is_transient_error
    )
    judge = PerceivedErrorJudge(model, transport_retry=retry)
    started = time.monotonic()
    try:
        result = await judge.ajudge(CONVERSATION)
    finally:
        await judge.aclose()
    return result, time.monotonic() - started


async def test_a_request_that_never_answers_is_retried(fireworks_server):
    fireworks_server.hang_next(1, path=CHAT)
    result, elapsed = await _judge_with_one_second_timeout(fireworks_server, attempts=3)
    assert result.status is JudgeStatus.JUDGED
    assert elapsed < 10
    statuses = [r.status for r in fireworks_server.calls("POST", CHAT)]
    assert statuses == [0, 200]  # the first never answered, the retry did


async def test_a_server_that_never_answers_gives_a_failed_record_with_its_error(fireworks_server):
    fireworks_server.hang_next(100, path=CHAT)
    result, elapsed = await _judge_with_one_second_timeout(fireworks_server, attempts=2)
    assert result.status is JudgeStatus.FAILED
    assert "TimeoutError" in (result.error or ""), result.error
    assert 2.0 <= elapsed < 10, elapsed  # two tries of one second each, then the record
    assert len(fireworks_server.calls("POST", CHAT)) == 2


def test_judge_cli_with_one_hung_request_writes_every_line(fireworks_server, tmp_path, monkeypatch):
    """The issue's run: 30 records at -c 4, the 1st chat request never answered, --timeout 1."""
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-local-test")
    monkeypatch.setenv("FIREWORKS_API_BASE", fireworks_server.inference_url)
    inputs, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = _records(inputs, 30)
    fireworks_server.hang_next(1, path=CHAT)
    args = ["judge", str(inputs), "-m", SPEC, "-c", "4", "--timeout", "1", "-o", str(output)]
    started = time.monotonic()
    result = CliRunner().invoke(app, args)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["id"] for line in lines] == ids
    assert all(line["status"] == "judged" for line in lines), lines
    chat = fireworks_server.calls("POST", CHAT)
    assert [r.status for r in chat].count(0) == 1
    assert len(chat) == 31  # the hung one was retried
    assert elapsed < 30, elapsed
    print(f"judge, 30 records, -c 4, --timeout 1, one hung request: {elapsed:.2f} s wall")


def test_control_plane_call_that_never_answers_is_retried_then_reported(fireworks_server):
    client = fireworks_client(
        api_key="k", account_id=fireworks_server.account_id, base_url=fireworks_server.url,
        timeout=1.0, max_retries=1,
    )  # fmt: skip
    try:
        fireworks_server.hang_next(2, path="/supervisedFineTuningJobs/")
        started = time.monotonic()
        with pytest.raises(FireworksApiError, match="cannot reach Fireworks: Request timed out"):
            get_job_status(client, "job-x")
        assert time.monotonic() - started < 10
        assert [r.status for r in fireworks_server.calls("GET", "job-x")] == [0, 0]
        fireworks_server.hang_next(1, path="/supervisedFineTuningJobs/")
        with pytest.raises(FireworksApiError, match="HTTP 404"):  # the retry got an answer
            get_job_status(client, "job-x")
        assert [r.status for r in fireworks_server.calls("GET", "job-x")] == [0, 0, 0, 404]
    finally:
        client.close()


def test_sft_status_cli_times_out_and_retries(fireworks_env):
    server = fireworks_env
    server.sft_jobs["job-1"] = {
        "name": f"accounts/{server.account_id}/supervisedFineTuningJobs/job-1",
        "state": "JOB_STATE_RUNNING",
        "_step": 2,
    }
    server.hang_next(1, path="/supervisedFineTuningJobs/job-1")
    started = time.monotonic()
    result = CliRunner().invoke(app, ["sft", "status", "job-1", "--timeout", "1"])
    assert result.exit_code == 0, result.output
    assert "job-1" in result.output
    assert time.monotonic() - started < 15
    assert [r.status for r in server.calls("GET", "job-1")] == [0, 200]
