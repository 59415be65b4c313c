"""Read input records from .jsonl / .json files or stdin, one at a time, each input once.

A ``.jsonl`` file (or ``-`` for stdin) holds one record per line; a ``.json`` file holds one
record. A record is anything :func:`~langchain_perceived_error.extract_transcript` reads: a
conversation (a list of messages or ``{"messages": [...]}``), a LangSmith run, or a thread
(``{"runs": [...]}``). An ``id`` field is carried through to the result.

Every byte is accounted for: input is read as bytes and each line decoded on its own (through
:mod:`langchain_perceived_error.core.files`), so a line that is not UTF-8, not valid JSON, nested
too deeply or too long becomes an :class:`UnreadableRecord` for that line (the judge reports it as a
failed record naming ``file:line``) and the records around it are read as usual.

Inputs are read once, so FIFOs, process substitution (``judge <(cat x.jsonl)``) and stdin work;
:func:`count_records` counts regular files only (a second read of anything else would find it
empty or block).
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict

from langchain_perceived_error.core.files import (
    FileReadError,
    json_lines,
    parse_json,
    read_text,
)

__all__ = [
    "STDIN",
    "ReadReport",
    "SourcedRecord",
    "UnreadableRecord",
    "count_records",
    "read_records",
]

STDIN = "-"


class UnreadableRecord(BaseModel):
    """A record that could not be parsed; judging it yields a failed result with ``error``."""

    model_config = ConfigDict(frozen=True)

    source: str
    error: str


@dataclass(frozen=True)
class SourcedRecord:
    """A record and where it came from (``path:line``), used as its id when it has none."""

    source: str
    payload: Any


@dataclass
class ReadReport:
    """What :func:`read_records` managed to read, filled in as it goes."""

    records: int = 0
    unreadable_sources: list[str] = field(default_factory=list)


def _unreadable(error: FileReadError, source: str) -> UnreadableRecord:
    return UnreadableRecord(source=source, error=str(error))


def _lines(stream: IO[bytes], name: str) -> Iterator[SourcedRecord]:
    for line in json_lines(stream, name):
        payload = line.value if line.error is None else _unreadable(line.error, line.where)
        yield SourcedRecord(line.where, payload)


def _whole(stream: IO[bytes], name: str) -> SourcedRecord:
    try:
        return SourcedRecord(name, parse_json(read_text(stream, name), name))
    except FileReadError as e:
        return SourcedRecord(name, _unreadable(e, name))


def _open_source(path: str, stdin: IO[bytes], report: ReadReport) -> Iterator[SourcedRecord]:
    if path == STDIN:
        yield from _lines(stdin, "stdin")
        return
    file = Path(path)
    try:
        with file.open("rb") as stream:
            if file.suffix.lower() == ".json":
                yield _whole(stream, file.name)
            else:
                yield from _lines(stream, file.name)
    except OSError as e:
        report.unreadable_sources.append(f"{path}: {e.strerror or e}")


def read_records(
    paths: Sequence[str], report: ReadReport, stdin: IO[bytes] | None = None
) -> Iterator[SourcedRecord]:
    """Yield every record of ``paths`` in order, lazily; problems are noted in ``report``.

    ``stdin`` (read for ``-``) defaults to the process's standard input, as bytes.
    """
    for path in paths:
        for record in _open_source(path, stdin or sys.stdin.buffer, report):
            report.records += 1
            yield record


def count_records(paths: Sequence[str]) -> int | None:
    """How many records ``paths`` hold (non-blank lines), or None when that cannot be known
    without reading an input twice (stdin, a FIFO, process substitution).
    """
    if STDIN in paths:
        return None
    total = 0
    for path in paths:
        file = Path(path)
        try:
            if not stat.S_ISREG(file.stat().st_mode):
                return None
            if file.suffix.lower() == ".json":
                total += 1
                continue
            with file.open("rb") as stream:
                total += sum(1 for line in stream if line.strip())
        except OSError:
            continue
    return total
