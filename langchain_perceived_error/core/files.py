"""Guarded reading: every file the package reads, read the same careful way.

Every file the package or the CLI reads (traces, labelled records, review files, judge outputs,
price files, watch state, SFT files) is read as bytes and decoded here, so a bad file is one
clear error naming ``file:line`` (a :class:`FileReadError`), never a traceback:

- a line (or a whole-file document) longer than :attr:`Limits.max_bytes` is refused without
  being held in memory;
- bytes that are not UTF-8 are refused, naming the byte and its column;
- JSON nested deeper than :attr:`Limits.max_depth` is refused before it is parsed (Python's
  parser and every recursive reader after it would otherwise hit ``RecursionError``);
- invalid JSON names its line and column.

:func:`json_lines` yields every line's value *or* its error, so a reader decides: skip the
line, record it as a failure, or stop (:meth:`JsonLine.value_or_raise`).
:func:`read_json_lines` is the strict form. :func:`read_text_file` / :func:`read_json_file` read
a whole small file. :data:`LIMITS` holds the limits in force (tests lower them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

__all__ = [
    "LIMITS",
    "FileReadError",
    "JsonLine",
    "Limits",
    "RawLine",
    "check_depth",
    "decode_line",
    "json_lines",
    "numbered_lines",
    "parse_json",
    "parse_line",
    "read_json_file",
    "read_json_lines",
    "read_text",
    "read_text_file",
]

_MIB = 1 << 20
_DRAIN_CHUNK = _MIB


class FileReadError(ValueError):
    """A file (or one of its lines) cannot be read; the message names ``file[:line]``."""


@dataclass(frozen=True)
class Limits:
    """What one line (or one whole small file) may hold."""

    max_bytes: int = 64 * _MIB
    """Longest line of a JSONL file, and largest whole file, in bytes."""
    max_depth: int = 128
    """Deepest nesting of JSON arrays and objects."""


LIMITS = Limits()
"""The limits every reader uses (read at call time, so a test may replace it)."""

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _too_deep(text: str, max_depth: int) -> bool:
    """True when brackets outside JSON strings nest deeper than ``max_depth``."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # the common case: too few brackets to nest that deep
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth


def _mib(size: int) -> str:
    return f"{size / _MIB:g} MiB" if size >= _MIB else f"{size:,} bytes"


def decode_line(data: bytes, where: str) -> str:
    """``data`` (one line) as UTF-8 text, or a :class:`FileReadError` naming the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(data, e, where, e.start + 1) from e


def _not_utf8(data: bytes, error: UnicodeDecodeError, where: str, column: int) -> FileReadError:
    msg = (
        f"{where}: not UTF-8 (byte 0x{data[error.start]:02x} at column {column}); "
        "save the file as UTF-8"
    )
    return FileReadError(msg)


def check_depth(text: str, where: str) -> None:
    """A :class:`FileReadError` when brackets in ``text`` nest deeper than ``max_depth``."""
    max_depth = LIMITS.max_depth
    if _too_deep(text, max_depth):
        msg = f"{where}: nested too deeply (more than {max_depth} levels)"
        raise FileReadError(msg)


def parse_json(text: str, where: str) -> Any:
    """Parse one JSON document, within :data:`LIMITS`; errors name ``where``."""
    check_depth(text, where)
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as e:
        msg = f"{where}: not valid JSON: {e}"
        raise FileReadError(msg) from e
    except RecursionError as e:  # defensive: the depth check runs first
        msg = f"{where}: JSON nested too deeply"
        raise FileReadError(msg) from e


@dataclass(frozen=True)
class RawLine:
    """One line of a file as bytes (line ending included), or None when it was too long."""

    number: int
    data: bytes | None


def numbered_lines(stream: IO[bytes]) -> Iterator[RawLine]:
    """Every line of a binary stream, numbered from 1; a line over ``max_bytes`` is skipped
    without being held in memory and comes as ``data=None``.
    """
    limit = LIMITS.max_bytes
    number = 0
    while True:
        data = stream.readline(limit + 1)
        if not data:
            return
        number += 1
        if len(data) > limit and not data.endswith(b"\n"):
            while data and not data.endswith(b"\n"):  # drain the rest of the long line
                data = stream.readline(_DRAIN_CHUNK)
            yield RawLine(number, None)
        else:
            yield RawLine(number, data)


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line of a JSONL file: its parsed value, or why it could not be read."""

    where: str
    """``file:line``."""
    number: int
    value: Any = None
    error: FileReadError | None = None

    def value_or_raise(self) -> Any:
        """The parsed value; the line's :class:`FileReadError` when it has none."""
        if self.error is not None:
            raise self.error
        return self.value


def parse_line(raw: RawLine, name: str) -> JsonLine | None:
    """One raw line parsed (``name:line`` in errors); None for a blank line."""
    where = f"{name}:{raw.number}"
    if raw.data is None:
        msg = f"{where}: line longer than {_mib(LIMITS.max_bytes)}"
        return JsonLine(where, raw.number, error=FileReadError(msg))
    if not raw.data.strip():
        return None
    try:
        return JsonLine(where, raw.number, parse_json(decode_line(raw.data, where), where))
    except FileReadError as e:
        return JsonLine(where, raw.number, error=e)


def json_lines(stream: IO[bytes], name: str) -> Iterator[JsonLine]:
    """Every non-blank line of a JSONL stream, parsed or with its error (``name:line``)."""
    for raw in numbered_lines(stream):
        line = parse_line(raw, name)
        if line is not None:
            yield line


def _open_error(path: Path, what: str, error: OSError) -> FileReadError:
    reason = error.strerror or str(error)
    msg = f"cannot read {what} {path}: {reason}"
    return FileReadError(msg)


def read_json_lines(path: str | Path, *, what: str = "the file") -> Iterator[tuple[str, Any]]:
    """``(file:line, value)`` for each non-blank line; the first bad line raises
    :class:`FileReadError` (as does a file that cannot be opened).
    """
    file = Path(path)
    try:
        with file.open("rb") as stream:
            for line in json_lines(stream, str(file)):
                yield line.where, line.value_or_raise()
    except OSError as e:
        raise _open_error(file, what, e) from e


def read_text(stream: IO[bytes], name: str) -> str:
    """A whole stream (at most ``max_bytes``) as UTF-8 text; errors name ``name:line``."""
    limit = LIMITS.max_bytes
    data = stream.read(limit + 1)
    if len(data) > limit:
        msg = f"{name}: larger than {_mib(limit)}"
        raise FileReadError(msg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - data.rfind(b"\n", 0, e.start)
        raise _not_utf8(data, e, f"{name}:{line}", column) from e


def read_text_file(path: str | Path, *, what: str = "the file") -> str:
    """A whole small file as UTF-8 text (see :func:`read_text`).

    Raises:
        FileNotFoundError: when there is no such file (callers may treat that as "none yet").
        FileReadError: when it cannot be read, is too large, or is not UTF-8.

    """
    file = Path(path)
    try:
        with file.open("rb") as stream:
            return read_text(stream, str(file))
    except FileNotFoundError:
        raise
    except OSError as e:
        raise _open_error(file, what, e) from e


def read_json_file(path: str | Path, *, what: str = "the file") -> Any:
    """A whole small JSON file (see :func:`read_text_file`), parsed within :data:`LIMITS`."""
    return parse_json(read_text_file(path, what=what), str(path))
