"""Annotation queues: created once with the rubric, items pushed in chunks, idempotently."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Verdict
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import write_feedback, write_thread_feedback
from langchain_perceived_error.online.queues import (
    QUEUE_DESCRIPTION,
    RUBRIC_INSTRUCTIONS,
    QueueError,
    RunItem,
    ThreadItem,
    ensure_queue,
    flagged_items,
    push_items,
)
from langchain_perceived_error.online.threads import judge_thread
from tests.fixtures.agent_app import CapturedThread
from tests.servers.langsmith_capture import LocalLangSmith

ITEMS_PATH = "/api/v1/platform/annotation-queues/"


def _run_items(count: int) -> list[RunItem]:
    return [RunItem(run_id=str(uuid.uuid4())) for _ in range(count)]


def _add_requests(server: LocalLangSmith) -> int:
    return sum(1 for r in server.requests if r.method == "POST" and r.path.startswith(ITEMS_PATH))


def test_ensure_queue_creates_the_queue_once_with_the_rubric(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    queue_id = ensure_queue(langsmith_clients, "perceived-errors")
    assert ensure_queue(langsmith_clients, "perceived-errors") == queue_id
    (queue,) = langsmith_server.queues
    assert queue["id"] == queue_id
    assert queue["description"] == QUEUE_DESCRIPTION
    assert queue["rubric_instructions"] == RUBRIC_INSTRUCTIONS
    (item,) = queue["rubric_items"]
    assert item["feedback_key"] == "perceived_error"
    assert set(item["value_descriptions"]) == {"0", "1"}
    assert langsmith_server.count_requests("POST", "/feedback-configs") == 1
    assert langsmith_server.count_requests("POST", "/annotation-queues") == 1


def test_an_existing_feedback_config_is_kept(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    langsmith_clients.client.create_feedback_config(
        "perceived_error", feedback_config={"type": "categorical", "categories": []}
    )
    ensure_queue(langsmith_clients, "q")  # the 400 for a different config is tolerated
    assert len(langsmith_server.queues) == 1


def test_push_250_items_in_three_requests_then_nothing(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    queue_id = ensure_queue(langsmith_clients, "q")
    items = _run_items(250)
    report = push_items(langsmith_clients, queue_id, items)
    assert (report.added, report.requests, report.already_queued) == (250, 3, 0)
    assert len(report.added_ids) == 250
    assert _add_requests(langsmith_server) == 3
    assert [i["run_id"] for i in langsmith_server.queue_items(queue_id)] == [
        i.run_id for i in items
    ]

    again = push_items(langsmith_clients, queue_id, items)
    assert (again.added, again.requests, again.already_queued) == (0, 0, 250)
    assert _add_requests(langsmith_server) == 3
    assert len(langsmith_server.queue_items(queue_id)) == 250


def test_run_and_thread_items_duplicates_and_partial_overlap(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    queue_id = ensure_queue(langsmith_clients, "q")
    project_id = str(uuid.uuid4())
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    run = RunItem(run_id=str(uuid.uuid4()), session_id=project_id, start_time=start)
    thread = ThreadItem(thread_id="thread-1", project_id=project_id)
    first = push_items(langsmith_clients, queue_id, [run, thread, thread])
    assert (first.requested, first.duplicates, first.added) == (3, 1, 2)
    stored_run, stored_thread = langsmith_server.queue_items(queue_id)
    assert stored_run["item_type"] == "RUN"
    assert stored_run["project_id"] == project_id
    assert datetime.fromisoformat(stored_run["start_time"]) == start
    assert (stored_thread["item_type"], stored_thread["thread_id"]) == ("THREAD", "thread-1")
    assert stored_thread["project_id"] == project_id

    other_thread = ThreadItem(thread_id="thread-1", project_id=str(uuid.uuid4()))
    second = push_items(langsmith_clients, queue_id, [thread, other_thread])
    assert (second.already_queued, second.added) == (1, 1)


def test_pushes_are_retried_on_429_and_503(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    queue_id = ensure_queue(langsmith_clients, "q")
    langsmith_server.fail_next(1, status=429, path="/items")
    langsmith_server.fail_next(1, status=503, path="/items")
    report = push_items(langsmith_clients, queue_id, _run_items(3))
    assert report.added == 3
    assert len(langsmith_server.queue_items(queue_id)) == 3


def test_push_errors_and_bad_chunk_sizes(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    with pytest.raises(ValueError, match="chunk_size"):
        push_items(langsmith_clients, "q", [], chunk_size=101)
    missing = str(uuid.uuid4())
    with pytest.raises(QueueError, match=missing):
        push_items(langsmith_clients, missing, _run_items(1))


def _flag_run(clients: LangSmithClients, run: dict, project_id: str, flagged: bool) -> None:
    verdict = Verdict(perceived_error=flagged, reason="r")
    result = JudgeResult(status=JudgeStatus.JUDGED, verdict=verdict, model="rules")
    write_feedback(
        clients,
        result=result,
        run_id=run["id"],
        trace_id=run["id"],
        session_id=project_id,
        start_time=None,
    )


def test_flagged_items_reads_a_projects_flagged_threads_and_runs(
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
    client = langsmith_clients.client
    lone, unflagged = str(uuid.uuid4()), str(uuid.uuid4())
    for run_id in (lone, unflagged):
        client.create_run(
            "chat", {"input": "x"}, "chain", id=run_id, project_name=traced_thread.project_name
        )
    _flag_run(langsmith_clients, {"id": lone}, project_id, flagged=True)
    _flag_run(langsmith_clients, {"id": unflagged}, project_id, flagged=False)
    since = datetime.now(timezone.utc) - timedelta(days=1)

    items = list(flagged_items(langsmith_clients, project_id=project_id, since=since))
    assert ThreadItem(thread_id=traced_thread.thread_id, project_id=project_id) in items
    assert [i.run_id for i in items if isinstance(i, RunItem)] == [lone]
    assert len(items) == 2

    runs_only = list(
        flagged_items(langsmith_clients, project_id=project_id, since=since, item_type="run")
    )
    assert {i.run_id for i in runs_only if isinstance(i, RunItem)} == {
        lone,
        judgement.last_trace_id,
    }
    threads_only = list(
        flagged_items(langsmith_clients, project_id=project_id, since=since, item_type="thread")
    )
    assert threads_only == [ThreadItem(thread_id=traced_thread.thread_id, project_id=project_id)]


def test_cookbook_04_runs_offline_against_the_in_memory_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    for name in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "PERCEIVED_ERROR_MODEL"):
        monkeypatch.delenv(name, raising=False)
    path = Path(__file__).resolve().parents[2] / "cookbook" / "04_annotation_queue.py"
    spec = importlib.util.spec_from_file_location("cookbook_04", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary = module.main()
    assert (summary["flagged"], summary["added"], summary["again"].added) == (1, 1, 0)
    out = capsys.readouterr().out
    assert "in-memory LangSmith server" in out
    assert "added 1 thread(s); pushing again added 0" in out
