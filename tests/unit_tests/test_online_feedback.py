"""Feedback writing: deterministic ids, what each status writes, retries; and the clients."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from langchain_perceived_error.core.prompts import PROMPT_VERSION
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Verdict
from langchain_perceived_error.online.clients import (
    LangSmithClients,
    LangSmithConfigError,
    ProjectNotFoundError,
    resolve_project,
)
from langchain_perceived_error.online.feedback import (
    FeedbackAction,
    FeedbackWriteError,
    feedback_fields,
    feedback_id,
    write_feedback,
)
from tests.servers.langsmith_capture import LocalLangSmith

RUN_ID = "0196f0e4-0000-7000-8000-0000000000aa"
SESSION_ID = "0196f0e4-0000-7000-8000-0000000000bb"
START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

JUDGED = JudgeResult(
    id=RUN_ID,
    status=JudgeStatus.JUDGED,
    verdict=Verdict(perceived_error=True, reason="The user corrects the city."),
    model="rules",
    attempts=1,
    input_tokens=120,
    output_tokens=20,
)
NOT_FLAGGED = JUDGED.model_copy(
    update={"verdict": Verdict(perceived_error=False, reason="A genuine follow-up.")}
)
FAILED = JudgeResult(
    id=RUN_ID, status=JudgeStatus.FAILED, error="ValueError: no JSON", model="rules", attempts=3
)
SKIPPED = JudgeResult(id=RUN_ID, status=JudgeStatus.SKIPPED, skip_reason="single turn")


def _write(clients: LangSmithClients, result: JudgeResult, **options):
    return write_feedback(
        clients,
        result=result,
        run_id=RUN_ID,
        trace_id=RUN_ID,
        session_id=SESSION_ID,
        start_time=START,
        **options,
    )


def test_feedback_ids_are_deterministic_per_target_key_and_prompt_version():
    assert feedback_id(RUN_ID) == feedback_id(uuid.UUID(RUN_ID))
    assert feedback_id(RUN_ID) == uuid.uuid5(
        uuid.UUID("5b0c8a52-4a4f-5d0e-9a43-7e1f4c9e2d10"),
        f"perceived_error\n{RUN_ID}\n{PROMPT_VERSION}",
    )
    assert feedback_id(RUN_ID) != feedback_id(RUN_ID, "other_key")
    assert feedback_id(RUN_ID) != feedback_id(SESSION_ID)


def test_judged_results_are_scored_with_session_start_time_and_trace(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    written = _write(langsmith_clients, JUDGED)
    assert written.action is FeedbackAction.SCORED
    assert written.score == 1
    (feedback,) = langsmith_server.feedback
    assert feedback["id"] == str(written.feedback_id) == str(feedback_id(RUN_ID))
    assert (feedback["run_id"], feedback["trace_id"]) == (RUN_ID, RUN_ID)
    assert feedback["session_id"] == SESSION_ID
    assert datetime.fromisoformat(feedback["start_time"]) == START
    assert feedback["score"] == 1
    assert feedback["comment"] == "The user corrects the city."
    assert feedback["feedback_source"] == {
        "type": "model",
        "metadata": {"model": "rules", "prompt_version": PROMPT_VERSION},
    }
    assert feedback["extra"] == {
        "status": "judged",
        "model": "rules",
        "prompt_version": PROMPT_VERSION,
        "attempts": 1,
        "input_tokens": 120,
        "output_tokens": 20,
    }
    assert "error" not in feedback


def test_writing_twice_leaves_one_feedback(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    _write(langsmith_clients, JUDGED)
    _write(langsmith_clients, NOT_FLAGGED)
    (feedback,) = langsmith_server.feedback
    assert feedback["score"] == 0
    # looked up twice (GET), created once (POST), updated once (PATCH)
    assert langsmith_server.count_requests("GET", "/feedback/") == 2
    assert langsmith_server.count_requests("POST", "/feedback") == 1
    assert langsmith_server.count_requests("PATCH", "/feedback/") == 1


def test_a_custom_key_gets_its_own_feedback(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    _write(langsmith_clients, JUDGED)
    _write(langsmith_clients, JUDGED, key="perceived_error_v2")
    assert sorted(f["key"] for f in langsmith_server.feedback) == [
        "perceived_error",
        "perceived_error_v2",
    ]


def test_failed_results_get_an_error_feedback_without_a_score(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    written = _write(langsmith_clients, FAILED)
    assert written.action is FeedbackAction.ERROR
    assert written.score is None
    (feedback,) = langsmith_server.feedback
    assert "score" not in feedback or feedback["score"] is None
    assert feedback["error"] is True
    assert feedback["extra"]["error"] is True
    assert feedback["comment"] == "judge failed: ValueError: no JSON"


def test_skipped_results_write_nothing(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    written = _write(langsmith_clients, SKIPPED)
    assert written.action is FeedbackAction.SKIPPED
    assert written.feedback_id is None
    assert feedback_fields(SKIPPED) is None
    assert langsmith_server.requests == []


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_outages_are_retried(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, status: int
):
    langsmith_server.fail_next(2, status=status, path="/feedback")
    _write(langsmith_clients, JUDGED)
    assert len(langsmith_server.feedback) == 1
    statuses = [r.status for r in langsmith_server.requests if r.path.startswith("/feedback")]
    assert statuses == [status, status, 404, 200]  # the look (retried, then not found), the POST


def test_exhausted_retries_raise_with_context(langsmith_server: LocalLangSmith):
    langsmith_server.fail_next(50, status=503, path="/feedback")
    clients = LangSmithClients.create(api_key="test", api_url=langsmith_server.url, max_retries=1)
    with clients, pytest.raises(FeedbackWriteError, match=RUN_ID):
        _write(clients, JUDGED)
    assert langsmith_server.feedback == []


# -- clients --------------------------------------------------------------------------------------


def test_clients_come_from_the_environment_without_showing_the_key(
    langsmith_server: LocalLangSmith, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.setenv("LANGCHAIN_API_KEY", "lsv2-secret-key")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", f"{langsmith_server.url}/api/v1/")
    monkeypatch.setenv("LANGSMITH_WORKSPACE_ID", "ws-1")
    with LangSmithClients.from_env() as clients:
        assert clients.api_url == f"{langsmith_server.url}/api/v1"
        assert str(clients.sdk.base_url).rstrip("/") == langsmith_server.url
        assert clients.sdk.tenant_id == "ws-1"
        assert "lsv2-secret-key" not in repr(clients)
        clients.client.create_project("p")
        assert resolve_project(clients, "p") == langsmith_server.project_id("p")


def test_clients_need_a_key(monkeypatch: pytest.MonkeyPatch):
    for name in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(LangSmithConfigError, match="LANGSMITH_API_KEY"):
        LangSmithClients.create(api_url="http://127.0.0.1:9")
    with pytest.raises(LangSmithConfigError, match="http"):
        LangSmithClients.create(api_key="k", api_url="127.0.0.1:9")


def test_unknown_projects_raise_a_clear_error(langsmith_clients: LangSmithClients):
    with pytest.raises(ProjectNotFoundError, match="'nope'"):
        resolve_project(langsmith_clients, "nope")
