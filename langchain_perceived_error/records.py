"""Read input records from .jsonl / .json files or stdin, one at a time.

A ``.jsonl`` file (or ``-`` for stdin) holds one record per line; a ``.json`` file holds one
record. A record is anything :func:`~langchain_perceived_error.extract_transcript` reads: a
conversation (a list of messages or ``{"messages": [...]}``), a LangSmith run, or a thread
(``{"runs": [...]}``). An ``id`` field is carried through to the result. A line that is not valid
JSON becomes an :class:`UnreadableRecord`, which the judge reports as a failed record: nothing is
dropped silently.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict

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


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as e:
        return UnreadableRecord(source=source, error=f"invalid JSON at {source}: {e}")
    except RecursionError:
        return UnreadableRecord(source=source, error=f"JSON nested too deeply at {source}")


def _lines(stream: TextIO, name: str) -> Iterator[SourcedRecord]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            source = f"{name}:{number}"
            yield SourcedRecord(source, _parse(line, source))


def _open_source(path: str, stdin: TextIO, report: ReadReport) -> Iterator[SourcedRecord]:
    if path == STDIN:
        yield from _lines(stdin, "stdin")
        return
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as stream:
            if file.suffix.lower() == ".json":
                yield SourcedRecord(file.name, _parse(stream.read(), file.name))
            else:
                yield from _lines(stream, file.name)
    except (OSError, UnicodeDecodeError) as e:
        report.unreadable_sources.append(f"{path}: {e}")


def read_records(
    paths: Sequence[str], report: ReadReport, stdin: TextIO | None = None
) -> Iterator[SourcedRecord]:
    """Yield every record of ``paths`` in order, lazily; problems are noted in ``report``."""
    for path in paths:
        for record in _open_source(path, stdin or sys.stdin, report):
            report.records += 1
            yield record


def count_records(paths: Sequence[str]) -> int | None:
    """How many records ``paths`` hold (non-blank lines), or None when stdin is among them."""
    if STDIN in paths:
        return None
    total = 0
    for path in paths:
        file = Path(path)
        if file.suffix.lower() == ".json":
            total += 1
            continue
        try:
            with file.open("rb") as stream:
                total += sum(1 for line in stream if line.strip())
        except OSError:
            continue
    return total
