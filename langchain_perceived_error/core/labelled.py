"""Labelled data: the one model of a labelled conversation as read, and the one loader.

Every reader of labelled conversations (the benchmark's data, the labelled JSONL of ``datasets``,
the labelled examples of ``evaluation``) reads records through :class:`FieldMapping` into
:class:`LabelledItem`, here:

- :func:`read_labelled_items` reads a ``.jsonl`` (or ``.json``) file through the guarded reader
  (:mod:`~langchain_perceived_error.core.records`): ``where`` is ``file:line``;
- :func:`labelled_items` reads records already in memory: ``where`` is ``record N``.

Records are mapped by field names, never by dataset. Dotted names reach nested fields
(``outputs.perceived_error``); ``messages_field=None`` takes a record's ``messages`` field when it
has one, else the whole record (a LangSmith run, a thread, a LangGraph state carrying its label
beside it). A label is ``true``/``false`` (``1``/``0`` count as such) or ``null``: ambiguous,
skipped and counted in the :class:`LoadReport`. ``slices`` keep the records whose field equals one
of the values given for it; records outside them are counted, not checked.

A record that cannot be used (not an object, a missing field, a label of another type) raises
:class:`LabelledDataError` naming where it is and the field: labels train and measure judges, so a
silently dropped record would bias both. The payload is kept as found; reading its transcript is
the consumer's step (the judge reads it, or ``datasets`` turns it into a
:class:`~langchain_perceived_error.core.schemas.LabelledRecord`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from langchain_perceived_error.core.records import ReadReport, UnreadableRecord, read_records

__all__ = [
    "OUTSIDE_SLICES",
    "FieldMapping",
    "LabelTypeError",
    "LabelledDataError",
    "LabelledItem",
    "LoadReport",
    "labelled_items",
    "null_label_reason",
    "read_labelled_items",
    "text_or_none",
]

_EXAMPLES_KEPT = 5
_MISSING = object()


class LabelledDataError(ValueError):
    """Labelled data cannot be used; the message names where (``file:line``, ``record N``)."""


class LabelTypeError(LabelledDataError, TypeError):
    """A label that is neither true, false, 1, 0 nor null."""


@pydantic_dataclass(frozen=True)
class FieldMapping:
    """Which record fields hold the conversation, the boolean label, the id and the rest.

    ``messages_field=None`` takes the record's ``messages`` field when it has one, else the whole
    record. ``reason_field`` names an optional reason; ``metadata_fields`` are copied as they are
    (None when absent). Dotted names reach nested fields.
    """

    messages_field: str | None = None
    label_field: str = "perceived_error"
    id_field: str = "id"
    reason_field: str | None = None
    metadata_fields: tuple[str, ...] = ()


class LabelledItem(BaseModel):
    """One labelled conversation as read: ``payload`` is what the judge reads."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The record's id, else its ``source``.")
    label: bool
    payload: Any = Field(description="The conversation as found (any shape the judge reads).")
    source: str = Field(description="Where it was read: ``file:line``, or ``record N``.")
    reason: str | None = Field(default=None, description="The reason field's text, if mapped.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    record: dict[str, Any] = Field(
        default_factory=dict, description="The whole record as found (its ids, its other fields)."
    )


@dataclass
class LoadReport:
    """What a loader read, loaded and skipped (by reason, with a few example ids each)."""

    read: int = 0
    """Records (lines, runs or threads) looked at."""
    loaded: int = 0
    """Labelled records yielded."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Skip reason -> count."""
    examples: dict[str, list[str]] = field(default_factory=dict)
    """Skip reason -> the first few ids skipped for it."""

    def skip(self, reason: str, record_id: str | None) -> None:
        """Count one skipped record."""
        self.skipped[reason] += 1
        kept = self.examples.setdefault(reason, [])
        if record_id is not None and len(kept) < _EXAMPLES_KEPT:
            kept.append(record_id)

    def describe(self) -> str:
        """One line: read, loaded, and each skip reason with its count."""
        parts = [f"read {self.read}", f"loaded {self.loaded}"]
        parts += [f"skipped {n} ({reason})" for reason, n in sorted(self.skipped.items())]
        return ", ".join(parts)


OUTSIDE_SLICES = "outside the slices"
"""The skip reason of a record that no slice keeps."""


def null_label_reason(mapping: FieldMapping) -> str:
    """The skip reason of a record whose label is null (``null <label field>``)."""
    return f"null {mapping.label_field}"


def text_or_none(value: Any) -> str | None:
    """``str(value)``, or None for None and the empty string."""
    return None if value is None or value == "" else str(value)


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


def _label(value: Any, where: str, label_field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    msg = f"{where}: {label_field!r} must be true, false or null, got {value!r} (1/0 count too)"
    raise LabelTypeError(msg)


def _item(
    record: Any,
    where: str,
    source: str,
    mapping: FieldMapping,
    slices: Mapping[str, Sequence[str]],
    report: LoadReport,
) -> LabelledItem | None:
    """The item of one record, or None when it is skipped (counted in ``report``)."""
    report.read += 1
    if not isinstance(record, Mapping):
        msg = f"{where}: expected a JSON object, got {type(record).__name__}"
        raise LabelledDataError(msg)
    stated_id = _field(record, mapping.id_field)
    record_id = None if stated_id is _MISSING else text_or_none(stated_id)
    if any(_as_text(_field(record, f)) not in values for f, values in slices.items()):
        report.skip(OUTSIDE_SLICES, record_id)
        return None
    raw_label = _field(record, mapping.label_field)
    if mapping.messages_field is None:
        payload = record.get("messages", record)
    else:
        payload = _field(record, mapping.messages_field)
    for name, value in ((mapping.label_field, raw_label), (mapping.messages_field, payload)):
        if value is _MISSING:
            msg = f"{where} has no {name!r} field (fields: {sorted(record)})"
            nested = f"label.{name}"  # where `perceived-error label` writes it
            if name == mapping.label_field and _field(record, nested) is not _MISSING:
                msg += f"; it is under {nested!r}, as `label` writes it: --label-field {nested}"
            raise LabelledDataError(msg)
    label = _label(raw_label, where, mapping.label_field)
    if label is None:
        report.skip(null_label_reason(mapping), record_id or source)
        return None
    reason = _field(record, mapping.reason_field) if mapping.reason_field else None
    report.loaded += 1
    return LabelledItem(
        id=record_id or source,
        label=label,
        payload=payload,
        source=source,
        reason=text_or_none(None if reason is _MISSING else reason),
        metadata={
            name: None if (value := _field(record, name)) is _MISSING else value
            for name in mapping.metadata_fields
        },
        record=dict(record),
    )


def _slices(slices: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    return {name: tuple(values) for name, values in (slices or {}).items()}


def labelled_items(
    records: Iterable[Any],
    mapping: FieldMapping | None = None,
    *,
    slices: Mapping[str, Sequence[str]] | None = None,
    report: LoadReport | None = None,
) -> Iterator[LabelledItem]:
    """The labelled items of records in memory (``source`` = ``record N``, from 0).

    Raises:
        LabelledDataError: naming ``record N`` (and its id) for a record that cannot be used;
            :class:`LabelTypeError` for a label of another type.

    """
    mapping = mapping or FieldMapping()
    wanted = _slices(slices)
    report = report if report is not None else LoadReport()
    for index, record in enumerate(records):
        source = f"record {index}"
        stated = _field(record, mapping.id_field) if isinstance(record, Mapping) else None
        where = source + (f" (id {stated!r})" if stated not in (None, "", _MISSING) else "")
        item = _item(record, where, source, mapping, wanted, report)
        if item is not None:
            yield item


def read_labelled_items(
    path: str | Path,
    mapping: FieldMapping | None = None,
    *,
    slices: Mapping[str, Sequence[str]] | None = None,
    report: LoadReport | None = None,
) -> Iterator[LabelledItem]:
    """The labelled items of a ``.jsonl`` (or ``.json``) file, streamed line by line.

    ``source`` (and the id of a record without one) is ``<file name>:<line>``.

    Raises:
        LabelledDataError: naming ``file:line`` for a line that is not JSON or not an object or
            lacks a mapped field, or when the file cannot be read; :class:`LabelTypeError` for a
            label of another type.

    """
    mapping = mapping or FieldMapping()
    wanted = _slices(slices)
    report = report if report is not None else LoadReport()
    read = ReadReport()
    for sourced in read_records([str(path)], read):
        record, where = sourced.payload, sourced.source
        if isinstance(record, UnreadableRecord):
            raise LabelledDataError(record.error)
        item = _item(record, where, where, mapping, wanted, report)
        if item is not None:
            yield item
    if read.unreadable_sources:
        msg = f"cannot read the labelled data: {'; '.join(read.unreadable_sources)}"
        raise LabelledDataError(msg)
