"""Issue 10: a careless user's commands get one line, the documented exit code, and no damage.

Every case runs the real CLI in-process (typer's runner) with the keys removed from the
environment, and checks: no traceback, the exit code of the README's table, the message, and
that every input file is byte for byte what it was.
"""

import io
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.cli.errors import EXIT_CODES, Terminated

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "cookbook" / "data" / "sample_traces.jsonl"
JOB = "fireworks:accounts/fireworks/models/qwen3p5-35b-a3b"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder holding a copy of the sample as `traces.jsonl`, `runs[prod].jsonl` and a CSV."""
    for name in (
        "OPENAI_API_KEY",
        "FIREWORKS_API_KEY",
        "LANGSMITH_API_KEY",
        "PERCEIVED_ERROR_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLE, tmp_path / "traces.jsonl")
    shutil.copy(SAMPLE, tmp_path / "runs[prod].jsonl")
    (tmp_path / "table.csv").write_text("id,question\n1,hello\n")
    labelled = {
        "id": "l1",
        "turns": [
            {"role": "user", "content": "Book Tuesday."},
            {"role": "assistant", "content": "Booked Wednesday."},
            {"role": "user", "content": "No, I said Tuesday."},
        ],
        "perceived_error": True,
        "reason": "The user corrects the day.",
        "label_source": "human",
    }
    (tmp_path / "labelled.jsonl").write_text(json.dumps(labelled) + "\n")
    (tmp_path / "a_folder").mkdir()
    return tmp_path


# (arguments, exit code, a part of the one-line message)
MISTAKES = [
    # an output that is one of the inputs
    (["judge", "traces.jsonl", "-m", "rules", "-o", "traces.jsonl"], 2, "is also an input"),
    (["label", "traces.jsonl", "-p", "rules", "-p", "rules", "-o", "traces.jsonl"], 2,
     "is also an input"),
    (["label", "traces.jsonl", "-p", "rules", "-p", "rules", "--review", "traces.jsonl"], 2,
     "is also an input"),
    (["bench", "traces.jsonl", "-m", "rules", "--cache", "traces.jsonl"], 2, "is also an input"),
    (["bench", "traces.jsonl", "-m", "rules", "--report", "traces.jsonl"], 2, "it is a file"),
    (["sft", "build", "labelled.jsonl", "--out", "labelled.jsonl"], 2, "it is a file"),
    (["batch", "submit", "traces.jsonl", "-m", JOB, "--work-dir", "traces.jsonl", "--dry-run"], 2,
     "is a file"),
    (["batch", "collect", "job-1", "-o", "traces.jsonl", "--input", "traces.jsonl"], 2,
     "is also an input"),
    # outputs that cannot be written
    (["judge", "traces.jsonl", "-m", "rules", "-o", "missing_dir/out.jsonl"], 2,
     "the folder missing_dir does not exist (create it first)"),
    (["judge", "traces.jsonl", "-m", "rules", "-o", "a_folder"], 2, "it is a folder"),
    (["bench", "traces.jsonl", "-m", "rules", "--report", "missing_dir/report"], 2,
     "does not exist"),
    (["sft", "build", "labelled.jsonl", "--out", "missing_dir/sft"], 2, "does not exist"),
    # inputs that cannot be read
    (["judge", "traces.jsonl", "missing.jsonl", "-m", "rules"], 1,
     "cannot read missing.jsonl: no such file"),
    (["judge", "a_folder", "-m", "rules"], 1, "it is a folder"),
    (["label", "missing.jsonl", "-p", "rules", "-p", "rules", "-o", "out.jsonl"], 1,
     "cannot read missing.jsonl"),
    (["bench", "missing.jsonl", "-m", "rules"], 1, "cannot read missing.jsonl"),
    (["judge", "table.csv", "-m", "rules"], 1, "none of the 2 records could be judged"),
    # bad specs, providers without keys
    (["judge", "traces.jsonl", "-m", "openai:gpt-4o"], 2, "OPENAI_API_KEY"),
    (["judge", "traces.jsonl", "-m", "openai[x]"], 2, "unknown model spec 'openai[x]'"),
    (["judge", "traces.jsonl", "-m", "fireworks:x"], 2, "FIREWORKS_API_KEY is not set"),
    (["bench", "traces.jsonl", "-m", "rules", "-m", "rules"], 2, "given more than once"),
    (["cost", "--traces-per-day", "10", "-m", "bogus", "--input-tokens", "9",
      "--output-tokens", "9"], 2, "no price is known for bogus"),
    (["judge", "traces.jsonl", "--resume"], 2, "--resume needs --output FILE"),
    (["label", "traces.jsonl", "-p", "rules", "-o", "out.jsonl"], 2,
     "error: a panel needs at least two models, got 1"),
    # bad options and arguments: one line pointing at -h, not click's usage block
    (["judge", "traces.jsonl", "--bogus"], 2, "No such option: --bogus (perceived-error judge -h"),
    (["bench", "traces.jsonl", "--target-precision", "abc"], 2, "'--target-precision'"),
    (["queue", "--min-confidence", "2"], 2, "'--min-confidence'"),
    (["judge", "traces.jsonl", "-m", "rules", "--timeout", "inf"], 2, "'--timeout'"),
    (["judge", "traces.jsonl", "-m", "rules", "--timeout", "nan"], 2, "'--timeout'"),
    (["bench"], 2, "Missing argument"),
    (["no-such-command"], 2, "No such command"),
    # user text with brackets is text, not markup
    (["judge", "runs[prod].jsonl", "missing[1].jsonl", "-m", "rules"], 1,
     "cannot read missing[1].jsonl"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "message"), MISTAKES, ids=lambda v: str(v)[:60])
def test_a_mistake_gets_one_line_its_exit_code_and_damages_nothing(work, args, code, message):
    before = {p: p.read_bytes() for p in work.iterdir() if p.is_file()}
    result = CliRunner().invoke(app, args)
    output = result.output
    assert "Traceback" not in output
    assert result.exit_code == code, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    assert message in errors[0]
    assert {p: p.read_bytes() for p in before} == before


def test_bracketed_names_are_printed_as_given(work):
    result = CliRunner().invoke(app, ["judge", "runs[prod].jsonl", "-m", "rules", "-o", "o.jsonl"])
    assert result.exit_code == 0, result.output
    assert "results: o.jsonl" in result.output
    assert (work / "o.jsonl").read_text().count("\n") == SAMPLE.read_text().count("\n")


def test_an_unexpected_error_is_one_line_and_a_saved_traceback(work, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        msg = "something [odd] happened"
        raise RuntimeError(msg)

    monkeypatch.setattr("langchain_perceived_error.cli.judge.read_records", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = CliRunner().invoke(app, ["judge", "traces.jsonl", "-m", "rules"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("error: "))
    assert "unexpected RuntimeError: something [odd] happened" in line
    saved = Path(line.split("the traceback is in ", 1)[1].split(";", 1)[0])
    assert "Traceback" in saved.read_text()
    debug = CliRunner().invoke(app, ["--debug", "judge", "traces.jsonl", "-m", "rules"])
    assert "Traceback" in debug.output


def test_help_is_accepted_as_h_and_never_cuts_an_option_name():
    for command in (["judge"], ["label"], ["bench"], ["cost"], ["batch", "submit"], ["watch"]):
        result = CliRunner().invoke(app, [*command, "-h"], terminal_width=80, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert "…" not in result.output
        for line in result.output.splitlines():
            assert len(line) <= 100, line
    judge_help = CliRunner().invoke(app, ["judge", "-h"], env={"COLUMNS": "80"}).output
    assert "--max-input-tokens" in judge_help
    cost_help = CliRunner().invoke(app, ["cost", "-h"], env={"COLUMNS": "80"}).output
    assert "--traces-per-day" in cost_help


def test_the_readme_documents_every_exit_code():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Errors and exit codes", 1)[1].split("\n\n#", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    documented = {code.strip() for row in rows[1:] for code in row.split("|")[1].split("/")}
    assert documented == {str(code) for code in EXIT_CODES}


def test_label_files_get_the_umask_permissions(work):
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            app, ["label", "traces.jsonl", "-p", "rules", "-p", "rules", "-o", "out.jsonl"]
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((work / "out.jsonl").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_the_bundled_sample_can_be_benchmarked_and_the_charts_hint_names_the_extra(
    work, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    args = ["bench", "traces.jsonl", "-m", "rules", "--label-field", "expected_perceived_error"]
    result = CliRunner().invoke(app, [*args, "--report", "rep"])
    assert result.exit_code == 0, result.output
    assert "52 labelled records of traces.jsonl" in result.output
    assert "pip install 'langchain-perceived-error[bench]'" in result.output


@pytest.mark.parametrize("width", [80, 100])
def test_the_run_summary_is_legible_on_an_ordinary_terminal(width):
    from rich.console import Console

    from langchain_perceived_error.cli.summary import RunSummary

    summary = RunSummary(model="fireworks:accounts/fireworks/models/qwen3p5-35b-a3b")
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(summary.table())
    text = console.export_text()
    assert "…" not in text
    assert "qwen3p5-35b-a3b" in text.replace("\n", "")
    assert max(len(line) for line in text.splitlines()) <= width


def test_a_bad_option_prints_one_line_and_no_usage_block(work):
    result = CliRunner().invoke(app, ["bench", "traces.jsonl", "--target-precision", "2"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: Invalid value for '--target-precision': Input should be less than or equal to 1 "
        "(perceived-error bench -h shows the options)"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["judge", "traces.jsonl", "-m", "rules", "-o", "a_pipe"],
        ["label", "traces.jsonl", "-p", "rules", "-p", "rules", "-o", "a_pipe"],
    ],
    ids=["judge", "label"],
)
def test_an_output_that_is_a_pipe_or_device_is_refused_and_left_in_place(work, args):
    # `-o /dev/null` run as root used to replace the device with a regular file (renamed over it)
    os.mkfifo(work / "a_pipe")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: cannot write a_pipe: it is not a regular file (a device, pipe or socket) "
        "(give the path of a regular file)"
    ]
    assert stat.S_ISFIFO((work / "a_pipe").stat().st_mode)
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("a_pipe")) == ["a_pipe"]


@pytest.mark.parametrize("group", ["sft", "batch", "dataset"])
def test_a_group_without_its_subcommand_shows_its_help_not_one_squashed_line(group):
    result = CliRunner().invoke(app, [group])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Usage: perceived-error {group} [OPTIONS] COMMAND")
    assert "Commands:" in lines
    assert not any(line.startswith("error: ") for line in lines)


def test_bench_prints_each_definition_on_one_line_when_piped(work):
    args = ["bench", "traces.jsonl", "-m", "rules", "--label-field", "expected_perceived_error"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    compact = next(line for line in result.stdout.splitlines() if line.startswith("  compact: "))
    assert compact.endswith("(nothing subtracted)")  # was cut at 240 columns, mid-sentence


@pytest.mark.parametrize(
    ("raised", "code", "said"),
    [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")],
)
def test_an_interrupt_before_judging_starts_says_so(work, monkeypatch, raised, code, said):
    # e.g. Ctrl-C while a large input is counted: exit 130 used to come without a word
    def counting(*args, **kwargs):
        raise raised

    monkeypatch.setattr("langchain_perceived_error.cli.judge.count_records", counting)
    result = CliRunner().invoke(app, ["judge", "traces.jsonl", "-m", "rules", "-o", "o.jsonl"])
    assert result.exit_code == code, result.output
    assert result.output.splitlines() == [f"{said}: the command stopped before it finished"]


def test_a_run_without_resume_keeps_the_results_an_interrupted_run_left(work):
    first_id = json.loads(SAMPLE.read_text().splitlines()[0])["id"]
    partial = work / "o.jsonl.partial"
    partial.write_text(json.dumps({"id": first_id, "status": "judged"}) + "\n")
    kept = partial.read_bytes()
    args = ["judge", "traces.jsonl", "-m", "rules", "-o", "o.jsonl"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output  # it used to start again and drop those lines
    assert result.output.splitlines() == [
        "error: o.jsonl.partial holds the results of an interrupted run (add --resume to "
        "continue it, or delete o.jsonl.partial to start again)"
    ]
    assert partial.read_bytes() == kept
    resumed = CliRunner().invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    lines = (work / "o.jsonl").read_text().splitlines()
    assert len(lines) == SAMPLE.read_text().count("\n")
    assert json.loads(lines[0]) == {"id": first_id, "status": "judged"}


def test_label_of_records_none_of_which_can_be_read_exits_1_as_judge_does(work):
    (work / "nulls.jsonl").write_text("null\nnull\n[1, 2]\n")
    judged = CliRunner().invoke(app, ["judge", "nulls.jsonl", "-m", "rules"])
    assert judged.exit_code == 1, judged.output
    args = ["label", "nulls.jsonl", "-p", "rules", "-p", "rules", "-o", "out.jsonl"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # was 0, with nothing labelled
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == ["error: none of the 3 records could be read (see `unreadable` above)"]


@pytest.mark.parametrize(
    "args",
    [
        ["judge", "traces.jsonl", "-m", "rules", "-o", "-"],
        ["label", "traces.jsonl", "-p", "rules", "-p", "rules", "-o", "-"],
    ],
    ids=["judge", "label"],
)
def test_a_dash_as_output_is_refused_not_written_as_a_file_named_dash(work, args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: cannot write '-': it would be a file named '-', not stdout (give a file name)"
    ]
    assert not (work / "-").exists()


def test_after_an_interrupt_the_coroutines_it_abandoned_are_not_reported(monkeypatch):
    # Ctrl-C lands in any bytecode: a coroutine created but not yet started is collected with a
    # "never awaited" warning, one closed after its loop is gone raises into sys.unraisablehook
    # (seen on stderr after `judge --order completion` was interrupted). Reports about other
    # objects, and other errors of coroutines, still go through.
    import gc
    import signal
    import warnings
    from types import SimpleNamespace

    from langchain_perceived_error.cli import errors

    passed_on: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: passed_on.append(unraisable))
    monkeypatch.setattr(errors, "_INTERRUPTED", [])

    async def step() -> int:
        return 1

    def abandon() -> list[str]:
        coroutine = step()
        del coroutine
        gc.collect()
        return [str(w.message) for w in caught if "was never awaited" in str(w.message)]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with warnings.catch_warnings(), pytest.raises(KeyboardInterrupt):
            # the interrupt lands inside a block that restores the filters when it exits
            errors._raise_interrupt(signal.SIGINT, None)
        with errors._signals_as_interrupts():  # the command's signal handling ends
            pass
        assert abandon() == []
        coroutine = step()
        shutdown = SimpleNamespace(object=coroutine, exc_value=RuntimeError("no running loop"))
        sys.unraisablehook(shutdown)
        real = SimpleNamespace(object=coroutine, exc_value=OSError("disk full"))
        sys.unraisablehook(real)
        coroutine.close()
        other = SimpleNamespace(object="a file", exc_value=RuntimeError("x"))
        sys.unraisablehook(other)
    assert passed_on == [real, other]
