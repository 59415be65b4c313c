"""`perceived-error watch` and the Watcher: real SDK clients against the in-memory LangSmith.

End to end, the real LangGraph agent (tests/fixtures/agent_app.py) is traced by the real SDK
over several turns of a thread with a correction and of a thread without one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tracers.langchain import wait_for_all_tracers
from langsmith.run_helpers import tracing_context
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.core.schemas import JudgeResult
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import feedback_id
from langchain_perceived_error.online.state import (
    StateFileError,
    WatchState,
    WatchTotals,
    default_state_path,
    load_state,
    save_state,
)
from langchain_perceived_error.online.watch import (
    BatchReport,
    WatchBatchError,
    WatchConfig,
    Watcher,
    is_sampled,
)
from tests.fakes import ScriptedChatModel
from tests.fixtures.agent_app import (
    ToolCallingScriptedModel,
    build_agent,
    capture_agent_thread,
)
from tests.fixtures.conversation_runs import post_conversation_runs
from tests.servers.langsmith_capture import LocalLangSmith

PROJECT = "watch-e2e"
SECRET = "lsv2-watch-sentinel-key"
_ENV_NAMES = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_WORKSPACE_ID",
    "LANGSMITH_TENANT_ID",
    "PERCEIVED_ERROR_MODEL",
)


# -- helpers ---------------------------------------------------------------------------------------


class CleanThread:
    """The agent app over a thread with no error; more turns can be added later."""

    def __init__(self, server: LocalLangSmith, thread_id: str) -> None:
        self.server = server
        self.thread_id = thread_id
        model = ToolCallingScriptedModel(
            script=[
                AIMessage(
                    content="",
                    tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}],
                ),
                AIMessage(content="It's 18°C and sunny in Paris today."),
                AIMessage(content="No umbrella needed: no rain is expected today."),
                AIMessage(content="Sorry, I misunderstood. Lyon is 16°C and cloudy."),
            ]
        )
        self.graph = build_agent(model)

    def say(self, *texts: str) -> None:
        client = self.server.client()
        config: Any = {
            "configurable": {"thread_id": self.thread_id},
            "metadata": {"thread_id": self.thread_id},
            "run_name": "weather_agent",
        }
        try:
            with tracing_context(enabled=True, client=client, project_name=PROJECT):
                for text in texts:
                    self.graph.invoke({"messages": [HumanMessage(content=text)]}, config)
            wait_for_all_tracers()
            client.flush()
        finally:
            client.cleanup()


def _traced_threads(server: LocalLangSmith) -> tuple[str, CleanThread]:
    """The flagged thread (the fixture app's 3 turns) and a clean 2-turn thread, one project."""
    flagged = capture_agent_thread(server, project_name=PROJECT)
    clean = CleanThread(server, str(uuid.uuid4()))
    clean.say("What's the weather in Paris today?", "Thanks. Do I need an umbrella?")
    return flagged.thread_id, clean


def _invoke(server: LocalLangSmith, *args: str):
    env: dict[str, str | None] = dict.fromkeys(_ENV_NAMES)
    env["LANGSMITH_API_KEY"] = SECRET
    env["LANGSMITH_ENDPOINT"] = server.url
    return CliRunner().invoke(app, ["watch", *args], env=env)


def _last_trace(server: LocalLangSmith, thread_id: str) -> dict[str, Any]:
    roots = [
        run
        for run in server.root_runs(PROJECT)
        if (run.get("extra") or {}).get("metadata", {}).get("thread_id") == thread_id
    ]
    return roots[-1]


def _scores(server: LocalLangSmith) -> dict[str, Any]:
    return {str(f["run_id"]): f["score"] for f in server.feedback}


def _queue_items(server: LocalLangSmith) -> list[dict[str, Any]]:
    items = []
    for queue in server.queues:
        items.extend(server.queue_items(queue["id"]))
    return items


def _watcher(
    clients: LangSmithClients, tmp_path: Path, model: Any = "rules", **options: Any
) -> Watcher:
    options.setdefault("idle_s", 0.0)
    options.setdefault("state_path", tmp_path / "state.json")
    config = WatchConfig(project=PROJECT, **options)
    return Watcher.open(clients, PerceivedErrorJudge(model), config)


# -- end to end through the CLI --------------------------------------------------------------------


def test_watch_threads_once_end_to_end_then_again(langsmith_server: LocalLangSmith, tmp_path: Path):
    flagged_thread, clean = _traced_threads(langsmith_server)
    state = tmp_path / "state.json"
    args = ("--project", PROJECT, "--once", "--threads", "--idle", "0", "--queue", "Q")
    first = _invoke(langsmith_server, *args, "--model", "rules", "--state", str(state))
    assert first.exit_code == 0, first.output
    assert SECRET not in first.output
    assert "batch: 2 items | judged 2, skipped 0, failed 0" in " ".join(first.output.split())

    flagged_last = _last_trace(langsmith_server, flagged_thread)["id"]
    clean_last = _last_trace(langsmith_server, clean.thread_id)["id"]
    assert _scores(langsmith_server) == {flagged_last: 1, clean_last: 0}
    for feedback in langsmith_server.feedback:  # on the LAST trace, with its project and trace
        assert feedback["id"] == str(feedback_id(feedback["run_id"]))
        assert feedback["trace_id"] == feedback["run_id"]
        assert feedback["session_id"] == langsmith_server.project_id(PROJECT)
    items = _queue_items(langsmith_server)
    assert [(i["item_type"], i["thread_id"]) for i in items] == [("THREAD", flagged_thread)]
    (queue,) = langsmith_server.queues
    assert queue["rubric_items"][0]["feedback_key"] == "perceived_error"
    totals = json.loads(state.read_text())["totals"]
    assert totals == {
        "judged": 2,
        "skipped": 0,
        "failed": 0,
        "unsampled": 0,
        "flagged": 1,
        "queued": 1,
    }

    feedback_before = langsmith_server.feedback
    writes_before = langsmith_server.count_requests("POST", "/feedback")
    again = _invoke(langsmith_server, *args, "--model", "rules", "--state", str(state))
    assert again.exit_code == 0, again.output
    assert langsmith_server.feedback == feedback_before  # zero new (or rewritten) feedback
    assert langsmith_server.count_requests("POST", "/feedback") == writes_before
    assert len(_queue_items(langsmith_server)) == 1
    assert json.loads(state.read_text())["totals"] == totals


def test_a_thread_that_grows_is_judged_again_on_its_new_last_trace(
    langsmith_server: LocalLangSmith, tmp_path: Path
):
    _, clean = _traced_threads(langsmith_server)
    state = tmp_path / "state.json"
    args = ("--project", PROJECT, "--once", "--idle", "0", "--queue", "Q", "--model", "rules")
    assert _invoke(langsmith_server, *args, "--state", str(state)).exit_code == 0
    old_last = _last_trace(langsmith_server, clean.thread_id)["id"]
    assert _scores(langsmith_server)[old_last] == 0

    clean.say("That's wrong, I asked about Lyon, not Paris.")
    result = _invoke(langsmith_server, *args, "--state", str(state))
    assert result.exit_code == 0, result.output
    new_last = _last_trace(langsmith_server, clean.thread_id)["id"]
    assert new_last != old_last
    scores = _scores(langsmith_server)
    assert scores[new_last] == 1
    assert scores[old_last] == 0  # the earlier feedback stays where it was
    threads = {i["thread_id"] for i in _queue_items(langsmith_server)}
    assert clean.thread_id in threads
    assert json.loads(state.read_text())["totals"]["judged"] == 3


def test_watch_runs_once_end_to_end_then_again(langsmith_server: LocalLangSmith, tmp_path: Path):
    flagged_thread, clean = _traced_threads(langsmith_server)
    judge = PerceivedErrorJudge("rules")
    roots = langsmith_server.root_runs(PROJECT)
    expected = {run["id"]: judge.judge(run) for run in roots}
    state = tmp_path / "runs.json"
    args = ("--project", PROJECT, "--once", "--runs", "--idle", "0", "--queue", "R")
    first = _invoke(langsmith_server, *args, "--model", "rules", "--state", str(state))
    assert first.exit_code == 0, first.output

    flagged_runs = {rid for rid, r in expected.items() if r.perceived_error}
    scored = {rid: int(bool(r.perceived_error)) for rid, r in expected.items() if r.verdict}
    assert flagged_runs  # the correction turns
    assert set(scored) - flagged_runs  # and judged runs that are not flagged
    assert _scores(langsmith_server) == scored  # skipped runs (single turn) get none
    items = _queue_items(langsmith_server)
    assert {(i["item_type"], i["run_id"]) for i in items} == {("RUN", r) for r in flagged_runs}
    totals = json.loads(state.read_text())["totals"]
    assert _total_items(totals) == len(roots)

    again = _invoke(langsmith_server, *args, "--model", "rules", "--state", str(state))
    assert again.exit_code == 0, again.output
    assert len(langsmith_server.feedback) == len(scored)
    assert len(_queue_items(langsmith_server)) == len(flagged_runs)
    assert json.loads(state.read_text())["totals"] == totals
    del flagged_thread, clean


def test_watch_once_dry_run_judges_and_writes_nothing(
    langsmith_server: LocalLangSmith, tmp_path: Path
):
    _traced_threads(langsmith_server)
    state = tmp_path / "state.json"
    args = ("--project", PROJECT, "--once", "--threads", "--idle", "0", "--queue", "Q")
    writes_before = [
        f"{r.method} {r.path}"
        for r in langsmith_server.requests
        if r.method in ("POST", "PATCH", "PUT", "DELETE") and "query" not in r.path
    ]
    dry = _invoke(langsmith_server, *args, "--model", "rules", "--state", str(state), "--dry-run")
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "judged 2" in text
    assert "dry run: nothing was written: 2 feedback score(s) and 1 queue item(s)" in text
    assert langsmith_server.feedback == []
    assert langsmith_server.queues == []
    assert not state.exists()
    writes_after = [
        f"{r.method} {r.path}"
        for r in langsmith_server.requests
        if r.method in ("POST", "PATCH", "PUT", "DELETE") and "query" not in r.path
    ]
    assert writes_after == writes_before  # the traces the fixture sent, nothing more
    refused = _invoke(langsmith_server, "--project", PROJECT, "--dry-run")
    assert refused.exit_code == 2
    assert "--dry-run needs --once" in refused.output


def _total_items(totals: dict[str, int]) -> int:
    return sum(totals[k] for k in ("judged", "skipped", "failed", "unsampled"))


def test_cli_errors_are_clear(langsmith_server: LocalLangSmith, tmp_path: Path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    post_conversation_runs(langsmith_server, PROJECT, 1)
    corrupt = _invoke(langsmith_server, "--project", PROJECT, "--once", "--state", str(state))
    assert corrupt.exit_code == 1
    assert "corrupt" in corrupt.output
    assert state.read_text() == "{not json"  # never reset
    both = _invoke(langsmith_server, "--project", PROJECT, "--threads", "--runs")
    assert both.exit_code == 2
    missing = _invoke(langsmith_server, "--project", "nope", "--once", "--state", str(state))
    assert missing.exit_code == 1
    assert "nope" in missing.output
    bad_model = _invoke(langsmith_server, "--project", PROJECT, "--model", "nonsense")
    assert bad_model.exit_code == 2


# -- the Watcher -----------------------------------------------------------------------------------


def test_runs_with_equal_start_times_across_batches_are_each_judged_once(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    same = post_conversation_runs(langsmith_server, PROJECT, 5)[0].start_time
    tied = post_conversation_runs(langsmith_server, PROJECT, 3, start_time=same)
    watcher = _watcher(langsmith_clients, tmp_path, mode="runs", batch_size=2)
    first = watcher.poll_once()
    assert first.items == 2
    assert first.pending == 6
    reports = watcher.drain()
    assert [r.items for r in reports] == [2, 2, 2]
    per_run = Counter(str(f["run_id"]) for f in langsmith_server.feedback)
    assert len(per_run) == 8
    assert set(per_run.values()) == {1}
    assert {r.run_id for r in tied} <= set(per_run)
    assert watcher.totals.items == 8
    assert watcher.drain() == []  # nothing left
    assert watcher.poll_once().items == 0


def test_an_open_run_holds_the_cursor_back(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    done = post_conversation_runs(langsmith_server, PROJECT, 3)
    client = langsmith_server.client()
    open_id = str(uuid.uuid4())
    client.create_run(
        "still running",
        {"messages": []},
        "chain",
        project_name=PROJECT,
        id=open_id,
        start_time=done[1].start_time,
    )
    watcher = _watcher(langsmith_clients, tmp_path, mode="runs")
    watcher.drain()
    judged = {str(f["run_id"]) for f in langsmith_server.feedback}
    assert done[0].run_id in judged
    assert done[2].run_id not in judged  # after the open run: waits
    client.update_run(open_id, end_time=done[2].start_time, outputs={"messages": []})
    client.cleanup()
    watcher.drain()
    judged = {str(f["run_id"]) for f in langsmith_server.feedback}
    assert {done[1].run_id, done[2].run_id} <= judged
    assert watcher.totals.items == 4


def test_failed_judgements_are_recorded_and_passed(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    post_conversation_runs(langsmith_server, PROJECT, 2)
    broken = ScriptedChatModel(script=["no json here"])
    watcher = _watcher(langsmith_clients, tmp_path, model=broken, mode="runs")
    (report,) = watcher.drain()
    assert report.counts.failed == 2
    for feedback in langsmith_server.feedback:
        assert feedback.get("score") is None
        assert feedback["comment"].startswith("judge failed")
    assert watcher.drain() == []  # recorded, not retried forever


def test_sampling_is_deterministic_and_unsampled_items_advance_the_cursor(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    kept = [i for i in ids if is_sampled(i, 0.3)]
    assert kept == [i for i in ids if is_sampled(i, 0.3)]  # same answer every time
    assert 0.25 < len(kept) / len(ids) < 0.35
    assert set(kept) <= {i for i in ids if is_sampled(i, 0.6)}  # nested samples
    assert all(is_sampled(i, 1.0) for i in ids[:50])
    assert not any(is_sampled(i, 0.0) for i in ids[:50])

    runs = post_conversation_runs(langsmith_server, PROJECT, 20)
    watcher = _watcher(langsmith_clients, tmp_path, mode="runs", sampling_rate=0.5)
    watcher.drain()
    judged = {str(f["run_id"]) for f in langsmith_server.feedback}
    assert judged == {r.run_id for r in runs if is_sampled(r.run_id, 0.5)}
    assert watcher.totals.unsampled == 20 - len(judged)
    assert watcher.totals.items == 20
    assert watcher.state.cursor == runs[-1].start_time


def test_429_and_503_during_a_poll_are_backed_off(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    _traced_threads(langsmith_server)
    langsmith_server.fail_next(2, status=429, path="/threads/query")
    langsmith_server.fail_next(1, status=503, path="/traces")
    langsmith_server.fail_next(1, status=503, path="/feedback")
    watcher = _watcher(langsmith_clients, tmp_path, queue="Q")
    (report,) = watcher.drain()
    assert report.counts.judged == 2
    statuses = [(r.status, r.path.split("?")[0]) for r in langsmith_server.requests]
    assert sum(1 for s, p in statuses if s == 429 and p.endswith("/threads/query")) == 2
    assert sum(1 for s, p in statuses if s == 503) == 2
    assert len(langsmith_server.feedback) == 2


def test_exhausted_retries_leave_the_state_alone(langsmith_server: LocalLangSmith, tmp_path: Path):
    _traced_threads(langsmith_server)
    with LangSmithClients.create(
        api_key="test", api_url=langsmith_server.url, max_retries=1
    ) as clients:
        watcher = _watcher(clients, tmp_path)
        outage = langsmith_server.fail_next(100, status=503, path="/feedback")
        with pytest.raises(WatchBatchError, match="write feedback"):
            watcher.drain()
        outage.remaining = 0  # LangSmith is back
        assert not (tmp_path / "state.json").exists()  # nothing committed
        assert watcher.totals == WatchTotals()
        (report,) = watcher.drain()  # the next poll redoes the batch
    assert report.counts.judged == 2
    assert watcher.totals.items == 2


# -- the state file --------------------------------------------------------------------------------


def test_state_round_trip_and_atomic_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "nested" / "state.json"
    assert load_state(path) is None
    state = WatchState(project_id="p", mode="threads", totals=WatchTotals(judged=3, flagged=1))
    save_state(path, state)
    loaded = load_state(path)
    assert loaded is not None
    assert loaded.totals == state.totals
    assert loaded.updated_at is not None
    before = path.read_text()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StateFileError, match="disk full"):
        save_state(path, state.model_copy(update={"totals": WatchTotals(judged=9)}))
    assert path.read_text() == before  # the old state is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]  # no temp file left


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        json.dumps({"project_id": "p", "mode": "threads", "schema_version": 99}),
        json.dumps({"project_id": "p", "mode": "sideways"}),
        json.dumps({"project_id": "p", "mode": "runs", "surprise": 1}),
    ],
)
def test_a_corrupt_state_file_is_an_error_never_a_reset(tmp_path: Path, text: str):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(StateFileError, match="corrupt"):
        load_state(path)
    assert path.read_text() == text


def test_a_state_file_of_another_project_or_mode_is_refused(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    post_conversation_runs(langsmith_server, PROJECT, 1)
    _watcher(langsmith_clients, tmp_path, mode="runs").drain()
    with pytest.raises(StateFileError, match="runs mode"):
        _watcher(langsmith_clients, tmp_path, mode="threads")


def test_default_state_path_and_report_line():
    assert (
        default_state_path("my project/prod").name == ".perceived-error-watch-my_project_prod.json"
    )
    line = BatchReport(counts=WatchTotals(judged=2, flagged=1, queued=1)).log_line()
    assert line.startswith("batch: 2 items | judged 2, skipped 0, failed 0, unsampled 0")
    with pytest.raises(ValueError, match="sampling_rate"):
        WatchConfig(project="p", sampling_rate=2.0)


class _ConfidentJudge(PerceivedErrorJudge):
    """``rules`` with a given confidence per record id (a stand-in for a judge that has one)."""

    def __init__(self, confidences: dict[str, float | None]) -> None:
        super().__init__("rules")
        self.confidences = confidences

    async def ajudge(self, record: Any) -> JudgeResult:
        result = await super().ajudge(record)
        return result.model_copy(update={"confidence": self.confidences.get(str(result.id))})


def test_watch_queues_uncertain_first_and_holds_back_below_min_confidence(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, tmp_path: Path
):
    runs = post_conversation_runs(langsmith_server, PROJECT, 8)
    flagged = [r.run_id for r in runs if r.flagged]
    sure, even, low, unknown = flagged
    judge = _ConfidentJudge({sure: 0.95, even: 0.55, low: 0.3, unknown: None})
    config = WatchConfig(
        project=PROJECT,
        mode="runs",
        idle_s=0.0,
        state_path=tmp_path / "state.json",
        queue="Q",
        review_order="uncertain-first",
        min_confidence=0.5,
    )
    (report,) = Watcher.open(langsmith_clients, judge, config).drain()
    assert report.counts.flagged == 4
    assert report.counts.queued == 3
    assert report.below_min_confidence == 1
    assert "queued 3 (below min confidence 1)" in report.log_line()
    assert [i["run_id"] for i in _queue_items(langsmith_server)] == [even, sure, unknown]
    assert {str(f["run_id"]) for f in langsmith_server.feedback} >= set(flagged)  # all scored


def test_watch_confidence_options_need_a_queue_and_valid_values(
    langsmith_server: LocalLangSmith, tmp_path: Path
):
    state = str(tmp_path / "s.json")
    base = ("--project", PROJECT, "--once", "--state", state, "--model", "rules")
    no_queue = _invoke(langsmith_server, *base, "--order", "uncertain-first")
    assert no_queue.exit_code == 2
    assert "need --queue" in no_queue.output
    bad = _invoke(langsmith_server, *base, "--queue", "Q", "--order", "sideways")
    assert bad.exit_code == 2
    assert "--order must be one of found, uncertain-first" in bad.output
    with pytest.raises(ValueError, match="min_confidence"):
        WatchConfig(project="p", min_confidence=1.5)


# -- the cookbook ---------------------------------------------------------------------------------


def test_cookbook_03_online_watch_runs_offline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    for name in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGSMITH_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    path = Path(__file__).resolve().parents[2] / "cookbook" / "03_online_watch.py"
    spec = importlib.util.spec_from_file_location("cookbook_03_online_watch", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = module.main([])
    assert found["totals"]["judged"] == 2
    assert found["totals"]["flagged"] == found["totals"]["queued"] == 1
    assert found["second_pass_batches"] == 0
    out = capsys.readouterr().out
    assert out.count("FLAGGED ") == 1
    assert "queue 'perceived-errors': 1 thread(s)" in out
