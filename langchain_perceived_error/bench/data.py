"""Labelled data for the benchmark: read a JSONL (or .json) of labelled conversations.

Records are mapped by field names, never by dataset: :class:`FieldMapping` names the conversation
field (any shape the judge reads), the boolean label field (``null`` = ambiguous: dropped) and the
id field; dotted names reach nested fields (``outputs.perceived_error``). ``slices`` keep records
whose field equals a value (``{"source_dataset": ("SelfFeeding",)}``); ``limit`` keeps the first
N labelled records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_perceived_error.core.records import ReadReport, UnreadableRecord, read_records

__all__ = [
    "BenchDataError",
    "DataSummary",
    "FieldMapping",
    "LabelledItem",
    "load_labelled",
    "parse_slices",
]


class BenchDataError(ValueError):
    """The labelled data cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class FieldMapping:
    """Which record fields hold the conversation, the boolean label and the id.

    ``messages_field=None`` judges a record's ``messages`` field when it has one, else the whole
    record (a LangSmith run, a thread, a LangGraph state carrying its label beside it).
    """

    messages_field: str | None = None
    label_field: str = "perceived_error"
    id_field: str = "id"


@dataclass(frozen=True)
class LabelledItem:
    """One labelled conversation: ``payload`` is what the judge reads."""

    id: str
    label: bool
    payload: Any


@dataclass
class DataSummary:
    """Where the items came from and what was left out."""

    path: str
    mapping: FieldMapping
    slices: dict[str, tuple[str, ...]]
    limit: int | None
    records: int = 0
    outside_slice: int = 0
    null_label: int = 0
    over_limit: int = 0
    used: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "messages_field": self.mapping.messages_field,
            "label_field": self.mapping.label_field,
            "id_field": self.mapping.id_field,
            "slices": {k: list(v) for k, v in self.slices.items()},
            "limit": self.limit,
            "records": self.records,
            "outside_slice": self.outside_slice,
            "null_label_dropped": self.null_label,
            "over_limit": self.over_limit,
            "used": self.used,
        }


_MISSING = object()


def _field(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]``, following dots into nested mappings; ``_MISSING`` when absent."""
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def parse_slices(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``["source_dataset=SelfFeeding", ...]`` -> ``{field: values}``.

    A record is kept when, for every field named, its value equals one of the values given for it
    (fields AND, values of one field OR). Booleans compare as ``true``/``false``, null as ``null``.

    Raises:
        BenchDataError: for a spec without ``=`` or with an empty field name.

    """
    slices: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            msg = f"bad slice {spec!r}: use FIELD=VALUE, e.g. source_dataset=SelfFeeding"
            raise BenchDataError(msg)
        slices.setdefault(name.strip(), []).append(value.strip())
    return {name: tuple(values) for name, values in slices.items()}


def _label(value: Any, where: str, label_field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    msg = f"{where}: {label_field!r} must be true, false, 1, 0 or null, got {value!r}"
    raise BenchDataError(msg)


def load_labelled(
    path: str | Path,
    mapping: FieldMapping | None = None,
    *,
    slices: Mapping[str, Sequence[str]] | None = None,
    limit: int | None = None,
) -> tuple[list[LabelledItem], DataSummary]:
    """Read labelled items from a .jsonl (or .json) file, streaming it line by line.

    Records outside ``slices`` and records with a null label are dropped and counted; then the
    first ``limit`` items are kept. The conversation field's value is judged as it is (a message
    list, a LangGraph state, a run or a thread). A record without an id gets ``file:line``.

    Raises:
        BenchDataError: when the file cannot be read, a line is not a JSON object, or a kept
            record lacks the conversation or label field or has a non-boolean label.

    """
    mapping = mapping or FieldMapping()
    wanted = {name: tuple(values) for name, values in (slices or {}).items()}
    summary = DataSummary(str(path), mapping, wanted, limit)
    if limit is not None and limit < 1:
        msg = f"limit must be at least 1, got {limit}"
        raise BenchDataError(msg)
    report = ReadReport()
    items: list[LabelledItem] = []
    for sourced in read_records([str(path)], report):
        summary.records += 1
        record, where = sourced.payload, sourced.source
        if isinstance(record, UnreadableRecord):
            raise BenchDataError(record.error)
        if not isinstance(record, Mapping):
            msg = f"{where}: expected a JSON object, got {type(record).__name__}"
            raise BenchDataError(msg)
        if any(_as_text(_field(record, f)) not in values for f, values in wanted.items()):
            summary.outside_slice += 1
            continue
        raw_label = _field(record, mapping.label_field)
        if mapping.messages_field is None:
            messages = record.get("messages", record)
        else:
            messages = _field(record, mapping.messages_field)
        for name, value in ((mapping.label_field, raw_label), (mapping.messages_field, messages)):
            if value is _MISSING:
                msg = f"{where} has no {name!r} field (fields: {sorted(record)})"
                raise BenchDataError(msg)
        label = _label(raw_label, where, mapping.label_field)
        if label is None:
            summary.null_label += 1
            continue
        if limit is not None and len(items) >= limit:
            summary.over_limit += 1
            continue
        record_id = _field(record, mapping.id_field)
        item_id = where if record_id is _MISSING or record_id is None else str(record_id)
        items.append(LabelledItem(item_id, label, messages))
    if report.unreadable_sources:
        msg = f"cannot read the labelled data: {'; '.join(report.unreadable_sources)}"
        raise BenchDataError(msg)
    summary.used = len(items)
    return items, summary
