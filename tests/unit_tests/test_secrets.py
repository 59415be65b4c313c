"""Every command, run with sentinel keys: no key appears in anything we print or write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from tests.servers.langsmith_capture import LocalLangSmith
from tests.unit_tests.test_fireworks_local import PATH as FIREWORKS_PATH

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cookbook" / "data" / "sample_traces.jsonl"
FIREWORKS_KEY = "fw_SENTINELfireworks0123456789"
LANGSMITH_KEY = "lsv2_pt_SENTINELlangsmith0123456789_ab"
OPENAI_KEY = "sk-SENTINELopenai0123456789abcdef"
SENTINELS = (FIREWORKS_KEY, LANGSMITH_KEY, OPENAI_KEY, "SENTINEL")


def invoke(args, env):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def assert_no_secret(text: str, where: str) -> None:
    for sentinel in SENTINELS:
        assert sentinel not in text, f"{sentinel!r} leaked into {where}"


def assert_no_secret_in_files(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert_no_secret(path.read_bytes().decode("utf-8", "replace"), str(path))


@pytest.fixture
def env(langsmith_server: LocalLangSmith, httpserver, monkeypatch):
    """Sentinel keys everywhere, LangSmith at the local server, Fireworks at an echoing server."""
    # A hostile provider: its 401 answer echoes the key it was sent.
    httpserver.expect_request(FIREWORKS_PATH, method="POST").respond_with_json(
        {"error": {"message": f"invalid api key {FIREWORKS_KEY} (Bearer {FIREWORKS_KEY})"}},
        status=401,
    )
    values = {
        "FIREWORKS_API_KEY": FIREWORKS_KEY,
        "FIREWORKS_API_BASE": httpserver.url_for("/inference"),
        "LANGSMITH_API_KEY": LANGSMITH_KEY,
        "LANGSMITH_ENDPOINT": langsmith_server.url,
        "OPENAI_API_KEY": OPENAI_KEY,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_judge_with_a_provider_that_echoes_the_key(env, tmp_path):
    out = tmp_path / "results.jsonl"
    code, printed = invoke(
        [
            "-v",
            "judge",
            SAMPLE,
            "--model",
            "fireworks:accounts/fireworks/models/gpt-oss-20b",
            "-o",
            out,
        ],
        env,
    )
    assert code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(line["status"] == "failed" and "401" in line["error"] for line in lines)
    assert_no_secret(printed, "judge output")
    assert_no_secret_in_files(tmp_path)


def test_offline_commands(env, tmp_path):
    labelled = tmp_path / "bench.jsonl"
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    labelled.write_text(
        "".join(json.dumps(r) + "\n" for r in records if "messages" in r),
    )
    runs = [
        ["judge", SAMPLE, "-o", tmp_path / "results.jsonl"],
        [
            "label",
            SAMPLE,
            "-p",
            "rules",
            "-p",
            "rules",
            "-o",
            tmp_path / "labelled.jsonl",
            "--review",
            tmp_path / "review.jsonl",
        ],
        ["sft", "build", tmp_path / "labelled.jsonl", "--out", tmp_path / "sft"],
        ["sft", "validate", tmp_path / "sft" / "train.jsonl"],
        [
            "bench",
            labelled,
            "--model",
            "rules",
            "--label-field",
            "expected_perceived_error",
            "--report",
            tmp_path / "report",
            "--cache",
            tmp_path / "cache",
        ],
        ["cost", "--traces-per-day", "1000", "--sample", SAMPLE],
        ["attach", "--project", "p", "--dry-run"],
    ]
    for args in runs:
        code, printed = invoke(args, env)
        assert code == 0, (args, printed)
        assert_no_secret(printed, " ".join(map(str, args[:2])))
    assert_no_secret_in_files(tmp_path)


def test_langsmith_commands(env, tmp_path, langsmith_server: LocalLangSmith):
    results = tmp_path / "results.jsonl"
    results.write_text(
        json.dumps(
            {
                "id": "00000000-0000-4000-8000-000000000001",
                "status": "judged",
                "perceived_error": True,
            }
        )
        + "\n"
    )
    invoke(["label", SAMPLE, "-p", "rules", "-p", "rules", "-o", tmp_path / "labelled.jsonl"], env)
    runs = [
        ["queue", "--queue", "q", "--results", results],
        ["dataset", "push", tmp_path / "labelled.jsonl", "--name", "secrets-test"],
        ["watch", "--project", "nobody", "--once", "--state", tmp_path / "state.json"],
    ]
    for args in runs:
        _, printed = invoke(args, env)
        assert_no_secret(printed, " ".join(map(str, args[:2])))
    assert_no_secret_in_files(tmp_path)
