"""Real-server behaviours the local LangSmith can switch on, and how the package handles each.

multipart examples (``/info`` flag on and off), queue items that carry only ``session_id``, a
server that refuses the extra trace selects, a server without ``/api/v2``, the three ways a
server can treat a known feedback id, the online evaluator's build status, and
``threads.query`` filters.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Verdict
from langchain_perceived_error.online.attach import AttachError, attach
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import feedback_id, write_feedback
from langchain_perceived_error.online.queues import (
    QueueError,
    ThreadItem,
    flagged_items,
    push_items,
)
from langchain_perceived_error.online.threads import ThreadReadError, read_thread
from tests.fixtures.agent_app import CapturedThread, capture_agent_thread
from tests.servers.langsmith_capture import SPEC_TRACE_SELECTS, LocalLangSmith

SAMPLE = "cookbook/data/sample_traces.jsonl"
_ENV = {
    "LANGSMITH_API_KEY": "lsv2-behaviour-key",
    "LANGCHAIN_API_KEY": None,
    "LANGCHAIN_ENDPOINT": None,
    "LANGSMITH_WORKSPACE_ID": None,
    "LANGSMITH_TENANT_ID": None,
    "FIREWORKS_API_KEY": "fw-behaviour-key",
}


def _invoke(server: LocalLangSmith, *args: str):
    return CliRunner().invoke(app, list(args), env={**_ENV, "LANGSMITH_ENDPOINT": server.url})


def _project_id(server: LocalLangSmith, thread: CapturedThread) -> str:
    return server.project_id(thread.project_name)


# -- multipart examples ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "labelled.jsonl"
    result = CliRunner().invoke(app, ["label", SAMPLE, "-p", "rules", "-p", "rules", "-o", path])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("multipart", [True, False])
def test_dataset_push_on_both_examples_paths(
    multipart: bool, langsmith_server: LocalLangSmith, labelled_file: Path
):
    langsmith_server.info["instance_flags"]["dataset_examples_multipart_enabled"] = multipart
    first = _invoke(langsmith_server, "dataset", "push", str(labelled_file), "--name", "mp")
    assert first.exit_code == 0, first.output
    assert "added: 52, already in the dataset: 0" in first.stdout
    second = _invoke(langsmith_server, "dataset", "push", str(labelled_file), "--name", "mp")
    assert second.exit_code == 0, second.output
    assert "added: 0, already in the dataset: 52" in second.stdout
    assert len(langsmith_server.examples) == 52
    multipart_posts = langsmith_server.count_requests("POST", "/platform/datasets/")
    bulk_posts = langsmith_server.count_requests("POST", "/examples/bulk")
    assert (multipart_posts > 0, bulk_posts > 0) == (multipart, not multipart)
    example = langsmith_server.examples[0]
    assert example["inputs"]
    assert example["outputs"] is not None
    assert example["metadata"]["record_id"]


# -- annotation queue items that name their project session_id ------------------------------------


def test_queue_items_listed_with_only_session_id_are_not_pushed_again(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    langsmith_server.queue_item_project_key = "session_id"
    queue = langsmith_clients.sdk.annotation_queues.annotation_queues(name="q")
    item = ThreadItem(thread_id="t-1", project_id=str(uuid.uuid4()))
    assert push_items(langsmith_clients, str(queue.id), [item]).added == 1
    again = push_items(langsmith_clients, str(queue.id), [item])
    assert (again.added, again.already_queued) == (0, 1)
    assert len(langsmith_server.queue_items(str(queue.id))) == 1


# -- trace selects the spec does not list ---------------------------------------------------------


def test_a_server_refusing_the_extra_selects_is_read_through_the_runs(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    project_id = _project_id(langsmith_server, traced_thread)
    options = {"project_id": project_id, "thread_id": traced_thread.thread_id}
    expected = read_thread(langsmith_clients, **options)
    langsmith_server.trace_selects = frozenset(SPEC_TRACE_SELECTS)
    fallback = read_thread(langsmith_clients, **options)
    assert fallback == expected
    assert [t["turn_number"] for t in fallback] == [1, 2, 3]
    assert langsmith_server.count_requests("POST", "/api/v2/runs/query") == 1


def test_when_the_fallback_fails_too_the_error_names_the_refused_selects(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    langsmith_server.trace_selects = frozenset(SPEC_TRACE_SELECTS)
    langsmith_server.fail_next(5, status=400, path="/api/v2/runs/query")
    project_id = _project_id(langsmith_server, traced_thread)
    with pytest.raises(ThreadReadError) as caught:
        read_thread(langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id)
    message = str(caught.value)
    assert "refused the trace selects INPUTS, OUTPUTS, TURN_NUMBER" in message
    assert "\n" not in message


# -- a server without /api/v2 ----------------------------------------------------------------------


def test_a_server_without_v2_gets_a_one_line_version_error(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    langsmith_server.v2 = False
    project_id = _project_id(langsmith_server, traced_thread)
    with pytest.raises(ThreadReadError, match=r"needs LangSmith 0\.16 or newer") as caught:
        read_thread(langsmith_clients, project_id=project_id, thread_id=traced_thread.thread_id)
    assert "\n" not in str(caught.value)
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    items = flagged_items(langsmith_clients, project_id=project_id, since=since)
    with pytest.raises(QueueError, match=r"404 to POST /api/v2/runs/query: .* 0\.16 or newer"):
        list(items)
    result = _invoke(
        langsmith_server, "watch", "--project", traced_thread.project_name, "--threads", "--once"
    )
    assert result.exit_code != 0
    (error,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "404 to POST /api/v2/threads/query: the v2 API needs LangSmith 0.16 or newer" in error


# -- feedback idempotency, whatever the server does with a known id --------------------------------

_RUN_ID = "00000000-0000-4000-8000-00000000f00d"


def _result(flagged: bool) -> JudgeResult:
    reason = "The user corrects the city." if flagged else "No correction."
    return JudgeResult(
        id=_RUN_ID,
        status=JudgeStatus.JUDGED,
        verdict=Verdict(perceived_error=flagged, reason=reason),
        model="rules",
        attempts=1,
    )


def _write(clients: LangSmithClients, flagged: bool) -> Any:
    return write_feedback(
        clients,
        result=_result(flagged),
        run_id=_RUN_ID,
        trace_id=_RUN_ID,
        session_id=str(uuid.uuid4()),
        start_time=None,
    )


@pytest.mark.parametrize("mode", ["upsert", "conflict", "duplicate"])
def test_feedback_is_written_once_whatever_the_server_does_with_a_known_id(
    mode: Any, langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    langsmith_server.feedback_duplicates = mode
    first = _write(langsmith_clients, flagged=True)
    second = _write(langsmith_clients, flagged=False)
    assert (first.updated, second.updated) == (False, True)
    (stored,) = langsmith_server.feedback
    assert stored["id"] == str(feedback_id(_RUN_ID))
    assert (stored["score"], stored["comment"]) == (0, "No correction.")


def test_a_409_on_create_becomes_an_update(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    langsmith_server.feedback_duplicates = "conflict"
    _write(langsmith_clients, flagged=True)
    # another writer's feedback is not visible yet when this one looks: the create gets 409
    langsmith_server.fail_next(1, status=404, path=f"/feedback/{feedback_id(_RUN_ID)}")
    second = _write(langsmith_clients, flagged=False)
    assert second.updated
    (stored,) = langsmith_server.feedback
    assert stored["score"] == 0


# -- the online evaluator's build ------------------------------------------------------------------


def test_attach_waits_for_the_build_to_be_ready(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    langsmith_server.evaluator_builds = ["ENQUEUED", "BUILDING", "BUILDING", "READY"]
    result = attach(langsmith_clients, project=traced_thread.project_name, poll_s=0)
    assert result.build_status == "READY"
    assert (
        langsmith_server.count_requests("GET", f"/platform/evaluators/{result.evaluator_id}") == 4
    )
    assert len(langsmith_server.rules) == 1


def test_attach_fails_loudly_on_a_failed_build_and_binds_nothing(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    langsmith_server.evaluator_builds = ["BUILDING", "FAILED"]
    langsmith_server.evaluator_build_error = (
        "No matching distribution for langchain-perceived-error"
    )
    result = _invoke(langsmith_server, "attach", "--project", traced_thread.project_name)
    assert result.exit_code == 1
    assert "could not build the online evaluator" in result.output
    assert "No matching distribution" in result.output
    assert langsmith_server.rules == []


def test_attach_gives_up_on_a_build_that_never_ends(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    langsmith_server.evaluator_builds = ["BUILDING"]
    with pytest.raises(AttachError, match="still BUILDING after 0 s"):
        attach(langsmith_clients, project=traced_thread.project_name, build_timeout_s=0, poll_s=0)


def test_a_server_that_reports_no_build_status_is_not_waited_for(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    result = attach(langsmith_clients, project=traced_thread.project_name, poll_s=0)
    assert result.build_status is None


# -- threads.query filters -------------------------------------------------------------------------


def test_watch_threads_with_a_filter_judges_only_the_matching_thread(
    langsmith_server: LocalLangSmith, tmp_path: Path
):
    project = "filtered"
    kept = capture_agent_thread(langsmith_server, project_name=project)
    other = capture_agent_thread(langsmith_server, project_name=project)
    project_id = langsmith_server.project_id(project)
    sdk = langsmith_server.sdk()
    expression = f'eq(thread_id, "{kept.thread_id}")'
    with sdk:
        listed = [t.thread_id for t in sdk.threads.query(project_id=project_id, filter=expression)]
    assert listed == [kept.thread_id]
    args = ["watch", "--project", project, "--threads", "--once", "--idle", "0", "--model", "rules"]
    result = _invoke(
        langsmith_server, *args, "--filter", expression, "--state", str(tmp_path / "s.json")
    )
    assert result.exit_code == 0, result.output
    judged = {f["run_id"] for f in langsmith_server.feedback}
    assert judged == {kept.root_runs[-1]["id"]}
    assert other.root_runs[-1]["id"] not in judged
