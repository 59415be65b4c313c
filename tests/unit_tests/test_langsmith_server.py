"""Round trips through the real langsmith SDK clients against the local LangSmith test server."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from langsmith import BadRequestError, evaluate
from langsmith.utils import LangSmithConflictError

from tests.fixtures.agent_app import CapturedThread
from tests.servers.langsmith_capture import DEFAULT_INFO, LocalLangSmith


def _project_id(server: LocalLangSmith, thread: CapturedThread) -> str:
    return server.project_id(thread.project_name)


# -- projects --------------------------------------------------------------------------------------


def test_projects_round_trip_in_both_client_styles(langsmith_server: LocalLangSmith):
    client, sdk = langsmith_server.client(), langsmith_server.sdk()
    created = client.create_project("my-project", description="demo")
    assert client.read_project(project_name="my-project").id == created.id
    assert client.read_project(project_id=created.id).name == "my-project"
    assert sdk.sessions.retrieve_v2(str(created.id)).name == "my-project"
    assert [p.id for p in sdk.sessions.list_v2(name="my-project")] == [str(created.id)]
    with pytest.raises(LangSmithConflictError):
        client.create_project("my-project")


def test_traced_runs_create_their_project(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    project_id = _project_id(langsmith_server, traced_thread)
    assert {run["session_id"] for run in langsmith_server.runs} == {project_id}


# -- runs ------------------------------------------------------------------------------------------


def test_runs_query_v2_pages_and_filters(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    sdk = langsmith_server.sdk()
    project_id = _project_id(langsmith_server, traced_thread)
    roots = sdk.runs.query_v2(
        project_ids=[project_id], is_root=True, page_size=2, selects=["ID", "THREAD_ID"]
    )
    rows = list(roots)
    assert [row.id for row in rows] == [run["id"] for run in traced_thread.root_runs]
    assert {row.thread_id for row in rows} == {traced_thread.thread_id}
    assert rows[0].inputs is None  # not selected
    assert langsmith_server.count_requests("POST", "/api/v2/runs/query") == 2

    trace_id = traced_thread.root_runs[1]["id"]
    in_trace = list(sdk.runs.query_v2(project_ids=[project_id], trace_id=trace_id))
    assert len(in_trace) > 1
    by_id = list(sdk.runs.query_v2(project_ids=[project_id], ids=[trace_id], selects=["NAME"]))
    assert [row.name for row in by_id] == ["weather_agent"]
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert list(sdk.runs.query_v2(project_ids=[project_id], min_start_time=future)) == []


def test_runs_read_and_v1_query(langsmith_server: LocalLangSmith, traced_thread: CapturedThread):
    root_id = traced_thread.root_runs[0]["id"]
    project_id = _project_id(langsmith_server, traced_thread)
    for path in (f"/runs/{root_id}", f"/api/v1/runs/{root_id}"):
        answer = httpx.get(langsmith_server.url + path)
        assert answer.status_code == 200
        assert answer.json()["id"] == root_id
    sdk_run = langsmith_server.sdk().runs.retrieve_v2(
        root_id, project_id=project_id, start_time=langsmith_server.run(root_id)["start_time"]
    )
    assert sdk_run.id == root_id
    body = {"session": [project_id], "is_root": True, "limit": 2}
    first = httpx.post(f"{langsmith_server.url}/runs/query", json=body).json()
    assert len(first["runs"]) == 2
    rest = httpx.post(
        f"{langsmith_server.url}/runs/query", json={**body, "cursor": first["cursors"]["next"]}
    ).json()
    assert len(rest["runs"]) == 1
    assert rest["cursors"]["next"] is None


def test_feedback_filter_matches_key_and_score_on_the_same_feedback(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    client, sdk = langsmith_server.client(), langsmith_server.sdk()
    project_id = _project_id(langsmith_server, traced_thread)
    first, second, _third = (run["id"] for run in traced_thread.root_runs)
    client.create_feedback(first, "perceived_error", score=1, session_id=project_id)
    client.create_feedback(second, "perceived_error", score=0, session_id=project_id)
    client.create_feedback(second, "other", score=1, session_id=project_id)
    expression = 'and(eq(feedback_key, "perceived_error"), eq(feedback_score, 1))'
    flagged = sdk.runs.query_v2(project_ids=[project_id], is_root=True, filter=expression)
    assert [row.id for row in flagged] == [first]
    either = sdk.runs.query_v2(
        project_ids=[project_id], filter='or(eq(id, "x"), has(tags, "nope"))'
    )
    assert list(either) == []


# -- threads ---------------------------------------------------------------------------------------


def test_threads_query_and_list_traces(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    sdk = langsmith_server.sdk()
    project_id = _project_id(langsmith_server, traced_thread)
    (thread,) = list(sdk.threads.query(project_id=project_id))
    roots = traced_thread.root_runs
    assert thread.thread_id == traced_thread.thread_id
    assert thread.count == 3
    assert (thread.first_trace_id, thread.last_trace_id) == (roots[0]["id"], roots[-1]["id"])
    assert thread.min_start_time is not None
    assert thread.max_start_time is not None
    assert thread.min_start_time < thread.max_start_time

    traces = list(
        sdk.threads.list_traces(
            traced_thread.thread_id,
            project_id=project_id,
            selects=["TRACE_ID", "INPUTS", "START_TIME", "TURN_NUMBER"],
            page_size=2,
        )
    )
    assert [t.trace_id for t in traces] == [run["id"] for run in roots]
    assert [t.turn_number for t in traces] == [1, 2, 3]
    assert traces[0].inputs == roots[0]["inputs"]
    assert traces[0].outputs is None  # not selected
    assert langsmith_server.count_requests("GET", "/traces") == 2


# -- feedback --------------------------------------------------------------------------------------


def test_feedback_with_the_same_id_is_replaced_not_duplicated(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    client = langsmith_server.client()
    run_id = traced_thread.root_runs[0]["id"]
    project_id = _project_id(langsmith_server, traced_thread)
    feedback_id = uuid.uuid4()
    for score in (0, 1):
        client.create_feedback(
            run_id, "k", score=score, feedback_id=feedback_id, session_id=project_id
        )
    (stored,) = langsmith_server.feedback
    assert stored["score"] == 1
    listed = list(client.list_feedback(run_ids=[run_id], feedback_key=["k"]))
    assert [f.id for f in listed] == [feedback_id]
    assert client.read_feedback(feedback_id).score == 1
    assert list(client.list_feedback(run_ids=[run_id], feedback_key=["other"])) == []


def test_batched_feedback_parts_are_stored(langsmith_server: LocalLangSmith):
    info = {**DEFAULT_INFO, "version": "0.10.0"}
    client = langsmith_server.client(auto_batch_tracing=True, info=info)
    run_id = uuid.uuid4()
    client.create_feedback(run_id, "k", score=1, trace_id=run_id, session_id=uuid.uuid4())
    client.flush()
    client.cleanup()
    (stored,) = langsmith_server.feedback
    assert stored["run_id"] == str(run_id)
    assert langsmith_server.count_requests("POST", "/runs/multipart") == 1


# -- annotation queues -----------------------------------------------------------------------------


def test_annotation_queues_in_both_client_styles(langsmith_server: LocalLangSmith):
    client, sdk = langsmith_server.client(), langsmith_server.sdk()
    handwritten = client.create_annotation_queue(name="hand", description="d")
    assert client.read_annotation_queue(handwritten.id).name == "hand"
    assert [q.id for q in client.list_annotation_queues(name="hand")] == [handwritten.id]
    generated = sdk.annotation_queues.annotation_queues(
        name="gen", rubric_items=[{"feedback_key": "perceived_error"}]
    )
    assert sdk.annotation_queues.retrieve(str(generated.id)).name == "gen"
    assert [q.id for q in sdk.annotation_queues.retrieve_annotation_queues(name="gen")] == [
        generated.id
    ]


def test_annotation_queue_items(langsmith_server: LocalLangSmith):
    sdk = langsmith_server.sdk()
    queue = sdk.annotation_queues.annotation_queues(name="q")
    run_item = {"item_type": "RUN", "run_id": str(uuid.uuid4())}
    thread_item = {"item_type": "THREAD", "thread_id": "t-1", "project_id": str(uuid.uuid4())}
    added = sdk.annotation_queues.items.create(str(queue.id), items=[run_item, thread_item])
    assert [item.item_type for item in added.items or []] == ["RUN", "THREAD"]
    listed = sdk.annotation_queues.items.list(str(queue.id), status="needs_my_review")
    assert [item.item_type for item in listed] == ["RUN", "THREAD"]
    assert list(sdk.annotation_queues.items.list(str(queue.id), status="archived")) == []
    too_many = [{"item_type": "RUN", "run_id": str(uuid.uuid4())} for _ in range(101)]
    with pytest.raises(BadRequestError):
        sdk.annotation_queues.items.create(str(queue.id), items=too_many)  # type: ignore[arg-type]
    with pytest.raises(BadRequestError):
        sdk.annotation_queues.items.create(str(queue.id), items=[{"item_type": "THREAD"}])
    assert len(langsmith_server.queue_items(str(queue.id))) == 2


# -- datasets and experiments ----------------------------------------------------------------------


def test_datasets_examples_and_an_uploaded_experiment(langsmith_server: LocalLangSmith):
    client = langsmith_server.client()
    dataset = client.create_dataset("questions")
    client.create_examples(
        dataset_id=dataset.id,
        examples=[
            {"inputs": {"q": "a"}, "reference_outputs": {"answer": "a"}},
            {"inputs": {"q": "b"}, "reference_outputs": {"answer": "c"}},
        ],
    )
    assert len(list(client.list_examples(dataset_name="questions"))) == 2

    def target(inputs: dict) -> dict:
        return {"answer": inputs["q"]}

    def exact(outputs: dict, reference_outputs: dict) -> dict:
        return {"key": "exact", "score": outputs["answer"] == reference_outputs["answer"]}

    evaluate(target, data="questions", evaluators=[exact], client=client, upload_results=True)
    client.flush()
    experiments = [p for p in langsmith_server.projects if p["reference_dataset_id"]]
    assert [p["reference_dataset_id"] for p in experiments] == [str(dataset.id)]
    experiment_runs = [
        r for r in langsmith_server.root_runs() if r["session_id"] == experiments[0]["id"]
    ]
    assert len(experiment_runs) == 2
    assert sorted(f["score"] for f in langsmith_server.feedback if f["key"] == "exact") == [0, 1]


# -- online evaluation -----------------------------------------------------------------------------


def test_rules_and_online_evaluators_are_stored_as_sent(langsmith_server: LocalLangSmith):
    client, sdk = langsmith_server.client(), langsmith_server.sdk()
    rule = {"display_name": "judge", "session_id": str(uuid.uuid4()), "sampling_rate": 1.0}
    answer = client.request_with_retries("POST", "/api/v1/runs/rules", json=rule).json()
    assert answer["display_name"] == "judge"
    assert client.request_with_retries("GET", "/runs/rules").json() == [answer]
    created = sdk.online_evaluators.create(name="pe", type="code")
    assert created.evaluator is not None
    evaluator_id = str(created.evaluator.id)
    assert sdk.online_evaluators.retrieve(evaluator_id).name == "pe"
    assert [e.name for e in sdk.online_evaluators.list()] == ["pe"]
    assert langsmith_server.rules[0]["sampling_rate"] == 1.0
    assert langsmith_server.evaluators[0]["type"] == "code"


# -- faults and logging ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_injected_faults_are_retried_by_both_clients(langsmith_server: LocalLangSmith, status):
    sdk = langsmith_server.sdk(max_retries=2)
    langsmith_server.fail_next(2, status=status, path="/annotation-queues")
    queue = sdk.annotation_queues.annotation_queues(name="q")
    assert langsmith_server.count_requests("POST", "/annotation-queues") == 3
    statuses = [r.status for r in langsmith_server.requests]
    assert statuses == [status, status, 200]

    client = langsmith_server.client()
    langsmith_server.fail_next(1, status=status)
    assert client.read_annotation_queue(queue.id).name == "q"


def test_faults_only_hit_matching_paths_and_carry_retry_after(langsmith_server: LocalLangSmith):
    fault = langsmith_server.fail_next(1, status=429, path="/feedback", retry_after=2)
    assert httpx.get(langsmith_server.url + "/info").status_code == 200
    answer = httpx.get(langsmith_server.url + "/feedback")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "2"
    assert fault.remaining == 0
    assert httpx.get(langsmith_server.url + "/feedback").status_code == 200


def test_unknown_paths_still_404(langsmith_server: LocalLangSmith):
    assert httpx.get(langsmith_server.url + "/api/v2/nothing").status_code == 404
    assert langsmith_server.requests[-1].status == 404
    (mismatch,) = langsmith_server.take_mismatches()  # the contract check saw it too
    assert (mismatch.path, mismatch.spec_path) == ("/api/v2/nothing", None)
