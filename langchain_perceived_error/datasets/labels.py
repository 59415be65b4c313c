"""Labelled records: the canonical JSONL and the loaders that read labelled files.

Every loader yields :class:`~langchain_perceived_error.core.schemas.LabelledRecord` and fills a
:class:`LoadReport` as it goes:

- :func:`load_judge_output`: a ``perceived-error judge`` output joined with the input it judged
  (the output lines carry no transcript). Provenance ``model``, ``by`` = the line's model. Lines
  that are not ``judged`` are skipped and counted.
- :func:`load_labelled_jsonl`: any labelled JSONL with a field mapping (EURTAD items:
  ``label_field="perceived_error_strict"``). Null labels are skipped and counted. Provenance
  ``human``.

The labelled-data primitives are the core's
(:mod:`~langchain_perceived_error.core.labelled`: the field mapping, the one loader,
:class:`LoadReport` and the error, here :class:`LabelFileError`); :func:`load_labelled_jsonl` is
that loader plus the transcript and provenance. The other loaders live beside this module and
share :class:`LoadReport`, :class:`LabelFileError` and :data:`HUMAN_REASONS`:
:func:`~langchain_perceived_error.datasets.reviews.read_review_answers` (the answers a human wrote
into a panel review file) and
:func:`~langchain_perceived_error.datasets.langsmith_labels.load_langsmith_labels`
(``perceived_error`` feedback on a LangSmith project's runs and threads).

:func:`write_labelled` / :func:`read_labelled` write and read the canonical JSONL (one
``LabelledRecord`` per line); :func:`source_ids` reads the LangSmith ids a trace record carries.

Policy for bad input: a line that is not valid JSON, or lacks a required field, or has a label of
the wrong type, raises :class:`LabelFileError` naming ``file:line`` (labels train and measure
judges: a silently dropped line would bias both). Well-formed records that simply carry no label
(null labels, skipped or failed judgements, feedback with no 0/1 score) are skipped and counted in
the report, with the first few ids kept as examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from langchain_perceived_error.core import files
from langchain_perceived_error.core.files import FileReadError
from langchain_perceived_error.core.labelled import (
    FieldMapping,
    LabelledDataError,
    LoadReport,
    read_labelled_items,
    text_or_none,
)
from langchain_perceived_error.core.records import ReadReport, SourcedRecord, read_records
from langchain_perceived_error.core.schemas import LabelledRecord, Provenance, SourceIds, Verdict
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript
from langchain_perceived_error.judge.runner import record_id_of

__all__ = [
    "HUMAN_REASONS",
    "LabelFileError",
    "LoadReport",
    "expect_object",
    "load_judge_output",
    "load_labelled_jsonl",
    "read_json_lines",
    "read_labelled",
    "source_ids",
    "text_or_none",
    "validation_problems",
    "write_labelled",
]

HUMAN_REASONS: Mapping[bool, str] = {
    True: "A human reviewer marked a perceived error.",
    False: "A human reviewer marked no perceived error.",
}
"""The reason given to a human label that came without one (a verdict needs a reason)."""

_THREAD_KEYS = ("thread_id", "session_id", "conversation_id")

LabelFileError = LabelledDataError
"""A labelled, judge-output or review file has a line that cannot be read (``file:line``): the
package's one labelled-data error."""


# -- source ids ------------------------------------------------------------------------------------


def _metadata_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = record.get("metadata")
    if isinstance(metadata, Mapping):
        return metadata
    extra = record.get("extra")
    inner = extra.get("metadata") if isinstance(extra, Mapping) else None
    return inner if isinstance(inner, Mapping) else {}


def _thread_of(record: Mapping[str, Any]) -> str | None:
    if text_or_none(record.get("thread_id")):
        return text_or_none(record.get("thread_id"))
    metadata = _metadata_of(record)
    return next(
        (text_or_none(metadata[k]) for k in _THREAD_KEYS if text_or_none(metadata.get(k))), None
    )


def _looks_like_run(record: Mapping[str, Any]) -> bool:
    return "inputs" in record or "outputs" in record or "run_type" in record


def source_ids(record: Any) -> SourceIds:
    """The LangSmith ids a trace record carries, as far as it states them.

    A run dict gives ``run_id`` (its ``id``), ``trace_id``, ``project_id`` (``session_id`` /
    ``project_id``) and ``thread_id`` (top level or metadata ``thread_id`` / ``session_id`` /
    ``conversation_id``); a thread ``{"runs": [...]}`` gives ``thread_id`` (its ``thread_id``,
    else its ``id``), ``project_id`` and ``trace_id`` (its last run's); any other record gives
    only the ids it names explicitly (``run_id``, ``trace_id``, ``thread_id``, ``project_id``).
    Nothing is guessed: a conversation's plain ``id`` is not taken as a run id.
    """
    if not isinstance(record, Mapping):
        return SourceIds()
    runs = record.get("runs")
    if isinstance(runs, list) and runs:
        last = runs[-1] if isinstance(runs[-1], Mapping) else {}
        first = runs[0] if isinstance(runs[0], Mapping) else {}
        return SourceIds(
            thread_id=text_or_none(record.get("thread_id"))
            or _thread_of(first)
            or text_or_none(record.get("id")),
            project_id=text_or_none(record.get("project_id"))
            or text_or_none(first.get("session_id") or first.get("project_id")),
            trace_id=text_or_none(last.get("trace_id") or last.get("id")),
        )
    is_run = _looks_like_run(record)
    return SourceIds(
        run_id=text_or_none(record.get("run_id"))
        or (text_or_none(record.get("id")) if is_run else None),
        trace_id=text_or_none(record.get("trace_id")),
        thread_id=_thread_of(record),
        project_id=text_or_none(record.get("project_id"))
        or (text_or_none(record.get("session_id")) if is_run else None),
    )


# -- the canonical JSONL ---------------------------------------------------------------------------


def read_json_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """``(file:line, parsed JSON)`` for each non-blank line, read through the guarded reader
    (:mod:`langchain_perceived_error.core.files`); a bad line or file raises LabelFileError.
    """
    try:
        yield from files.read_json_lines(path)
    except FileReadError as e:
        raise LabelFileError(str(e)) from e


def expect_object(where: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else a LabelFileError naming ``where``."""
    if not isinstance(value, Mapping):
        msg = f"{where}: expected a JSON object, got {type(value).__name__}"
        raise LabelFileError(msg)
    return value


def write_labelled(path: str | Path, records: Iterable[LabelledRecord]) -> int:
    """Write records as canonical JSONL (one ``LabelledRecord`` per line); returns the count."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for record in records:
            out.write(record.model_dump_json(exclude_defaults=False) + "\n")
            count += 1
    return count


def read_labelled(path: str | Path) -> Iterator[LabelledRecord]:
    """Stream the records of a canonical labelled JSONL (as :func:`write_labelled` writes it).

    Raises:
        LabelFileError: naming ``file:line`` for a line that is not a valid LabelledRecord.

    """
    for where, value in read_json_lines(Path(path)):
        try:
            yield LabelledRecord.model_validate(expect_object(where, value))
        except ValidationError as e:
            msg = (
                f"{where}: not a labelled record ({validation_problems(e)}): labelled records "
                "are the lines `perceived-error label` writes"
            )
            raise LabelFileError(msg) from e


def validation_problems(error: ValidationError) -> str:
    """``missing: a, b; not expected: c; d.e: <message>``, short enough for one line."""
    missing, extra, other = [], [], []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "missing":
            missing.append(field)
        elif problem["type"] == "extra_forbidden":
            extra.append(field)
        else:
            other.append(f"{field}: {problem['msg']}")
    parts = [f"missing: {', '.join(missing)}"] if missing else []
    parts += [f"not expected: {', '.join(extra)}"] if extra else []
    return "; ".join(parts + other)


# -- judge output joined with its input ------------------------------------------------------------


def _input_key(record: SourcedRecord) -> str:
    return record_id_of(record.payload) or record.source


class _InputIndex:
    """Input records by id, read lazily: judge output is in input order, so little is held."""

    def __init__(self, records: Iterator[SourcedRecord]) -> None:
        self._records = records
        self._held: dict[str, SourcedRecord] = {}

    def take(self, key: str) -> SourcedRecord | None:
        if key in self._held:
            return self._held.pop(key)
        for record in self._records:
            found = _input_key(record)
            if found == key:
                return record
            self._held.setdefault(found, record)
        return None


def _as_sourced(records: Iterable[Any]) -> Iterator[SourcedRecord]:
    for index, record in enumerate(records):
        yield record if isinstance(record, SourcedRecord) else SourcedRecord(f"#{index}", record)


def load_judge_output(
    results: str | Path,
    inputs: Sequence[str | Path] | Iterable[Any],
    *,
    include_tools: bool = False,
    report: LoadReport | None = None,
) -> Iterator[LabelledRecord]:
    """Labelled records from a ``perceived-error judge`` output and the input it judged.

    Args:
        results: the judge's JSONL output (``id``, ``status``, ``perceived_error``, ``reason``,
            ``model``).
        inputs: the input file(s) (paths, read as ``judge`` reads them: a record without an
            ``id`` is known by ``file:line``) or the input records themselves.
        include_tools: what the judge was run with, so the transcript is the one it judged.
        report: filled with counts; lines not ``judged`` and ids missing from the input are
            skipped and counted.

    Raises:
        LabelFileError: for an unreadable results line or an input record whose transcript
            cannot be read (``file:line``).

    """
    report = report if report is not None else LoadReport()
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if isinstance(inputs, Sequence) and all(isinstance(p, (str, Path)) for p in inputs):
        read = ReadReport()
        sourced = read_records([str(p) for p in inputs], read)
    else:
        sourced = _as_sourced(inputs)
    index = _InputIndex(iter(sourced))
    for where, value in read_json_lines(Path(results)):
        line = expect_object(where, value)
        report.read += 1
        record_id = text_or_none(line.get("id"))
        if line.get("status") != "judged" or not isinstance(line.get("perceived_error"), bool):
            report.skip(f"status {line.get('status')}", record_id)
            continue
        if record_id is None:
            msg = f"{where}: a judged line without an id cannot be joined with its input"
            raise LabelFileError(msg)
        source = index.take(record_id)
        if source is None:
            report.skip("id not found in the input", record_id)
            continue
        try:
            turns = extract_transcript(source.payload, include_tools=include_tools)
        except TranscriptError as e:
            msg = f"{source.source} (id {record_id!r}): {e}"
            raise LabelFileError(msg) from e
        report.loaded += 1
        yield LabelledRecord(
            id=record_id,
            turns=turns,
            label=Verdict(perceived_error=line["perceived_error"], reason=line.get("reason") or ""),
            provenance=Provenance(kind="model", by=str(line.get("model") or "unknown")),
            sources=source_ids(source.payload),
        )


# -- any labelled JSONL with a field mapping -------------------------------------------------------


def load_labelled_jsonl(
    path: str | Path,
    *,
    id_field: str = "id",
    messages_field: str = "messages",
    label_field: str = "perceived_error",
    reason_field: str | None = None,
    metadata_fields: Sequence[str] = (),
    by: str | None = None,
    include_tools: bool = False,
    report: LoadReport | None = None,
) -> Iterator[LabelledRecord]:
    """Human-labelled records from any JSONL, mapping its fields.

    The file is read by the package's one labelled-data loader
    (:func:`~langchain_perceived_error.core.labelled.read_labelled_items`): ``messages_field``
    holds the conversation (any shape the judge reads); ``label_field`` is true, false (1 and 0
    count as such) or null (null = ambiguous: skipped and counted). ``reason_field`` names a
    reason field (when absent or empty, :data:`HUMAN_REASONS` is used). ``metadata_fields`` are
    copied into each record's metadata. A record without an id gets ``<file name>:<line>``.
    Provenance is ``human``, ``by`` = ``by`` or the file name.

    Example (EURTAD)::

        load_labelled_jsonl("../shared/datasets/eurtad/items.jsonl",
                            label_field="perceived_error_strict",
                            metadata_fields=["source_dataset"])

    Raises:
        LabelFileError: naming ``file:line`` for bad JSON, a missing field, a label that is not
            true/false/null, or messages that cannot be read.

    """
    file = Path(path)
    provenance = Provenance(kind="human", by=by or file.name)
    mapping = FieldMapping(
        messages_field, label_field, id_field, reason_field, tuple(metadata_fields)
    )
    for item in read_labelled_items(file, mapping, report=report):
        try:
            turns = extract_transcript(item.payload, include_tools=include_tools)
        except TranscriptError as e:
            msg = f"{item.source}: {messages_field!r}: {e}"
            raise LabelFileError(msg) from e
        yield LabelledRecord(
            id=item.id,
            turns=turns,
            label=Verdict(
                perceived_error=item.label, reason=item.reason or HUMAN_REASONS[item.label]
            ),
            provenance=provenance,
            sources=source_ids(item.record),
            metadata=item.metadata,
        )
