"""Labelled data for the benchmark: a JSONL (or .json) of labelled conversations, sliced and cut.

The records are read by the package's one labelled-data loader
(:func:`~langchain_perceived_error.core.labelled.read_labelled_items`, through a
:class:`~langchain_perceived_error.core.labelled.FieldMapping`: dotted names reach nested fields,
``null`` labels are dropped and counted). Here: ``slices`` keep records whose field equals a
value (``{"source_dataset": ("SelfFeeding",)}``), ``limit`` keeps the first N labelled records,
and :class:`DataSummary` says what was left out, for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_perceived_error.core.labelled import (
    OUTSIDE_SLICES,
    FieldMapping,
    LabelledDataError,
    LabelledItem,
    LoadReport,
    null_label_reason,
    read_labelled_items,
)

__all__ = [
    "BenchDataError",
    "DataSummary",
    "FieldMapping",
    "LabelledItem",
    "load_labelled",
    "parse_slices",
]

BenchDataError = LabelledDataError
"""The labelled data cannot be used; the message names the file, line and field (the package's
one labelled-data error, under the name the benchmark has always raised)."""


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
    report = LoadReport()
    items: list[LabelledItem] = []
    for item in read_labelled_items(path, mapping, slices=wanted, report=report):
        if limit is not None and len(items) >= limit:
            summary.over_limit += 1
            continue
        items.append(item)
    summary.records = report.read
    summary.outside_slice = report.skipped[OUTSIDE_SLICES]
    summary.null_label = report.skipped[null_label_reason(mapping)]
    summary.used = len(items)
    return items, summary
