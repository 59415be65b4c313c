"""Every job state the ``fireworks`` SDK knows, reported clearly; cached input priced as cached.

The local Fireworks server scripts the states (``sft_steps``, ``batch_steps``) that a real account
shows only sometimes: RE_QUEUEING, PAUSED, CANCELLING, EXPIRED. The commands say what each means
and exit 0 (done, or moving on), 1 (ended without results) or 3 (not finished: stalled, or for
``batch collect`` still running).
"""

import json
from typing import get_args

import pytest
from fireworks.types.batch_inference_job import BatchInferenceJob
from fireworks.types.supervised_fine_tuning_job import SupervisedFineTuningJob
from typer.testing import CliRunner

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.bench.cost import TokenProfile, project_costs
from langchain_perceived_error.bench.pricing import price_for
from langchain_perceived_error.cli import app
from langchain_perceived_error.cli.summary import RunSummary
from langchain_perceived_error.fireworks.batch import (
    BatchNotReadyError,
    collect_batch_results,
    prepare_batch_requests,
    submit_batch_job,
)
from langchain_perceived_error.fireworks.jobs import JobConflictError, JobStatus
from langchain_perceived_error.judge.models import resolve_model
from tests.servers.fireworks_server import API_KEY
from tests.unit_tests.test_batch import FAST, MODEL, traces  # noqa: F401 (fixture)

runner = CliRunner()
PRICED = "accounts/fireworks/models/gpt-oss-20b"  # a Fireworks model with a cached-input price


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert API_KEY not in result.output
    return result


def sdk_states(model):
    (literal,) = (
        a for a in get_args(model.model_fields["state"].annotation) if a is not type(None)
    )
    return [state.removeprefix("JOB_STATE_") for state in get_args(literal)]


SFT_STATES = sdk_states(SupervisedFineTuningJob)
SUCCEEDED = {"COMPLETED", "EARLY_STOPPED"}
ENDED = {"FAILED", "CANCELLED", "EXPIRED"}
MOVING = {"CREATING", "CREATING_INPUT_DATASET", "VALIDATING", "PENDING", "RUNNING",
          "WRITING_RESULTS", "RE_QUEUEING", "CANCELLING"}  # fmt: skip


def test_the_sdk_states_are_the_ones_classified_here():
    assert sdk_states(BatchInferenceJob) == SFT_STATES
    for state in SFT_STATES:
        status = JobStatus(name="j", state=state)
        assert "does not know" not in (status.meaning or ""), state  # a new SDK state shows here
    assert {"PAUSED", "CANCELLING", "RE_QUEUEING", "EXPIRED"} <= set(SFT_STATES)
    assert JobStatus(name="j", state="SOMETHING_NEW").stalled  # never waited on forever


def put_sft_job(server, state):
    server.sft_jobs["j"] = {
        "name": f"accounts/{server.account_id}/supervisedFineTuningJobs/j",
        "outputModel": f"accounts/{server.account_id}/models/m",
        "state": f"JOB_STATE_{state}",
        "_step": len(server.sft_steps) - 1,
    }
    server.sft_steps = ((f"JOB_STATE_{state}", None),)


@pytest.mark.parametrize("state", SFT_STATES)
def test_sft_status_reports_every_state_with_its_exit_code(fireworks_env, state):
    put_sft_job(fireworks_env, state)
    result = cli("sft", "status", "j")
    expected = 0 if state in SUCCEEDED | MOVING else (1 if state in ENDED else 3)
    assert result.exit_code == expected, result.output
    assert f"j: {state}" in result.output
    meaning = JobStatus(name="j", state=state).meaning
    if meaning:
        assert meaning in " ".join(result.output.split())


def test_sft_wait_follows_re_queueing_and_stops_at_paused(fireworks_env):
    server = fireworks_env
    put_sft_job(server, "CREATING")
    server.sft_steps = (
        ("JOB_STATE_VALIDATING", None),
        ("JOB_STATE_RE_QUEUEING", None),
        ("JOB_STATE_RUNNING", 40),
        ("JOB_STATE_PAUSED", 40),
    )
    server.sft_jobs["j"]["_step"] = -1
    result = cli("sft", "status", "j", "--wait", "--poll-interval", 0)
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert "RE_QUEUEING, put back in Fireworks' queue: it starts again by itself" in text
    assert "PAUSED, 40%, paused by Fireworks" in text
    assert "does not resume by itself" in text


def test_a_cancelled_job_goes_through_cancelling(fireworks_env):
    server = fireworks_env
    put_sft_job(server, "RUNNING")
    with server.client() as client:
        client.supervised_fine_tuning_jobs.cancel("j", body={})
    assert server.sft_jobs["j"]["state"] == "JOB_STATE_CANCELLING"
    first = cli("sft", "status", "j")
    assert first.exit_code == 0
    assert "CANCELLING, being cancelled: it will end CANCELLED" in " ".join(first.output.split())
    second = cli("sft", "status", "j")
    assert second.exit_code == 1
    assert "j: CANCELLED" in second.output


EXPIRING = (("JOB_STATE_VALIDATING", None), ("JOB_STATE_RUNNING", 50), ("JOB_STATE_EXPIRED", 50))


def test_batch_collect_of_an_expired_job(fireworks_env, traces, tmp_path):  # noqa: F811
    server = fireworks_env
    server.batch_steps = EXPIRING
    work = ["--job-id", "bx", "--work-dir", tmp_path / "w", "--poll-interval", 0]
    assert cli("batch", "submit", traces, "--model", MODEL, *work).exit_code == 0
    output = tmp_path / "results.jsonl"
    output.write_text("earlier results\n")
    running = cli("batch", "collect", "bx", "--output", output)
    assert running.exit_code == 3, running.output
    assert "collect later or pass --wait" in running.output
    expired = cli("batch", "collect", "bx", "--output", output, "--wait", "--poll-interval", 0)
    assert expired.exit_code == 1, expired.output
    text = " ".join(expired.output.split())
    assert "ended EXPIRED: Fireworks stopped it at its time limit" in text
    assert output.read_text() == "earlier results\n"  # a job without results destroys nothing
    again = cli("batch", "submit", traces, "--model", MODEL, *work)
    assert again.exit_code == 1
    assert "exists and ended EXPIRED" in again.output
    assert "use another --job-id" in again.output


def test_batch_collect_of_a_paused_job_stops_waiting(fireworks_server, traces, tmp_path):  # noqa: F811
    fireworks_server.batch_steps = (("JOB_STATE_RUNNING", 10), ("JOB_STATE_PAUSED", 10))
    client = fireworks_server.client()
    requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
    prepare_batch_requests([str(traces)], requests, not_sent)
    submit_batch_job(client, requests, model=MODEL, job_id="bp", poll=FAST)
    with pytest.raises(BatchNotReadyError, match="is PAUSED: paused by Fireworks") as caught:
        list(collect_batch_results(client, "bp", wait=True, poll=FAST))
    assert caught.value.status.stalled
    fireworks_server.batch_jobs["bp"]["state"] = "JOB_STATE_CANCELLED"
    with pytest.raises(JobConflictError, match="ended CANCELLED"):
        submit_batch_job(client, requests, model=MODEL, job_id="bp", poll=FAST)
    client.close()


# -- cached input tokens ---------------------------------------------------------------------------


async def test_cached_prompt_tokens_are_carried_and_priced_as_cached(fireworks_server):
    fireworks_server.cached_tokens = 200
    model = resolve_model(
        f"fireworks:{PRICED}", api_key="k", base_url=fireworks_server.inference_url
    )
    judge = PerceivedErrorJudge(model)
    try:
        result = await judge.ajudge(
            [("user", "book Tuesday"), ("assistant", "Booked Wednesday."), ("user", "No, Tuesday!")]
        )
    finally:
        await judge.aclose()
    assert result.status is JudgeStatus.JUDGED
    assert (result.input_tokens, result.cached_input_tokens) == (300, 200)
    assert result.to_record()["cached_input_tokens"] == 200
    summary = RunSummary(model=judge.model_name)
    summary.add(result)
    price = price_for(PRICED)
    assert price is not None
    assert price.cached_input is not None
    full = (300 * price.input + 20 * price.output) / 1e6
    cached = (100 * price.input + 200 * price.cached_input + 20 * price.output) / 1e6
    assert summary.cost_usd == pytest.approx(cached)
    assert summary.cost_usd < full


def test_batch_results_carry_cached_tokens(fireworks_server, traces, tmp_path):  # noqa: F811
    fireworks_server.cached_tokens = 150
    client = fireworks_server.client()
    requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
    prepare_batch_requests([str(traces)], requests, not_sent)
    submit_batch_job(client, requests, model=MODEL, job_id="bc", poll=FAST)
    results = list(collect_batch_results(client, "bc", wait=True, poll=FAST))
    client.close()
    judged = [r for r in results if r.input_tokens]
    assert judged
    assert {r.cached_input_tokens for r in judged} == {150}


def test_the_cost_projection_prices_cached_input():
    plain = TokenProfile(input_tokens=1000, output_tokens=40, eligible_rate=1.0, source="given")
    cached = TokenProfile(
        input_tokens=1000, output_tokens=40, eligible_rate=1.0, source="given",
        cached_input_tokens=600,
    )  # fmt: skip
    price = price_for(PRICED)
    assert price is not None
    assert price.cached_input is not None

    def daily(profile):
        projection = project_costs(
            profile, traces_per_day=1000, models=[PRICED], deployment=None, frontier=()
        )
        (row,) = [r for r in projection.rows if r.option == "serverless"]
        return row.usd_per_day, projection.assumptions

    plain_day, _ = daily(plain)
    cached_day, notes = daily(cached)
    assert plain_day == pytest.approx(1000 * (1000 * price.input + 40 * price.output) / 1e6)
    expected = (400 * price.input + 600 * price.cached_input + 40 * price.output) / 1e6
    assert cached_day == pytest.approx(1000 * expected)
    assert any("prompt caching: 600 of the 1,000" in note for note in notes)
    with pytest.raises(ValueError, match="cached input tokens"):
        TokenProfile(1000, 40, 1.0, "given", cached_input_tokens=1001)


def test_json_lines_of_judge_carry_the_cached_count(fireworks_server, tmp_path, monkeypatch):
    fireworks_server.cached_tokens = 120
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-local-test")
    monkeypatch.setenv("FIREWORKS_API_BASE", fireworks_server.inference_url)
    source = tmp_path / "in.jsonl"
    turns = [["user", "book Tuesday"], ["assistant", "Booked Wednesday."], ["user", "No, Tuesday"]]
    source.write_text(json.dumps({"id": "x", "messages": turns}) + "\n")
    result = cli("judge", source, "-m", f"fireworks:{PRICED}")
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert (line["input_tokens"], line["cached_input_tokens"]) == (300, 120)
