"""Fireworks uploads and fine-tuning jobs: the real ``fireworks`` SDK against a local server."""

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.datasets.sft import build_sft_files
from langchain_perceived_error.fireworks.jobs import (
    FireworksApiError,
    JobConflictError,
    PollPolicy,
    SftJobSpec,
    SftValidationError,
    call,
    create_or_reuse_sft_job,
    fireworks_client,
    upload_dataset,
    upload_sft_dir,
)
from tests.servers.fireworks_server import API_KEY
from tests.unit_tests.test_sft import records

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"
FAST = PollPolicy(interval_s=0)
runner = CliRunner()


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert API_KEY not in result.output  # the key is never printed
    return result


@pytest.fixture
def sft_dir(tmp_path):
    build_sft_files(records(30), tmp_path / "sft", seed=2)
    return tmp_path / "sft"


def creates(server, what="supervisedFineTuningJobs"):
    return [r for r in server.calls("POST", what) if ":" not in r.path.rsplit("/", 1)[-1]]


# -- the whole flow through the CLI ----------------------------------------------------------------


def test_build_validate_upload_train_status_to_completed(fireworks_env, tmp_path):
    server = fireworks_env
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(r.model_dump_json() + "\n" for r in records(30)))
    out = tmp_path / "sft"
    assert cli("sft", "build", labelled, "--out", out).exit_code == 0
    assert cli("sft", "validate", out / "train.jsonl", out / "holdout.jsonl").exit_code == 0

    result = cli("sft", "upload", out, "--dataset-id", "pe-train", "--poll-interval", 0)
    assert result.exit_code == 0, result.output
    assert "train: accounts/test-account/datasets/pe-train: created and uploaded" in result.output
    assert "holdout: accounts/test-account/datasets/pe-train-holdout" in result.output
    assert server.datasets["pe-train"]["format"] == "CHAT"
    assert server.dataset_lines("pe-train") == [
        json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()
    ]

    result = cli(
        "sft", "train", "--dataset-id", "pe-train", "--output-model", "pe-judge",
        "--job-id", "pe-job", "--epochs", 2, "--lora-rank", 16, "--learning-rate", 1e-4,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "job accounts/test-account/supervisedFineTuningJobs/pe-job: created" in result.output
    (create,) = creates(server)
    assert "supervisedFineTuningJobId=pe-job" in create.path
    assert create.body == {
        "dataset": "accounts/test-account/datasets/pe-train",
        "baseModel": "accounts/fireworks/models/qwen3p5-35b-a3b",
        "outputModel": "accounts/test-account/models/pe-judge",
        "evaluationDataset": "accounts/test-account/datasets/pe-train-holdout",
        "epochs": 2,
        "learningRate": 1e-4,
        "loraRank": 16,
    }

    result = cli("sft", "status", "pe-job", "--wait", "--poll-interval", 0)
    assert result.exit_code == 0, result.output
    assert "fine-tuning: RUNNING, 33%" in result.output
    assert "COMPLETED, 100%, est. 3.25 USD" in result.output
    assert "output model: accounts/test-account/models/pe-judge" in result.output
    assert "firectl create deployment accounts/test-account/models/pe-judge" in result.output
    spec = "fireworks:accounts/test-account/models/pe-judge#accounts/test-account/deployments/"
    assert spec in result.output
    assert "accounts/test-account/models/pe-judge" in server.models


def test_rerunning_train_reuses_and_different_settings_are_refused(fireworks_env, sft_dir):
    server = fireworks_env
    assert cli("sft", "upload", sft_dir, "--dataset-id", "ds", "--poll-interval", 0).exit_code == 0
    args = ["sft", "train", "--dataset-id", "ds", "--output-model", "m1", "--job-id", "j1"]
    assert cli(*args, "--epochs", 1).exit_code == 0
    again = cli(*args, "--epochs", 1)
    assert again.exit_code == 0, again.output
    assert "reused (nothing created)" in again.output
    by_model = cli("sft", "train", "--dataset-id", "ds", "--output-model", "m1", "--epochs", 1)
    assert by_model.exit_code == 0, by_model.output
    assert "already trains accounts/test-account/models/m1: reused" in by_model.output
    refused = cli(*args, "--epochs", 3)
    assert refused.exit_code == 1
    assert "epochs: existing 1, requested 3" in refused.output
    assert "Nothing was created" in refused.output
    other_id = cli("sft", "train", "--dataset-id", "ds", "--output-model", "m1", "--lora-rank", 4)
    assert other_id.exit_code == 1
    assert "lora_rank" in other_id.output
    assert len(creates(server)) == 1  # never a second job


def test_a_failed_job_for_the_output_model_does_not_block_a_new_one(fireworks_server, sft_dir):
    client = fireworks_server.client()
    upload_sft_dir(client, sft_dir, "ds", poll=FAST)
    first = create_or_reuse_sft_job(client, SftJobSpec(dataset_id="ds", output_model="m"))
    fireworks_server.sft_jobs[first.job.name.rsplit("/", 1)[-1]]["state"] = "JOB_STATE_FAILED"
    second = create_or_reuse_sft_job(client, SftJobSpec(dataset_id="ds", output_model="m"))
    assert second.action == "created"
    assert any("ended FAILED" in note for note in second.notes)


# -- uploads ---------------------------------------------------------------------------------------


def test_invalid_files_are_never_uploaded(fireworks_env, sft_dir):
    train = sft_dir / "train.jsonl"
    train.write_text(train.read_text() + '{"messages": []}\n')
    result = cli("sft", "upload", sft_dir, "--dataset-id", "ds")
    assert result.exit_code == 1
    assert "'messages' must be a non-empty list" in result.output
    assert fireworks_env.requests == []
    with pytest.raises(SftValidationError):
        upload_sft_dir(fireworks_env.client(), sft_dir, "ds")


def test_reupload_reuses_and_other_content_is_refused(fireworks_server, sft_dir, tmp_path):
    client = fireworks_server.client()
    first = upload_sft_dir(client, sft_dir, "ds", poll=FAST)
    assert first.train.created
    again = upload_sft_dir(client, sft_dir, "ds", poll=FAST)
    assert (again.train.created, again.train.uploaded) == (False, False)
    assert len(fireworks_server.calls("POST", ":upload")) == 2  # train + holdout, once each
    build_sft_files(records(30), tmp_path / "other", seed=99)
    with pytest.raises(JobConflictError, match="already exists with different content"):
        upload_sft_dir(client, tmp_path / "other", "ds", poll=FAST)


def test_large_files_go_through_the_sdk_shard_helper(fireworks_server, sft_dir):
    if not fireworks_server.tls:
        pytest.skip("no openssl: the local server cannot serve https signed URLs")
    train = sft_dir / "train.jsonl"
    result = upload_dataset(
        fireworks_server.client(), train, "big", direct_limit=100, shard_bytes=10_000, poll=FAST
    )
    assert result.sharded
    assert result.state == "READY"
    shards = fireworks_server.files["big"]
    assert len(shards) > 1
    assert all(len(data) <= 10_000 or data.count(b"\n") == 1 for data in shards.values())
    assert b"".join(shards[name] for name in sorted(shards)) == train.read_bytes()
    assert fireworks_server.calls("POST", ":getUploadEndpoint")
    assert fireworks_server.calls("POST", ":validateUpload")
    assert not any(r.authorized for r in fireworks_server.signed_requests)  # no key on GCS PUTs


@pytest.mark.parametrize("status", [429, 503])
def test_transient_errors_are_retried(fireworks_server, sft_dir, status):
    # the SDK's own retries, waiting the server's retry-after-ms (1 ms) instead of its backoff
    fireworks_server.fail_next(2, status=status, path="/datasets", retry_after_ms=1)
    client = fireworks_client(
        api_key=API_KEY, account_id=fireworks_server.account_id, base_url=fireworks_server.url
    )
    result = upload_dataset(client, sft_dir / "train.jsonl", "ds", poll=FAST)
    assert result.state == "READY"
    assert [r.status for r in fireworks_server.requests[:3]] == [status, status, 404]


def test_retries_run_out_and_other_errors_are_clear(fireworks_server):
    client = fireworks_server.client(max_retries=2)
    fireworks_server.fail_next(3, status=503, retry_after_ms=1)
    with pytest.raises(FireworksApiError, match="get dataset x: HTTP 503") as caught:
        call("get dataset x", lambda: client.datasets.get("x"))
    assert caught.value.status_code == 503
    assert "\n" not in str(caught.value)  # one line
    with pytest.raises(FireworksApiError, match="HTTP 404: dataset x not found"):
        call("get dataset x", lambda: client.datasets.get("x"))
    assert len(fireworks_server.requests) == 4  # 3 tries, then one 404 with no retry


def test_a_job_fireworks_names_is_created_once_even_when_the_answer_fails(fireworks_server):
    """No retry where it could duplicate: a create without a job id is sent once."""
    client = fireworks_server.client(max_retries=5)
    spec = SftJobSpec(dataset_id="d", output_model="m")
    fireworks_server.fail_next(1, status=503, path="GET /v1/", retry_after_ms=1)
    fireworks_server.fail_next(3, status=503, path="POST /v1/", retry_after_ms=1)
    with pytest.raises(FireworksApiError, match="create fine-tuning job: HTTP 503"):
        create_or_reuse_sft_job(client, spec)
    listed = fireworks_server.calls("GET", "supervisedFineTuningJobs")
    assert [r.status for r in listed] == [503, 200]  # a lookup is retried
    assert [r.status for r in creates(fireworks_server)] == [503]  # the create is sent once


def test_fireworks_refusals_exit_with_the_message(fireworks_env):
    result = cli("sft", "train", "--dataset-id", "missing", "--output-model", "m")
    assert result.exit_code == 1
    assert "create fine-tuning job: HTTP 400: dataset accounts/test-account/datasets/missing" in (
        result.output
    )
    unknown = cli("sft", "train", "--dataset-id", "d", "--output-model", "m", "--base-model",
                  "accounts/fireworks/models/nope")  # fmt: skip
    assert unknown.exit_code == 1
    assert "HTTP 404" in unknown.output
    bad_rank = cli("sft", "train", "--dataset-id", "d", "--output-model", "m", "--lora-rank", 6)
    assert bad_rank.exit_code == 2
    assert "power of 2" in bad_rank.output


def test_missing_key_or_account_exits_2(fireworks_env, monkeypatch):
    monkeypatch.delenv("FIREWORKS_ACCOUNT_ID")
    result = cli("sft", "status", "j")
    assert result.exit_code == 2
    assert "FIREWORKS_ACCOUNT_ID" in result.output
    monkeypatch.delenv("FIREWORKS_API_KEY")
    result = cli("sft", "status", "j", "--account-id", "a")
    assert result.exit_code == 2
    assert "FIREWORKS_API_KEY is not set" in result.output


def test_status_without_wait_and_a_failed_job(fireworks_env, sft_dir):
    server = fireworks_env
    upload_sft_dir(server.client(), sft_dir, "ds", poll=FAST)
    cli("sft", "train", "--dataset-id", "ds", "--output-model", "m", "--job-id", "j")
    result = cli("sft", "status", "j")
    assert result.exit_code == 0
    assert "VALIDATING" in result.output
    server.sft_jobs["j"].update(state="JOB_STATE_FAILED", status={"message": "out of memory"})
    failed = cli("sft", "status", "j")
    assert failed.exit_code == 1
    assert "FAILED, out of memory" in failed.output


# -- cookbook 06 -----------------------------------------------------------------------------------


def load_cookbook(name):
    spec = importlib.util.spec_from_file_location(name, COOKBOOK / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cookbook_06_dry_run_is_offline(monkeypatch, capsys):
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)
    calls = load_cookbook("06_finetune_on_fireworks").main([])
    out = capsys.readouterr().out
    assert "FIREWORKS_API_KEY is not set: a dry run" in out
    assert any(c.startswith("client.supervised_fine_tuning_jobs.create(") for c in calls)
    assert any("evaluation_dataset='accounts/" in c for c in calls)


def test_cookbook_06_runs_for_real_against_the_local_server(fireworks_env, capsys):
    module = load_cookbook("06_finetune_on_fireworks")
    args = ["--dataset-id", "cb", "--output-model", "cb-judge", "--wait", "--poll-interval", "0"]
    status = module.main(args)
    assert status.state == "COMPLETED"
    assert "perceived-error batch submit" in capsys.readouterr().out
    assert module.main(args).state == "COMPLETED"  # the second run reuses everything
    assert len(creates(fireworks_env)) == 1
