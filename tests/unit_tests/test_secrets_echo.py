"""Issue 12: every command that talks to LangSmith or Fireworks, against a server whose error body
echoes the request headers (the key included), with sentinel keys in the environment and on the
command line: no sentinel reaches stdout, stderr or any file written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from werkzeug import Request, Response

from langchain_perceived_error.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cookbook" / "data" / "sample_traces.jsonl"
LANGSMITH_KEY = "lsv2_pt_SENTINELenv0123456789abcdef_0a1b2c3d4e"
FLAG_KEY = "lsv2_pt_SENTINELflag0123456789abcdef_0a1b2c3d4e"
FIREWORKS_KEY = "fw_SENTINELfireworks0123456789abcdef"
SENTINEL = "SENTINEL"
FIREWORKS_MODEL = "fireworks:accounts/fireworks/models/qwen3p5-35b-a3b"


def _echo(request: Request) -> Response:
    """401 with every request header in the body, as some gateways answer."""
    headers = {name: value for name, value in request.headers.items()}
    body = {"detail": f"unauthorized: {headers}", "error": {"message": f"bad key {headers}"}}
    return Response(json.dumps(body), status=401, content_type="application/json")


@pytest.fixture
def echo(httpserver, monkeypatch, tmp_path):
    """The echoing server for LangSmith and Fireworks; sentinel keys in the environment."""
    httpserver.expect_request("").respond_with_handler(_echo)
    url = httpserver.url_for("").rstrip("/")
    for name, value in {
        "LANGSMITH_API_KEY": LANGSMITH_KEY,
        "LANGSMITH_ENDPOINT": url,
        "FIREWORKS_API_KEY": FIREWORKS_KEY,
        "FIREWORKS_BASE_URL": url,
        "FIREWORKS_API_BASE": f"{url}/inference",
        "FIREWORKS_ACCOUNT_ID": "acct",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("LANGCHAIN_API_KEY", "LANGCHAIN_ENDPOINT", "LANGSMITH_WORKSPACE_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    made = CliRunner().invoke(
        app, ["label", str(SAMPLE), "-p", "rules", "-p", "rules", "-o", "labelled.jsonl"]
    )
    assert made.exit_code == 0, made.output
    built = CliRunner().invoke(app, ["sft", "build", "labelled.jsonl", "--out", "sft"])
    assert built.exit_code == 0, built.output
    flagged = {"id": "00000000-0000-4000-8000-000000000001", "status": "judged",
               "perceived_error": True}  # fmt: skip
    (tmp_path / "results.jsonl").write_text(json.dumps(flagged) + "\n")
    return tmp_path


LANGSMITH = [
    ["queue", "--queue", "q", "--results", "results.jsonl"],
    ["queue", "--queue", "q", "--project", "p"],
    ["watch", "--project", "p", "--once", "--state", "state.json"],
    ["attach", "--project", "p"],
    ["dataset", "push", "labelled.jsonl", "--name", "d"],
    ["label", "--import-project", "p", "-o", "out.jsonl"],
]
FIREWORKS = [
    ["judge", str(SAMPLE), "-m", FIREWORKS_MODEL, "-o", "judged.jsonl", "--max-attempts", "1"],
    ["label", str(SAMPLE), "-p", FIREWORKS_MODEL, "-p", "rules", "-o", "labelled-fw.jsonl"],
    ["bench", str(SAMPLE), "-m", FIREWORKS_MODEL, "--label-field", "expected_perceived_error",
     "--report", "report"],
    ["sft", "upload", "sft", "--dataset-id", "d"],
    ["sft", "train", "--dataset-id", "d", "--output-model", "m"],
    ["sft", "status", "job-1"],
    ["batch", "submit", str(SAMPLE), "-m", FIREWORKS_MODEL, "--work-dir", "batch"],
    ["batch", "collect", "job-1", "-o", "collected.jsonl"],
]  # fmt: skip


def _assert_clean(echo: Path, printed: str, args: list[str]) -> None:
    assert SENTINEL not in printed, f"a key leaked from {' '.join(args[:2])}: {printed}"
    for path in echo.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            assert SENTINEL not in text, f"a key leaked into {path} from {' '.join(args[:2])}"


@pytest.mark.parametrize("args", LANGSMITH, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("flag", [False, True], ids=["env-key", "api-key-flag"])
def test_langsmith_commands_print_no_key(echo, args, flag):
    extra = ["--api-key", FLAG_KEY] if flag else []
    result = CliRunner().invoke(app, [*args, *extra])
    printed = result.stdout + result.stderr
    assert result.exit_code != 0, printed  # the server refused every request
    assert "Traceback" not in printed
    assert "[redacted]" in printed  # the echo was printed, with the key taken out
    _assert_clean(echo, printed, args)


@pytest.mark.parametrize("args", FIREWORKS, ids=lambda a: " ".join(a[:2]))
def test_fireworks_commands_print_no_key(echo, args):
    result = CliRunner().invoke(app, args)
    printed = result.stdout + result.stderr
    assert "Traceback" not in printed
    assert "[redacted]" in printed or "401" in printed  # the echoing server was reached
    _assert_clean(echo, printed, args)
