"""Crash-safe resume, redaction before sending, token budgets and too-long errors."""

import asyncio
import gc
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.cli.errors import Terminated, run_interruptibly
from tests.fakes import ScriptedChatModel, ScriptedError
from tests.unit_tests.test_cli import ROOT, read_lines, run_cli
from tests.unit_tests.test_graph import FAST_RETRY

TRUE = '{"perceived_error": true, "reason": "The user corrects it."}'


def _records(path: Path, n: int) -> list[str]:
    ids = [f"r{i:05d}" for i in range(n)]
    with path.open("w") as f:
        for i, record_id in enumerate(ids):
            last = "No, I said Tuesday." if i % 2 else "Thanks!"
            messages = [
                ["user", f"move meeting {i}"],
                ["assistant", "Moved to Wednesday."],
                ["user", last],
            ]
            f.write(json.dumps({"id": record_id, "messages": messages}) + "\n")
    return ids


def test_judge_resume_after_sigkill_loses_nothing_and_writes_nothing_twice(tmp_path):
    inputs, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"  # where a run writes until it ends
    ids = _records(inputs, 3000)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    command = [
        sys.executable,
        "-m",
        "langchain_perceived_error",
        "judge",
        str(inputs),
        "--model",
        "rules",
        "-c",
        "2",
        "-o",
        str(output),
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not partial.exists() or partial.stat().st_size < 20_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not output.exists(), "a killed run leaves no half-written output"
    written = partial.read_bytes()
    assert 0 < written.count(b"\n") < len(ids), "the kill must land mid-run"
    with partial.open("ab") as f:  # as if the kill had cut a line in half
        f.write(b'{"id": "r99999", "status": "jud')
    resumed = run_cli("judge", inputs, "--model", "rules", "-o", output, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "records already in" in resumed.stderr
    lines = read_lines(output.read_text())
    assert not partial.exists()
    assert [line["id"] for line in lines] == ids  # every record once, in order
    assert {line["status"] for line in lines} == {"judged"}


def test_resume_refuses_an_output_of_other_inputs(tmp_path):
    inputs, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _records(inputs, 5)
    output.write_text(json.dumps({"id": "something-else"}) + "\n")
    proc = run_cli("judge", inputs, "--model", "rules", "-o", output, "--resume")
    assert proc.returncode == 2
    assert "resume with the same inputs" in proc.stderr


def test_redaction_masks_personal_data_before_the_model_sees_it():
    model = ScriptedChatModel(script=[TRUE])
    judge = PerceivedErrorJudge(model, redact=True, transport_retry=FAST_RETRY)
    result = judge.judge(
        [
            ("user", "Email the invoice to jane.doe@example.com, card 4111 1111 1111 1111."),
            ("assistant", "Sent to jane.doe@example.org."),
            (
                "user",
                "No! I said .com. Call me on +44 20 7946 0958. My key is sk-abcdefghijklmnop1234",
            ),
        ]
    )
    sent = "\n".join(m.text for m in model.calls[0])
    for original in ("jane.doe@", "4111", "7946", "sk-abcdefghijklmnop1234"):
        assert original not in sent
    assert "[email]" in sent
    assert result.redactions == {"email": 2, "card": 1, "phone": 1, "key": 1}
    assert result.to_record()["redactions"] == result.redactions


def test_without_redaction_the_text_is_sent_as_is():
    model = ScriptedChatModel(script=[TRUE])
    result = PerceivedErrorJudge(model, transport_retry=FAST_RETRY).judge(
        [("user", "mail a@example.com"), ("assistant", "done"), ("user", "wrong address")]
    )
    assert "a@example.com" in model.calls[0][1].text
    assert result.redactions is None


def test_a_huge_trace_is_cut_to_the_budget_and_the_cut_is_recorded():
    model = ScriptedChatModel(script=[TRUE])
    judge = PerceivedErrorJudge(model, max_input_tokens=2000, transport_retry=FAST_RETRY)
    turns = [
        ("user", "context " * 20_000),
        ("assistant", "answer " * 20_000),
        ("user", "No, wrong."),
    ]
    result = judge.judge(turns)
    assert result.status is JudgeStatus.JUDGED
    assert result.budget_cut is not None
    assert result.budget_cut.tokens_before > 20_000
    assert result.budget_cut.tokens_after <= 2000
    sent = model.calls[0][1].text
    assert "cut to fit the judge's context" in sent
    assert "user: No, wrong." in sent
    assert len(sent) < 2000 * 4 + 1000


def test_a_context_length_error_is_a_failure_with_advice():
    model = ScriptedChatModel(script=[ScriptedError(413, "Request Entity Too Large")])
    result = PerceivedErrorJudge(model, transport_retry=FAST_RETRY).judge(
        [("user", "a"), ("assistant", "b"), ("user", "c")]
    )
    assert result.status is JudgeStatus.FAILED
    assert "too long for this model" in (result.error or "")
    assert "--max-input-tokens" in (result.error or "")
    model = ScriptedChatModel(script=[ScriptedError(400, "maximum context length is 32768 tokens")])
    result = PerceivedErrorJudge(model, transport_retry=FAST_RETRY).judge(
        [("user", "a"), ("assistant", "b"), ("user", "c")]
    )
    assert "too long for this model" in (result.error or "")


def test_label_with_a_cache_repeats_no_finished_model_call(tmp_path, httpserver, monkeypatch):
    """A crashed `label` run re-run with the same --cache makes no model call it already made."""
    from tests.unit_tests.test_fireworks_local import PATH, completion

    httpserver.expect_request(PATH, method="POST").respond_with_json(
        completion('{"perceived_error": true, "reason": "The user corrects it."}')
    )
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-local-test")
    monkeypatch.setenv("FIREWORKS_API_BASE", httpserver.url_for("/inference"))
    inputs = tmp_path / "in.jsonl"
    _records(inputs, 6)
    spec = "fireworks:accounts/fireworks/models/gpt-oss-20b"
    args = [
        "label",
        inputs,
        "-p",
        spec,
        "-p",
        "rules",
        "-o",
        tmp_path / "labelled.jsonl",
        "--cache",
        tmp_path / "cache",
    ]
    from typer.testing import CliRunner

    from langchain_perceived_error.cli import app

    first = CliRunner().invoke(app, [str(a) for a in args])
    assert first.exit_code == 0, first.output
    calls = len(httpserver.log)
    assert calls == 6
    second = CliRunner().invoke(app, [str(a) for a in args])
    assert second.exit_code == 0, second.output
    assert len(httpserver.log) == calls  # every call came from the cache


def test_the_panel_redacts_before_any_model_sees_the_trace():
    from langchain_perceived_error.datasets.panel import PanelLabeller

    first = ScriptedChatModel(script=[TRUE])
    second = ScriptedChatModel(script=['{"perceived_error": false, "reason": "fine"}'])
    adjudicator = ScriptedChatModel(script=[TRUE])
    labeller = PanelLabeller([first, second], [adjudicator], redact=True)
    labeller.label(
        {
            "id": "x",
            "messages": [
                ["user", "mail me at jane@example.com"],
                ["assistant", "ok"],
                ["user", "No, jane@example.com not jane@example.org"],
            ],
        }
    )
    for model in (first, second, adjudicator):
        assert model.calls, "every model was asked"
        sent = "\n".join(m.text for call in model.calls for m in call)
        assert "jane@" not in sent
        assert "[email]" in sent


def test_watch_label_and_bench_offer_redact():
    for command in ("watch", "label", "bench"):
        proc = run_cli(command, "--help")
        assert "--redact" in proc.stdout


def _judge_from_a_pipe(output: Path, written: bytes, *options: str) -> subprocess.Popen[bytes]:
    """``perceived-error judge - --model rules`` on a pipe left open after ``written``."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    command = [sys.executable, "-m", "langchain_perceived_error", "judge", "-",
               "--model", "rules", *options, "-o", str(output)]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None
    proc.stdin.write(written)
    proc.stdin.flush()
    return proc


def _wait_for_lines(path: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
        not path.exists() or path.read_bytes().count(b"\n") < count
    ):
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_an_interrupted_judge_says_what_it_wrote_and_how_to_resume(tmp_path, sig, code, word):
    # The records come through a pipe that stays open: the run cannot end before the signal.
    inputs, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    ids = _records(inputs, 40)
    lines = inputs.read_bytes().splitlines(keepends=True)
    proc = _judge_from_a_pipe(output, b"".join(lines[:25]), "-c", "2")
    _wait_for_lines(partial, 20)
    proc.send_signal(sig)
    _, raw_stderr = proc.communicate(timeout=120)  # closes stdin after the signal
    stderr = raw_stderr.decode()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    written = partial.read_bytes().count(b"\n")
    assert 20 <= written <= 25
    message = next(line for line in stderr.splitlines() if line.startswith(f"{word}: "))
    assert f"{word}: {written} result lines written this run to {partial}" in message
    resume = message.split("resume with: ", 1)[1]
    assert resume.startswith("perceived-error judge - ")
    assert resume.endswith(" --resume")
    resumed = run_cli(*shlex.split(resume)[1:], stdin=inputs.read_text())
    assert resumed.returncode == 0, resumed.stderr
    assert [line["id"] for line in read_lines(output.read_text())] == ids


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_while_stdin_waits_for_a_writer_exits_cleanly(tmp_path, sig, code):
    # The writer never closes the pipe: the reader thread is still blocked in a read at exit,
    # which made the interpreter abort (closing sys.stdin while that thread held its lock).
    output = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    _records(tmp_path / "in.jsonl", 1)
    proc = _judge_from_a_pipe(output, (tmp_path / "in.jsonl").read_bytes())
    assert proc.stdin is not None
    assert proc.stderr is not None
    _wait_for_lines(partial, 1)
    proc.send_signal(sig)
    try:
        returncode = proc.wait(timeout=60)  # stdin still open: the read is still blocked
    finally:
        proc.stdin.close()
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert returncode == code, stderr
    assert "Fatal Python error" not in stderr
    assert "Traceback" not in stderr
    assert partial.read_bytes().count(b"\n") == 1  # the record read was judged and written


def _deleted_files_open(pid: int, directory: Path) -> int:
    """How many anonymous (deleted) files in ``directory`` the process holds open."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += target.startswith(f"{directory}/") and target.endswith("(deleted)")
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see open files")
def test_label_killed_mid_run_leaves_no_temporary_file_and_restarts(tmp_path):
    inputs, output = tmp_path / "in.jsonl", tmp_path / "labelled.jsonl"
    ids = _records(inputs, 1000)
    output.write_text("previous\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    args = ["label", str(inputs), "-p", "rules", "-p", "rules", "-o", str(output)]
    args += ["--cache", str(tmp_path / "cache")]
    command = [sys.executable, "-m", "langchain_perceived_error", *args]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _deleted_files_open(proc.pid, tmp_path) < 2:
        time.sleep(0.05)
    time.sleep(0.5)  # well into the run: both outputs are being written
    assert proc.poll() is None, "the kill must land mid-run"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "in.jsonl", "labelled.jsonl"]
    assert output.read_text() == "previous\n"
    restarted = run_cli(*args)
    assert restarted.returncode == 0, restarted.stderr
    assert [json.loads(line)["id"] for line in output.read_text().splitlines()] == ids
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def _interrupted_inside_a_task(runner, caplog) -> list[str]:
    """Run, with ``runner``, work whose inner task is interrupted the way a signal does it."""

    async def node() -> None:
        await asyncio.sleep(0)
        raise Terminated  # what the SIGTERM handler raises in whatever frame runs

    async def work() -> None:  # waits the way LangGraph's runner does: asyncio.wait, no result()
        await asyncio.wait([asyncio.ensure_future(node()), asyncio.ensure_future(asyncio.sleep(9))])

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="asyncio"), pytest.raises(KeyboardInterrupt):
        runner(work())
    gc.collect()  # asyncio reports an unretrieved task exception when the task is collected
    return [r.getMessage() for r in caplog.records if r.name == "asyncio"]


def test_an_interrupt_inside_a_task_is_not_reported_by_asyncio(caplog):
    assert _interrupted_inside_a_task(asyncio.run, caplog)  # what the CLI printed before
    assert _interrupted_inside_a_task(run_interruptibly, caplog) == []
