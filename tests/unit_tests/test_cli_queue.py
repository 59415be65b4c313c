"""`perceived-error queue` end to end: real clients, the local LangSmith server, Typer's runner."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Verdict
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import write_feedback, write_thread_feedback
from langchain_perceived_error.online.queues import ThreadItem, flagged_entries
from langchain_perceived_error.online.threads import judge_thread
from tests.fixtures.agent_app import CapturedThread
from tests.fixtures.conversation_runs import post_conversation_runs
from tests.servers.langsmith_capture import LocalLangSmith

SECRET = "lsv2-test-secret-key"
_ENV_NAMES = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_WORKSPACE_ID",
    "LANGSMITH_TENANT_ID",
)


def _invoke(server: LocalLangSmith | None, *args: str, key: str | None = SECRET):
    env: dict[str, str | None] = dict.fromkeys(_ENV_NAMES)
    env["LANGSMITH_API_KEY"] = key
    if server is not None:
        env["LANGSMITH_ENDPOINT"] = server.url
    return CliRunner().invoke(app, ["queue", *args], env=env)


def _results(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "not json\n\n")
    return path


def _line(record_id: str, flagged: bool | None, **extra) -> dict:
    status = "judged" if flagged is not None else "skipped"
    return {"id": record_id, "status": status, "perceived_error": flagged, **extra}


def _queue_id(server: LocalLangSmith) -> str:
    (queue,) = server.queues
    return str(queue["id"])


def test_queue_from_a_results_file_then_again(langsmith_server: LocalLangSmith, tmp_path: Path):
    run_a, run_b, project = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    results = _results(
        tmp_path / "results.jsonl",
        [
            _line(run_a, True),
            _line(str(uuid.uuid4()), False),
            _line(run_b, True, session_id=project, start_time="2025-01-01T00:00:00+00:00"),
            _line("cookbook/data/sample_traces.jsonl:7", True),
            _line("t-1", True, thread_id="t-1", project_id=project),
            _line(str(uuid.uuid4()), None),
        ],
    )
    first = _invoke(langsmith_server, "--queue", "review", "--results", str(results))
    assert first.exit_code == 0, first.output
    assert "created" in first.stdout
    assert "flagged: 4" in first.stdout
    assert "skipped (id is not a run UUID): 1 (cookbook/data/sample_traces.jsonl:7)" in (
        first.stdout
    )
    assert "skipped (unreadable lines): 1" in first.stdout
    assert "added: 3 in 1 request(s)" in first.stdout
    assert SECRET not in first.output
    items = langsmith_server.queue_items(_queue_id(langsmith_server))
    assert [(i["item_type"], i["run_id"], i["thread_id"]) for i in items] == [
        ("RUN", run_a, None),
        ("RUN", run_b, None),
        ("THREAD", None, "t-1"),
    ]
    assert items[1]["project_id"] == project

    second = _invoke(langsmith_server, "--queue", "review", "--results", str(results))
    assert second.exit_code == 0, second.output
    assert "existing" in second.stdout
    assert "already in the queue: 3" in second.stdout
    assert "added: 0 in 0 request(s)" in second.stdout
    assert len(langsmith_server.queue_items(_queue_id(langsmith_server))) == 3
    assert len(langsmith_server.queues) == 1


def test_queue_sends_at_most_100_items_a_request(langsmith_server: LocalLangSmith, tmp_path: Path):
    results = _results(tmp_path / "r.jsonl", [_line(str(uuid.uuid4()), True) for _ in range(250)])
    answer = _invoke(langsmith_server, "--queue", "q", "--results", str(results))
    assert answer.exit_code == 0, answer.output
    assert "added: 250 in 3 request(s)" in answer.stdout
    assert len(langsmith_server.queue_items(_queue_id(langsmith_server))) == 250


def test_queue_from_a_project_pushes_its_flagged_thread(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    project_id = langsmith_server.project_id(traced_thread.project_name)
    judgement = judge_thread(
        PerceivedErrorJudge("rules"),
        langsmith_clients,
        project_id=project_id,
        thread_id=traced_thread.thread_id,
    )
    write_thread_feedback(langsmith_clients, judgement)
    args = ("--queue", "review", "--project", traced_thread.project_name)
    first = _invoke(langsmith_server, *args)
    assert first.exit_code == 0, first.output
    assert "added: 1 in 1 request(s)" in first.stdout
    (item,) = langsmith_server.queue_items(_queue_id(langsmith_server))
    assert (item["item_type"], item["thread_id"], item["project_id"]) == (
        "THREAD",
        traced_thread.thread_id,
        project_id,
    )
    second = _invoke(langsmith_server, *args)
    assert "added: 0 in 0 request(s)" in second.stdout

    runs = _invoke(langsmith_server, "--queue", "runs", *args[2:], "--item-type", "run")
    assert runs.exit_code == 0, runs.output
    runs_queue = next(q for q in langsmith_server.queues if q["name"] == "runs")
    (run_item,) = langsmith_server.queue_items(runs_queue["id"])
    assert run_item["run_id"] == judgement.last_trace_id


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        (("--queue", "q"), SECRET, "exactly one of"),
        (("--queue", "q", "--project", "p", "--results", "README.md"), SECRET, "exactly one"),
        (("--queue", "q", "--project", "p", "--item-type", "x"), SECRET, "--item-type"),
        (("--queue", "q", "--project", "p"), None, "LANGSMITH_API_KEY"),
    ],
)
def test_usage_errors_exit_2(langsmith_server: LocalLangSmith, args, key, message):
    answer = _invoke(langsmith_server, *args, key=key)
    assert answer.exit_code == 2
    assert message in answer.stderr


def test_an_unknown_project_exits_1(langsmith_server: LocalLangSmith):
    answer = _invoke(langsmith_server, "--queue", "q", "--project", "missing")
    assert answer.exit_code == 1
    assert "missing" in answer.stderr
    assert langsmith_server.queues == []


def test_help_never_shows_the_key():
    answer = _invoke(None, "--help")
    assert answer.exit_code == 0
    assert "--api-key" in answer.stdout
    assert SECRET not in answer.output


def _writes(server: LocalLangSmith) -> list[str]:
    """Requests that change the server (reads that POST a query do not count)."""
    return [
        f"{r.method} {r.path}"
        for r in server.requests
        if r.method in ("POST", "PATCH", "PUT", "DELETE") and "query" not in r.path
    ]


def test_queue_dry_run_counts_and_writes_nothing(langsmith_server: LocalLangSmith, tmp_path: Path):
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    results = _results(tmp_path / "results.jsonl", [_line(run_a, True), _line(run_b, True)])
    missing = _invoke(langsmith_server, "--queue", "review", "--results", str(results), "--dry-run")
    assert missing.exit_code == 0, missing.output
    assert "queue 'review' does not exist: it would be created" in missing.stdout
    assert "2 item(s) would be added; nothing was sent" in missing.stdout
    assert langsmith_server.queues == []
    assert _writes(langsmith_server) == []
    # with the queue there and one item in it, only the other one would be added
    assert _invoke(langsmith_server, "--queue", "review", "--results", str(results)).exit_code == 0
    first_added = _writes(langsmith_server)
    results_3 = _results(
        tmp_path / "more.jsonl", [_line(run_a, True), _line(str(uuid.uuid4()), True)]
    )
    again = _invoke(langsmith_server, "--queue", "review", "--results", str(results_3), "--dry-run")
    assert again.exit_code == 0, again.output
    assert "already there 1" in again.stdout
    assert "dry run: 1 item(s) would be added in 1 request(s); nothing was sent" in again.stdout
    assert _writes(langsmith_server) == first_added
    assert len(langsmith_server.queue_items(_queue_id(langsmith_server))) == 2


def test_queue_uncertain_first_and_min_confidence(langsmith_server: LocalLangSmith, tmp_path: Path):
    ids = {name: str(uuid.uuid4()) for name in ("sure", "even", "none", "low", "near", "bad")}
    results = _results(
        tmp_path / "results.jsonl",
        [
            _line(ids["sure"], True, confidence=0.97),
            _line(ids["none"], True),
            _line(ids["even"], True, confidence=0.52),
            _line(ids["low"], True, confidence=0.3),
            _line(ids["near"], True, confidence=0.7),
            _line(ids["bad"], True, confidence="high"),
            _line(str(uuid.uuid4()), False, confidence=0.5),  # not flagged: never queued
        ],
    )
    answer = _invoke(
        langsmith_server,
        "--queue",
        "review",
        "--results",
        str(results),
        "--order",
        "uncertain-first",
        "--min-confidence",
        "0.5",
    )
    assert answer.exit_code == 0, answer.output
    assert "below --min-confidence 0.5: 1 (not pushed)" in answer.stdout
    assert "without a confidence: 2 (kept, pushed last)" in answer.stdout
    assert f"confidence not a number from 0 to 1 (kept, as without one): 1 ({ids['bad']})" in (
        answer.stdout
    )
    items = langsmith_server.queue_items(_queue_id(langsmith_server))
    assert [i["run_id"] for i in items] == [
        ids["even"],
        ids["near"],
        ids["sure"],
        ids["none"],
        ids["bad"],
    ]


def test_queue_default_order_is_the_order_found(langsmith_server: LocalLangSmith, tmp_path: Path):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    results = _results(
        tmp_path / "r.jsonl",
        [_line(first, True, confidence=0.99), _line(second, True, confidence=0.5)],
    )
    answer = _invoke(langsmith_server, "--queue", "q", "--results", str(results))
    assert answer.exit_code == 0, answer.output
    assert "below --min-confidence" not in answer.stdout
    items = langsmith_server.queue_items(_queue_id(langsmith_server))
    assert [i["run_id"] for i in items] == [first, second]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--results", "{results}", "--order", "sideways"], "--order must be one of found"),
        (["--results", "{results}", "--min-confidence", "1.5"], "--min-confidence"),
    ],
)
def test_confidence_options_misuse_exits_2(
    langsmith_server: LocalLangSmith, tmp_path: Path, args: list[str], message: str
):
    results = _results(tmp_path / "r.jsonl", [_line(str(uuid.uuid4()), True, confidence=0.6)])
    argv = [a.replace("{results}", str(results)) for a in args]
    answer = _invoke(langsmith_server, "--queue", "q", *argv)
    assert answer.exit_code == 2, answer.output
    assert message in answer.output
    assert langsmith_server.queues == []


def _flag(clients: LangSmithClients, project_id: str, run, confidence: float | None) -> None:
    result = JudgeResult(
        status=JudgeStatus.JUDGED,
        verdict=Verdict(perceived_error=True, reason="The user corrects the assistant."),
        confidence=confidence,
    )
    write_feedback(
        clients,
        result=result,
        run_id=run.run_id,
        trace_id=run.run_id,
        session_id=project_id,
        start_time=run.start_time,
    )


def test_a_thread_flagged_twice_is_one_entry_with_its_newest_confidence(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    older, newer = post_conversation_runs(langsmith_server, "twice", 2, thread_ids=["t", "t"])
    project_id = langsmith_server.project_id("twice")
    _flag(langsmith_clients, project_id, older, 0.9)
    _flag(langsmith_clients, project_id, newer, 0.6)
    since = datetime.now(timezone.utc) - timedelta(days=1)
    entries = flagged_entries(langsmith_clients, project_id=project_id, since=since)
    assert entries == [(ThreadItem(thread_id="t", project_id=project_id), 0.6)]


def test_queue_from_a_project_ranks_by_the_feedback_confidence(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    runs = post_conversation_runs(langsmith_server, "ranked", 5)
    project_id = langsmith_server.project_id("ranked")
    confidences = [0.95, 0.55, 0.3, None, 0.7]
    for run, confidence in zip(runs, confidences, strict=True):
        _flag(langsmith_clients, project_id, run, confidence)
    args = ("--queue", "review", "--project", "ranked", "--item-type", "run")
    answer = _invoke(
        langsmith_server, *args, "--order", "uncertain-first", "--min-confidence", "0.5"
    )
    assert answer.exit_code == 0, answer.output
    assert "below --min-confidence 0.5: 1 (not pushed)" in answer.stdout
    assert "without a confidence: 1 (kept, pushed last)" in answer.stdout
    items = langsmith_server.queue_items(_queue_id(langsmith_server))
    ids = [run.run_id for run in runs]
    assert [i["run_id"] for i in items] == [ids[1], ids[4], ids[0], ids[3]]
