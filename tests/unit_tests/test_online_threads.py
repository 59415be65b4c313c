"""Threads: read a REAL traced LangGraph thread back through the generated API, judge it, and
write feedback on its last trace."""

from __future__ import annotations

from datetime import datetime

import pytest

from langchain_perceived_error.core.prompts import PROMPT_VERSION
from langchain_perceived_error.core.schemas import JudgeStatus
from langchain_perceived_error.core.transcript import extract_thread
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online import threads as threads_module
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import (
    FeedbackAction,
    feedback_id,
    write_thread_feedback,
)
from langchain_perceived_error.online.threads import (
    ThreadNotFoundError,
    ThreadReadError,
    ajudge_thread,
    judge_thread,
    read_thread,
)
from tests.fixtures.agent_app import USER_TURNS, CapturedThread
from tests.servers.langsmith_capture import LocalLangSmith


@pytest.fixture
def project_id(langsmith_server: LocalLangSmith, traced_thread: CapturedThread) -> str:
    return langsmith_server.project_id(traced_thread.project_name)


def test_read_thread_returns_the_traces_as_runs_in_order(
    langsmith_clients: LangSmithClients, traced_thread: CapturedThread, project_id: str
):
    traces = read_thread(
        langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id
    )
    roots = traced_thread.root_runs
    assert [t["trace_id"] for t in traces] == [run["id"] for run in roots]
    assert [t["inputs"] for t in traces] == [run["inputs"] for run in roots]
    assert [t["outputs"] for t in traces] == [run["outputs"] for run in roots]
    assert all(isinstance(t["start_time"], datetime) for t in traces)
    assert [t["turn_number"] for t in traces] == [1, 2, 3]


def test_read_thread_reads_every_page(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
    project_id: str,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(threads_module, "_PAGE_SIZE", 1)
    traces = read_thread(
        langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id
    )
    assert len(traces) == 3
    assert langsmith_server.count_requests("GET", "/api/v2/threads/") == 3


def test_the_thread_transcript_is_deduplicated_across_traces(
    langsmith_clients: LangSmithClients, traced_thread: CapturedThread, project_id: str
):
    traces = read_thread(
        langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id
    )
    turns = extract_thread(traces)
    assert turns == extract_thread(traced_thread.root_runs)
    assert [t.text for t in turns if t.role == "human"] == list(USER_TURNS)
    assert [t.role for t in turns] == ["human", "ai"] * 3


def test_judge_thread_and_write_feedback_on_the_last_trace(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
    project_id: str,
):
    judgement = judge_thread(
        PerceivedErrorJudge("rules"),
        langsmith_clients,
        project_id=project_id,
        thread_id=traced_thread.thread_id,
    )
    last = traced_thread.root_runs[-1]
    assert judgement.result.status is JudgeStatus.JUDGED
    assert judgement.result.perceived_error is True  # "No, I asked about Paris, not London."
    assert judgement.result.id == traced_thread.thread_id
    assert judgement.last_trace_id == last["id"]
    assert judgement.last_start_time is not None
    assert judgement.last_start_time.isoformat().startswith(last["start_time"][:19])
    assert judgement.trace_count == 3

    written = write_thread_feedback(langsmith_clients, judgement)
    assert written.action is FeedbackAction.SCORED
    (feedback,) = langsmith_server.feedback
    assert feedback["id"] == str(feedback_id(last["id"]))
    assert feedback["run_id"] == feedback["trace_id"] == last["id"]
    assert feedback["session_id"] == project_id
    assert feedback["start_time"] is not None
    assert feedback["key"] == "perceived_error"
    assert feedback["score"] == 1
    # issue 16: the comment points the reviewer to the user turn the verdict rests on
    assert judgement.result.evidence_turn == 2
    assert feedback["comment"] == f"{judgement.result.reason} (evidence: turn 3 of 6)"
    assert feedback["value"] == judgement.result.confidence
    assert feedback["extra"]["evidence_turn"] == 2
    assert feedback["feedback_source"]["type"] == "model"
    assert feedback["feedback_source"]["metadata"]["prompt_version"] == PROMPT_VERSION
    assert feedback["extra"]["status"] == "judged"


async def test_ajudge_thread_matches_judge_thread(
    langsmith_clients: LangSmithClients, traced_thread: CapturedThread, project_id: str
):
    judge = PerceivedErrorJudge("rules")
    sync = judge_thread(
        judge, langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id
    )
    async_ = await ajudge_thread(
        judge, langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id
    )
    assert async_.result.verdict == sync.result.verdict
    assert async_.result.turns == sync.result.turns
    assert async_.last_trace_id == sync.last_trace_id


def test_a_thread_without_traces_is_not_found(
    langsmith_clients: LangSmithClients, traced_thread: CapturedThread, project_id: str
):
    with pytest.raises(ThreadNotFoundError, match="no-such-thread"):
        judge_thread(
            PerceivedErrorJudge("rules"),
            langsmith_clients,
            project_id=project_id,
            thread_id="no-such-thread",
        )


def test_read_errors_carry_context(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, traced_thread
):
    with pytest.raises(ThreadReadError, match=traced_thread.thread_id):
        read_thread(langsmith_clients, project_id="", thread_id=traced_thread.thread_id)
    # an empty project id breaks the contract on purpose (the required project_id is missing)
    assert [m.spec_path for m in langsmith_server.take_mismatches()] == [
        "/v2/threads/{thread_id}/traces"
    ]


def test_read_thread_is_retried_on_429(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
    project_id: str,
):
    langsmith_server.fail_next(2, status=429, path="/api/v2/threads/")
    traces = read_thread(
        langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id
    )
    assert len(traces) == 3
    statuses = [r.status for r in langsmith_server.requests if "/api/v2/threads/" in r.path]
    assert statuses == [429, 429, 200]
