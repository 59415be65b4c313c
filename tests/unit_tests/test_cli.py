"""`perceived-error judge` end to end, in a subprocess like a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cookbook" / "data" / "sample_traces.jsonl"
FIELDS = [
    "id",
    "status",
    "perceived_error",
    "reason",
    "model",
    "attempts",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "latency_s",
    "error",
    "budget_cut",
    "redactions",
    "confidence",
    "evidence_turn",
]


def run_cli(*args, stdin=None, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("PERCEIVED_ERROR_MODEL", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "langchain_perceived_error", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def read_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sample_records():
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def test_judge_on_the_bundled_sample_with_no_keys(tmp_path):
    out = tmp_path / "results.jsonl"
    proc = run_cli("judge", SAMPLE, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert (
        "FIREWORKS_API_KEY is not set" in proc.stderr
    )  # the default fell back to rules, and said so
    assert proc.stderr.count("FIREWORKS_API_KEY is not set") == 1
    lines = read_lines(out.read_text())
    records = sample_records()
    assert [line["id"] for line in lines] == [r["id"] for r in records]  # input order, ids carried
    assert all(list(line) == FIELDS for line in lines)
    assert {line["model"] for line in lines} == {"rules"}
    for record, line in zip(records, lines, strict=True):
        if record["expected_perceived_error"] is None:
            assert line["status"] == "skipped", record["id"]
            assert line["perceived_error"] is None
        else:
            assert line["status"] == "judged", (record["id"], line["error"])
            assert isinstance(line["perceived_error"], bool)
            assert line["reason"]
    # the summary table is printed at the end
    assert "records" in proc.stderr
    assert "judged" in proc.stderr
    assert "skipped" in proc.stderr
    assert "estimated cost" in proc.stderr


def test_stdin_and_stdout_with_bad_lines_in_order():
    good = json.dumps(
        {"id": "a", "messages": [["user", "hi"], ["assistant", "hello"], ["user", "no, wrong"]]}
    )
    stdin = "\n".join(
        [good, "{not json", json.dumps({"weird": True}), json.dumps([["user", "hi"]])]
    )
    proc = run_cli("judge", "-", "--model", "rules", stdin=stdin + "\n")
    assert proc.returncode == 0, proc.stderr
    lines = read_lines(proc.stdout)
    assert [line["id"] for line in lines] == ["a", "stdin:2", "stdin:3", "stdin:4"]
    assert [line["status"] for line in lines] == ["judged", "failed", "failed", "skipped"]
    assert "stdin:2: not valid JSON" in lines[1]["error"]
    assert "weird" in lines[2]["error"]


def test_json_file_is_one_record(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps([["user", "hi"], ["assistant", "hello"], ["user", "that's wrong"]]))
    proc = run_cli("judge", path, "--model", "rules")
    assert proc.returncode == 0, proc.stderr
    (line,) = read_lines(proc.stdout)
    assert line["id"] == "one.json"
    assert line["status"] == "judged"


def test_a_missing_input_stops_the_run_before_anything_is_judged(tmp_path):
    # issue 10: `judge good.jsonl missing.jsonl` used to judge the good file and exit 0
    missing = run_cli("judge", tmp_path / "missing.jsonl", "--model", "rules")
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
    partly = run_cli("judge", SAMPLE, tmp_path / "missing.jsonl", "--model", "rules")
    assert partly.returncode == 1
    assert partly.stdout == ""
    assert f"cannot read {tmp_path / 'missing.jsonl'}: no such file" in partly.stderr


def test_bad_model_spec_is_a_clear_error():
    proc = run_cli("judge", SAMPLE, "--model", "nonsense")
    assert proc.returncode == 2
    assert "unknown model spec 'nonsense'" in proc.stderr


@pytest.mark.parametrize("flag", ["--include-tools", "--max-attempts=1", "--concurrency=1"])
def test_options_are_accepted(flag, tmp_path):
    proc = run_cli("judge", SAMPLE, "--model", "rules", flag)
    assert proc.returncode == 0, proc.stderr
    assert len(read_lines(proc.stdout)) == len(sample_records())
