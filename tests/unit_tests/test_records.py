"""Every byte of input is accounted for; inputs are read once; inputs are checked before outputs."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from langchain_perceived_error.cli.paths import check_inputs
from langchain_perceived_error.core import files
from langchain_perceived_error.core.files import Limits
from langchain_perceived_error.core.records import (
    ReadReport,
    UnreadableRecord,
    count_records,
    read_records,
)
from tests.unit_tests.test_cli import ROOT, read_lines, run_cli

N, BAD = 300, 151  # 300 records, a Latin-1 byte in record 151 (the case of issue 12)


def _record(i: int) -> dict[str, object]:
    last = "No, I said Tuesday." if i % 2 else "Thanks!"
    messages = [["user", f"move meeting {i}"], ["assistant", "Moved."], ["user", last]]
    return {"id": f"r{i:03d}", "messages": messages}


def _latin1_file(path: Path) -> Path:
    with path.open("wb") as out:
        for i in range(1, N + 1):
            line = json.dumps(_record(i), ensure_ascii=False)
            if i == BAD:
                out.write(line.replace("Moved.", "Movéd.").encode("latin-1") + b"\n")
            else:
                out.write(line.encode("utf-8") + b"\n")
    return path


def _check_latin1_run(lines: list[dict[str, object]], bad_id: str) -> None:
    assert len(lines) == N
    assert [line["id"] for line in lines[: BAD - 1]] == [f"r{i:03d}" for i in range(1, BAD)]
    assert [line["id"] for line in lines[BAD:]] == [f"r{i:03d}" for i in range(BAD + 1, N + 1)]
    failed = lines[BAD - 1]
    assert failed["id"] == bad_id
    assert failed["status"] == "failed"
    assert f"{bad_id}: not UTF-8 (byte 0xe9" in str(failed["error"])
    assert sum(line["status"] == "failed" for line in lines) == 1


def test_a_non_utf8_line_is_one_unreadable_record_among_the_others(tmp_path):
    path = _latin1_file(tmp_path / "x.jsonl")
    records = list(read_records([str(path)], ReadReport()))
    assert len(records) == N
    bad = records[BAD - 1]
    assert isinstance(bad.payload, UnreadableRecord)
    assert bad.source == f"x.jsonl:{BAD}"
    assert all(
        not isinstance(r.payload, UnreadableRecord) for i, r in enumerate(records) if i != BAD - 1
    )


def test_judge_a_file_with_a_latin1_byte_writes_every_line(tmp_path):
    path = _latin1_file(tmp_path / "x.jsonl")
    proc = run_cli("judge", path, "--model", "rules")
    assert proc.returncode == 0, proc.stderr
    _check_latin1_run(read_lines(proc.stdout), f"x.jsonl:{BAD}")


def test_judge_stdin_with_a_latin1_byte_writes_every_line(tmp_path):
    data = _latin1_file(tmp_path / "x.jsonl").read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    command = [sys.executable, "-m", "langchain_perceived_error", "judge", "-", "-m", "rules"]
    proc = subprocess.run(command, input=data, capture_output=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    _check_latin1_run(read_lines(proc.stdout.decode("utf-8")), f"stdin:{BAD}")


def test_read_records_reads_stdin_as_bytes():
    stdin = io.BytesIO(b'{"id": "a", "messages": []}\n\xff\xfe\n\n{"id": "b"}\n')
    records = list(read_records(["-"], ReadReport(), stdin=stdin))
    assert [r.source for r in records] == ["stdin:1", "stdin:2", "stdin:4"]
    assert isinstance(records[1].payload, UnreadableRecord)
    assert "stdin:2: not UTF-8 (byte 0xff at column 1)" in records[1].payload.error


def test_a_json_file_that_is_not_utf8_is_one_unreadable_record(tmp_path):
    path = tmp_path / "one.json"
    path.write_bytes(b'{"id": "a",\n "messages": "caf\xe9"}')
    (record,) = read_records([str(path)], ReadReport())
    assert isinstance(record.payload, UnreadableRecord)
    assert "one.json:2: not UTF-8 (byte 0xe9 at column 18)" in record.payload.error


def test_a_line_over_the_limit_is_skipped_without_losing_its_neighbours(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "LIMITS", Limits(max_bytes=1000))
    path = tmp_path / "x.jsonl"
    huge = json.dumps({"id": "huge", "text": "x" * 50_000})
    path.write_text("\n".join([json.dumps({"id": "a"}), huge, json.dumps({"id": "b"})]) + "\n")
    records = list(read_records([str(path)], ReadReport()))
    assert [r.source for r in records] == ["x.jsonl:1", "x.jsonl:2", "x.jsonl:3"]
    assert records[0].payload == {"id": "a"}
    assert records[2].payload == {"id": "b"}
    assert isinstance(records[1].payload, UnreadableRecord)
    assert "x.jsonl:2: line longer than 1,000 bytes" in records[1].payload.error


def test_a_line_over_the_real_limit_is_one_failed_record(tmp_path):
    path = tmp_path / "x.jsonl"
    with path.open("wb") as out:
        out.write(b'{"id": "a"}\n{"id": "huge", "text": "')
        chunk = b"x" * (1 << 20)
        for _ in range(files.LIMITS.max_bytes // len(chunk) + 1):
            out.write(chunk)
        out.write(b'"}\n{"id": "b"}\n')
    records = list(read_records([str(path)], ReadReport()))
    assert [r.payload for r in (records[0], records[2])] == [{"id": "a"}, {"id": "b"}]
    assert isinstance(records[1].payload, UnreadableRecord)
    assert "line longer than 64 MiB" in records[1].payload.error


def _feed_fifo(fifo: Path, data: bytes) -> threading.Thread:
    def write() -> None:
        with fifo.open("wb") as out:
            out.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_fifo_is_read_once_and_never_counted(tmp_path):
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    assert count_records([str(fifo)]) is None  # would block or consume it if it were read
    check_inputs([str(fifo)])  # only looked at: a writer is not needed yet
    data = "".join(json.dumps(_record(i)) + "\n" for i in range(1, 21)).encode()
    writer = _feed_fifo(fifo, data)
    proc = run_cli("judge", fifo, "--model", "rules")
    writer.join(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert [line["id"] for line in read_lines(proc.stdout)] == [f"r{i:03d}" for i in range(1, 21)]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for <(...)")
def test_process_substitution_is_read_once(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps(_record(i)) + "\n" for i in range(1, 21)))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    script = f'"{sys.executable}" -m langchain_perceived_error judge <(cat "{path}") -m rules'
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert [line["id"] for line in read_lines(proc.stdout)] == [f"r{i:03d}" for i in range(1, 21)]


def test_count_records_counts_regular_files_only(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n')
    one = tmp_path / "one.json"
    one.write_text("{}")
    assert count_records([str(path), str(one)]) == 3
    assert count_records([str(path), "-"]) is None


@pytest.mark.parametrize("command", ["judge", "label"])
def test_a_mistyped_input_never_touches_the_output(tmp_path, command):
    output = tmp_path / "labelled.jsonl"
    kept = "".join(json.dumps({"id": f"k{i}"}) + "\n" for i in range(272))
    output.write_text(kept)
    extra = ["-p", "rules", "-p", "rules"] if command == "label" else ["-m", "rules"]
    proc = run_cli(command, tmp_path / "typo.jsonl", *extra, "-o", output)
    assert proc.returncode == 1, proc.stderr
    assert f"cannot read {tmp_path / 'typo.jsonl'}" in proc.stderr
    assert output.read_text() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labelled.jsonl"]


def test_label_a_file_with_a_latin1_byte_labels_every_other_record(tmp_path):
    path = _latin1_file(tmp_path / "x.jsonl")
    output = tmp_path / "labelled.jsonl"
    proc = run_cli("label", path, "-p", "rules", "-p", "rules", "-o", output)
    assert proc.returncode == 0, proc.stderr
    labelled = [line["id"] for line in read_lines(output.read_text())]
    assert labelled == [f"r{i:03d}" for i in range(1, N + 1) if i != BAD]
    assert "unreadable" in proc.stderr
