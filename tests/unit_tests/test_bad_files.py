"""Bad files never crash a reader: every file the package reads goes through files.py.

Each reader gets the same three bad files (JSON nested 1,500 deep, which was a RecursionError
before; a Latin-1 byte, a UnicodeDecodeError before; a line over the size limit) and must answer
with its own clear error naming the file and the line, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from langchain_perceived_error.bench.data import BenchDataError, load_labelled
from langchain_perceived_error.bench.pricing import PriceFileError, load_price_file
from langchain_perceived_error.cli.queue import ResultsScan, items_from_results
from langchain_perceived_error.core import files
from langchain_perceived_error.core.files import FileReadError, Limits
from langchain_perceived_error.datasets.labels import (
    LabelFileError,
    load_judge_output,
    load_labelled_jsonl,
    read_labelled,
)
from langchain_perceived_error.datasets.langsmith_dataset import (
    DatasetPushError,
    splits_from_sft_dir,
)
from langchain_perceived_error.datasets.reviews import read_reviews
from langchain_perceived_error.datasets.sft import validate_sft_file
from langchain_perceived_error.online.state import StateFileError, load_state
from tests.unit_tests.test_cli import run_cli

SMALL_LIMIT = 4096
DEEP = b"[" * 1500 + b"]" * 1500  # json.loads raised RecursionError past ~1,000
LATIN1 = '{"id": "café"}'.encode("latin-1")
HUGE = b'{"id": "' + b"x" * (SMALL_LIMIT * 3) + b'"}'
BAD = {"deep": DEEP, "latin1": LATIN1, "huge": HUGE}
EXPECTED = {"deep": "nested too deeply", "latin1": "not UTF-8 (byte 0xe9", "huge": "than"}


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch):
    monkeypatch.setattr(files, "LIMITS", Limits(max_bytes=SMALL_LIMIT))


def _raises(error: type[Exception], read: Callable[[Path], object]) -> Callable[[Path], str]:
    def message(path: Path) -> str:
        with pytest.raises(error) as info:
            read(path)
        return str(info.value)

    return message


def _queue_results(path: Path) -> str:
    scan = ResultsScan()
    assert list(items_from_results(path, scan)) == []
    assert len(scan.unreadable) == 1
    return scan.unreadable[0]


def _sft_validate(path: Path) -> str:
    report = validate_sft_file(path)
    problems = [line for line in report.lines() if "blank line" not in line]
    return problems[0]


def _dataset_push_sft(path: Path) -> str:
    (path.parent / "train.jsonl").write_bytes(path.read_bytes())
    (path.parent / "holdout.jsonl").write_bytes(b"")
    with pytest.raises(DatasetPushError) as info:
        splits_from_sft_dir(path.parent)
    return str(info.value).replace("train.jsonl", path.name)


JSONL_READERS: dict[str, Callable[[Path], str]] = {
    "reviews (label --import-reviews)": _raises(LabelFileError, lambda p: list(read_reviews(p))),
    "labelled records (sft build, dataset push)": _raises(
        LabelFileError, lambda p: list(read_labelled(p))
    ),
    "labelled JSONL with a mapping": _raises(
        LabelFileError, lambda p: list(load_labelled_jsonl(p))
    ),
    "judge output joined with its input": _raises(
        LabelFileError, lambda p: list(load_judge_output(p, []))
    ),
    "bench data": _raises(BenchDataError, load_labelled),
    "queue --results": _queue_results,
    "sft validate / upload": _sft_validate,
    "dataset push (SFT build dir)": _dataset_push_sft,
}
WHOLE_FILE_READERS: dict[str, Callable[[Path], str]] = {
    "prices": _raises(PriceFileError, load_price_file),
    "watch state": _raises(StateFileError, load_state),
}


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("reader", list(JSONL_READERS))
def test_a_bad_line_is_one_clear_error_naming_file_and_line(tmp_path, reader, kind):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n" + BAD[kind] + b"\n")  # the bad line is line 2
    message = JSONL_READERS[reader](path)
    assert "data.jsonl:2" in message
    assert EXPECTED[kind] in message
    assert "\n" not in message
    assert len(message) < 400


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("reader", list(WHOLE_FILE_READERS))
def test_a_bad_whole_file_is_one_clear_error_naming_the_file(tmp_path, reader, kind):
    path = tmp_path / "data.json"
    path.write_bytes(b'{"a": ' + BAD[kind] + b"}")
    message = WHOLE_FILE_READERS[reader](path)
    assert str(path) in message
    assert EXPECTED[kind] in message
    if kind == "latin1":
        assert f"{path}:1" in message


def test_a_deep_toml_price_file_is_a_clear_error(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text("m = " + "[" * 1500 + "]" * 1500 + "\n")
    with pytest.raises(PriceFileError, match="nested too deeply"):
        load_price_file(path)


def test_resume_on_an_output_with_a_corrupt_complete_line_is_a_clear_error(tmp_path):
    inputs, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inputs.write_text(json.dumps({"id": "a", "messages": [["user", "hi"]]}) + "\n")
    for bad in (DEEP, LATIN1, b"{not json", b"[1, 2]"):
        output.write_bytes(b'{"id": "a", "status": "skipped"}\n' + bad + b"\n")
        proc = run_cli("judge", inputs, "--model", "rules", "-o", output, "--resume")
        assert proc.returncode == 2, proc.stderr
        assert f"line 2 of {output} is not a result line" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_limits_leave_ordinary_files_alone(tmp_path):
    path = tmp_path / "ok.jsonl"
    nested: object = "leaf"
    for _ in range(files.LIMITS.max_depth - 1):
        nested = [nested]
    text = json.dumps({"brackets in a string": '[[[[{{{{\\"' * 100, "nested": nested})
    path.write_text(text + "\n\n" + json.dumps({"b": 2}) + "\n")
    assert list(files.read_json_lines(path)) == [
        (f"{path}:1", json.loads(text)),
        (f"{path}:3", {"b": 2}),
    ]


def test_a_missing_file_is_a_file_read_error(tmp_path):
    with pytest.raises(FileReadError, match=r"cannot read the file .*missing\.jsonl"):
        list(files.read_json_lines(tmp_path / "missing.jsonl"))
    with pytest.raises(FileReadError, match="cannot read the file"):
        list(files.read_json_lines(tmp_path))


def test_label_never_overwrites_a_review_file_it_cannot_read(tmp_path):
    inputs, review = tmp_path / "in.jsonl", tmp_path / "labelled.review.jsonl"
    inputs.write_text(json.dumps({"id": "a", "messages": [["user", "hi"]]}) + "\n")
    answers = b'{"id": "x", "perceived_error": true, "reason": "caf\xe9"}\n'  # saved as Latin-1
    review.write_bytes(answers)
    output = tmp_path / "labelled.jsonl"
    proc = run_cli("label", inputs, "-p", "rules", "-p", "rules", "-o", output)
    assert proc.returncode == 2, proc.stderr
    assert f"{review}:1: not UTF-8" in proc.stderr.replace("\n", "")
    assert review.read_bytes() == answers
    assert not output.exists()


def test_a_watch_state_file_that_is_a_directory_is_a_clear_error(tmp_path):
    with pytest.raises(
        StateFileError, match=r"cannot read the watch state file .*: Is a directory"
    ):
        load_state(tmp_path)
