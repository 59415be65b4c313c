"""Batch inference: submit the judge's requests, collect `judge` lines (real SDK, local server)."""

import json

import pytest
from langchain_core.messages import convert_to_openai_messages
from typer.testing import CliRunner

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.budget import DEFAULT_MAX_INPUT_TOKENS
from langchain_perceived_error.core.prompts import render_verdict
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.fireworks.batch import (
    BatchNotReadyError,
    batch_input_budget,
    batch_model_id,
    batch_request_row,
    collect_batch_results,
    prepare_batch_requests,
    submit_batch_job,
)
from langchain_perceived_error.fireworks.jobs import (
    FireworksConfigError,
    JobConflictError,
    PollPolicy,
)
from tests.fakes import ScriptedChatModel
from tests.servers.fireworks_server import API_KEY, rules_responder
from tests.unit_tests.test_cli import FIELDS  # the `judge` output line

MODEL = "fireworks:accounts/fireworks/models/qwen3p5-35b-a3b"
FAST = PollPolicy(interval_s=0)
runner = CliRunner()


def conversation(record_id, last):
    return {
        "id": record_id,
        "messages": [
            {"role": "user", "content": "Book my dentist for Tuesday."},
            {"role": "assistant", "content": "Booked for Wednesday at 9."},
            {"role": "user", "content": last},
        ],
    }


@pytest.fixture
def traces(tmp_path):
    lines = [
        json.dumps(conversation("a", "No, I said Tuesday.")),
        json.dumps(conversation("b", "Thanks, that works.")),
        json.dumps({"id": "solo", "messages": [{"role": "user", "content": "hello?"}]}),
        "{broken json",
        json.dumps(conversation("c", "GARBAGE please")),
        json.dumps(conversation("d", "PROVIDER-ERROR please")),
        json.dumps(conversation("a", "Great, thanks.")),  # a repeated id
    ]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def responder(body):
    text = body["messages"][-1]["content"]
    if "GARBAGE" in text:
        return "I think the user is upset."
    if "PROVIDER-ERROR" in text:
        return (400, "prompt too long")
    return rules_responder(body)


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert API_KEY not in result.output
    return result


def test_batch_rows_carry_exactly_the_judges_messages():
    turns = [
        Turn(role="human", text="Book Tuesday."),
        Turn(role="ai", text="Booked Wednesday."),
        Turn(role="human", text="No, I said Tuesday."),
    ]
    model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the day.")])
    PerceivedErrorJudge(model).judge(turns)
    row = batch_request_row("x", turns)
    assert row["body"]["messages"] == convert_to_openai_messages(model.calls[0])
    assert row == {
        "custom_id": "x",
        "body": {"messages": row["body"]["messages"], "max_tokens": 512, "temperature": 0},
    }


def long_conversation_with_secrets(record_id="long"):
    filler = [
        message
        for n in range(40)
        for message in (
            {"role": "user", "content": f"Question {n}: " + "details " * 40},
            {"role": "assistant", "content": f"Answer {n}: " + "explanation " * 40},
        )
    ]
    return {
        "id": record_id,
        "messages": [
            {"role": "user", "content": "Mail the invoice to jane.doe@example.com please."},
            *filler,
            {"role": "assistant", "content": "Sent to jane.doe@example.org."},
            {"role": "user", "content": "No, I said jane.doe@example.com, not .org!"},
        ],
    }


def test_batch_requests_are_prepared_exactly_as_the_live_judge_prepares_them(tmp_path):
    record = long_conversation_with_secrets()
    model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the address.")])
    live = PerceivedErrorJudge(model, redact=True, max_input_tokens=400).judge(record)
    assert live.budget_cut is not None  # both things happen to this record ...
    assert live.redactions == {"email": 3}
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(record) + "\n")
    requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
    report = prepare_batch_requests(
        [str(source)], requests, not_sent, redact=True, max_input_tokens=400
    )
    (row,) = [json.loads(line) for line in requests.read_text().splitlines()]
    assert row["body"]["messages"] == convert_to_openai_messages(model.calls[0])  # ... to both
    assert "example.com" not in requests.read_text()
    assert (report.budget_cuts, dict(report.redactions)) == (1, {"email": 3})


def test_the_batch_default_budget_is_the_live_judges(fireworks_env, monkeypatch):
    model_id = MODEL.removeprefix("fireworks:")
    assert batch_input_budget(model_id) == PerceivedErrorJudge(MODEL).max_input_tokens
    monkeypatch.delenv("FIREWORKS_API_KEY")
    assert batch_input_budget(model_id) == DEFAULT_MAX_INPUT_TOKENS


def test_submit_redacts_and_cuts_when_asked(fireworks_env, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(long_conversation_with_secrets()) + "\n")
    options = ["--redact", "--max-input-tokens", 400, "--poll-interval", 0]
    work = ["--job-id", "red", "--work-dir", tmp_path / "w"]
    result = cli("batch", "submit", source, "--model", MODEL, *work, *options)
    assert result.exit_code == 0, result.output
    assert "cut to the token budget: 1" in result.output
    assert "redacted: 3 email" in result.output
    (sent,) = fireworks_env.dataset_lines("red-input")
    assert "example.com" not in json.dumps(sent)
    assert "cut to fit the judge's context" in json.dumps(sent)


def test_submit_then_collect_round_trip_through_the_cli(fireworks_env, traces, tmp_path):
    server = fireworks_env
    server.responder = responder
    work = tmp_path / "work"
    result = cli("batch", "submit", traces, "--model", MODEL, "--job-id", "bj", "--work-dir", work,
                 "--poll-interval", 0)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "batch job bj: created" in result.output
    assert "requests: 5" in result.output
    assert "not sent: 2" in result.output
    sent = server.dataset_lines("bj-input")
    assert [row["custom_id"] for row in sent] == ["a", "b", "c", "d", "a#2"]
    job = server.batch_jobs["bj"]
    assert job["model"] == "accounts/fireworks/models/qwen3p5-35b-a3b"
    assert job["inputDatasetId"] == "accounts/test-account/datasets/bj-input"
    assert job["outputDatasetId"] == "accounts/test-account/datasets/bj-output"
    params = job["inferenceParameters"]
    assert (params["maxTokens"], params["temperature"]) == (512, 0.0)
    assert json.loads(params["extraBody"]) == {"reasoning_effort": "none"}
    not_sent = [json.loads(x) for x in (work / "bj.not-sent.jsonl").read_text().splitlines()]
    assert [(x["id"], x["status"]) for x in not_sent] == [("solo", "skipped"),
                                                          ("traces.jsonl:4", "failed")]  # fmt: skip

    early = cli("batch", "collect", "bj", "--output", tmp_path / "early.jsonl")
    assert early.exit_code == 3  # not finished: try later
    assert not (tmp_path / "early.jsonl").exists()  # nothing opened before the job was checked
    assert "is VALIDATING" in early.output
    assert "--wait" in early.output

    out = tmp_path / "results.jsonl"
    result = cli("batch", "collect", "bj", "--output", out, "--input", traces, "--wait",
                 "--poll-interval", 0)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert all(list(line) == FIELDS for line in lines)  # the `judge` output shape
    assert [(x["id"], x["status"], x["perceived_error"]) for x in lines] == [
        ("a", "judged", True),
        ("b", "judged", False),
        ("solo", "skipped", None),
        ("traces.jsonl:4", "failed", None),
        ("c", "failed", None),
        ("d", "failed", None),
        ("a", "judged", False),
    ]
    assert "no valid verdict: no JSON object found" in lines[4]["error"]
    assert "provider error" in lines[5]["error"]
    assert "prompt too long" in lines[5]["error"]
    assert lines[0]["model"] == "accounts/fireworks/models/qwen3p5-35b-a3b"
    assert (lines[0]["input_tokens"], lines[0]["output_tokens"]) == (300, 20)
    assert "failed" in result.output  # the summary table


def test_resubmitting_reuses_the_job_and_a_conflicting_id_is_refused(
    fireworks_server, traces, tmp_path
):
    client = fireworks_server.client()
    requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
    prepare_batch_requests([str(traces)], requests, not_sent)
    first = submit_batch_job(client, requests, model=MODEL, poll=FAST)
    assert first.job_id.startswith("pe-batch-")
    again = submit_batch_job(client, requests, model=MODEL, poll=FAST)
    assert (again.action, again.job_id) == ("reused", first.job_id)
    assert len(fireworks_server.batch_jobs) == 1
    with pytest.raises(JobConflictError, match="nothing was submitted"):
        submit_batch_job(
            client, requests, model="accounts/fireworks/models/other", job_id=first.job_id
        )


def test_collect_without_input_and_missing_rows(fireworks_server, traces, tmp_path):
    client = fireworks_server.client()
    requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
    prepare_batch_requests([str(traces)], requests, not_sent)
    job = submit_batch_job(client, requests, model=MODEL, job_id="j", poll=FAST).job_id
    results = list(collect_batch_results(client, job, wait=True, poll=FAST))
    assert sorted(r.id for r in results) == ["a", "a#2", "b", "c", "d"]  # output order, custom ids
    files = fireworks_server.files["j-output"]
    files["BIJOutputSet.jsonl"] = b"\n".join(files["BIJOutputSet.jsonl"].splitlines()[1:]) + b"\n"
    ordered = list(collect_batch_results(client, job, input_paths=[str(traces)]))
    assert ordered[0].id == "a"
    assert ordered[0].error == "no result: the record is missing from the batch output"


def test_collect_of_a_failed_job_says_why(fireworks_server, traces, tmp_path):
    client = fireworks_server.client()
    requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
    prepare_batch_requests([str(traces)], requests, not_sent)
    submit_batch_job(client, requests, model=MODEL, job_id="j", poll=FAST)
    fireworks_server.batch_jobs["j"].update(
        state="JOB_STATE_FAILED", status={"code": "INTERNAL", "message": "model not batchable"}
    )
    with pytest.raises(BatchNotReadyError, match="ended FAILED: model not batchable"):
        list(collect_batch_results(client, "j"))


@pytest.mark.parametrize(
    "spec",
    ["rules", "openai:gpt-5-mini", "fireworks:accounts/a/models/m#accounts/a/deployments/d"],
)
def test_batch_runs_only_fireworks_models(spec):
    with pytest.raises(FireworksConfigError):
        batch_model_id(spec)


def test_submit_with_nothing_eligible_sends_nothing(fireworks_env, tmp_path):
    path = tmp_path / "solo.jsonl"
    path.write_text(json.dumps({"id": "s", "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    result = cli("batch", "submit", path, "--model", MODEL, "--work-dir", tmp_path)
    assert result.exit_code == 1
    assert "nothing to send" in result.output
    assert fireworks_env.requests == []
