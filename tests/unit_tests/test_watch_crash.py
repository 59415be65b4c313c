"""The ``watch`` worker in a subprocess: SIGKILL mid-batch then restart; SIGINT mid-batch.

The worker (tests/fixtures/watch_worker.py) is a real Watcher with a slow ``rules`` judge and
real LangSmith clients against the in-memory server of this test process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.conversation_runs import ConversationRun, post_conversation_runs
from tests.servers.langsmith_capture import LocalLangSmith

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "crash-project"
QUEUE = "crash-review"
ITEMS = 12
BATCH = 4


def _start_worker(server: LocalLangSmith, state: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "tests.fixtures.watch_worker",
        "--url",
        server.url,
        "--project",
        PROJECT,
        "--state",
        str(state),
        "--runs",
        "--queue",
        QUEUE,
        "--batch-size",
        str(BATCH),
        "--concurrency",
        "2",
        "--delay",
        "0.15",
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"worker exited ({process.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            process.communicate()  # reap it and close its pipes: no ResourceWarning in a later test
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def _state(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _items(totals: dict) -> int:
    return sum(totals[k] for k in ("judged", "skipped", "failed", "unsampled"))


def _assert_complete(server: LocalLangSmith, runs: list[ConversationRun], state: Path) -> None:
    per_run = Counter(str(f["run_id"]) for f in server.feedback)
    assert per_run == Counter({run.run_id: 1 for run in runs})  # exactly one each
    (queue,) = server.queues
    queued = [item["run_id"] for item in server.queue_items(queue["id"])]
    assert len(queued) == len(set(queued))  # no duplicates
    assert set(queued) == {run.run_id for run in runs if run.flagged}
    totals = (_state(state) or {})["totals"]
    assert _items(totals) == ITEMS  # nothing skipped, nothing counted twice
    assert totals["judged"] == ITEMS
    assert totals["flagged"] == totals["queued"] == sum(run.flagged for run in runs)


def test_sigkill_mid_batch_then_restart(langsmith_server: LocalLangSmith, tmp_path: Path):
    runs = post_conversation_runs(langsmith_server, PROJECT, ITEMS)
    state = tmp_path / "state.json"
    worker = _start_worker(langsmith_server, state, "--once")
    # kill once part of the second batch's feedback has arrived
    _wait_for(lambda: len(langsmith_server.feedback) >= BATCH + 1, worker, "feedback")
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    at_kill = len(langsmith_server.feedback)
    assert BATCH < at_kill < ITEMS
    committed = _state(state)
    assert committed is not None
    assert _items(committed["totals"]) % BATCH == 0  # whole batches only
    assert _items(committed["totals"]) < ITEMS  # the batch in flight was not committed

    restarted = _start_worker(langsmith_server, state, "--once")
    _, err = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, err
    _assert_complete(langsmith_server, runs, state)
    assert not list(tmp_path.glob(".state.json.*"))  # no temp files left behind


def test_sigint_finishes_the_batch_in_flight(langsmith_server: LocalLangSmith, tmp_path: Path):
    post_conversation_runs(langsmith_server, PROJECT, ITEMS)
    state = tmp_path / "state.json"
    worker = _start_worker(langsmith_server, state, "--interval", "30")
    _wait_for(lambda: len(langsmith_server.feedback) >= 1, worker, "the first feedback")
    worker.send_signal(signal.SIGINT)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "finishing the batch in flight" in err
    assert "stopped:" in out
    totals = (_state(state) or {})["totals"]
    done = _items(totals)
    assert done >= BATCH  # the batch in flight was finished and committed ...
    assert done % BATCH == 0  # ... whole batches only
    assert done < ITEMS  # and it stopped instead of draining everything
    assert len(langsmith_server.feedback) == done  # every committed item has its feedback
