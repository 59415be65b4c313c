"""Labelled records: the canonical JSONL, and loaders from every place labels come from.

Every loader yields :class:`~langchain_perceived_error.schemas.LabelledRecord` and fills a
:class:`LoadReport` as it goes:

- :func:`load_judge_output`: a ``perceived-error judge`` output joined with the input it judged
  (the output lines carry no transcript). Provenance ``model``, ``by`` = the line's model. Lines
  that are not ``judged`` are skipped and counted.
- :func:`load_langsmith_labels`: ``perceived_error`` feedback on a LangSmith project's runs and
  threads. A human's feedback wins over a model's (see :func:`feedback_provenance`).
- :func:`load_labelled_jsonl`: any labelled JSONL with a field mapping (EURTAD items:
  ``label_field="perceived_error_strict"``). Null labels are skipped and counted. Provenance
  ``human``.
- :func:`read_review_answers`: the answers a human wrote into a panel review file (see
  :class:`ReviewItem`). Provenance ``human``.

:func:`write_labelled` / :func:`read_labelled` write and read the canonical JSONL (one
``LabelledRecord`` per line).

Policy for bad input: a line that is not valid JSON, or lacks a required field, or has a label of
the wrong type, raises :class:`LabelFileError` naming ``file:line`` (labels train and measure
judges: a silently dropped line would bias both). Well-formed records that simply carry no label
(null labels, skipped or failed judgements, feedback with no 0/1 score) are skipped and counted in
the report, with the first few ids kept as examples.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from langsmith import APIError
from langsmith.schemas import Feedback
from langsmith.utils import LangSmithError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_perceived_error.judge import record_id_of
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import FEEDBACK_KEY
from langchain_perceived_error.online.threads import (
    ThreadNotFoundError,
    ThreadReadError,
    read_thread,
)
from langchain_perceived_error.prompts import render_transcript
from langchain_perceived_error.records import ReadReport, SourcedRecord, read_records
from langchain_perceived_error.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.transcript import (
    TranscriptError,
    extract_thread,
    extract_transcript,
)

__all__ = [
    "HUMAN_REASONS",
    "LabelFileError",
    "LangSmithLabelError",
    "LoadReport",
    "ReviewItem",
    "ReviewVote",
    "feedback_provenance",
    "load_judge_output",
    "load_labelled_jsonl",
    "load_langsmith_labels",
    "read_labelled",
    "read_review_answers",
    "read_reviews",
    "source_ids",
    "write_labelled",
]

logger = logging.getLogger(__name__)

HUMAN_REASONS: Mapping[bool, str] = {
    True: "A human reviewer marked a perceived error.",
    False: "A human reviewer marked no perceived error.",
}
"""The reason given to a human label that came without one (a verdict needs a reason)."""

_EXAMPLES_KEPT = 5
_THREAD_KEYS = ("thread_id", "session_id", "conversation_id")
_FEEDBACK_PAGE = 100


class LabelFileError(ValueError):
    """A labelled, judge-output or review file has a line that cannot be read (``file:line``)."""


class LangSmithLabelError(RuntimeError):
    """LangSmith could not be read while loading labels (after the clients' retries)."""


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


# -- source ids ------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _metadata_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = record.get("metadata")
    if isinstance(metadata, Mapping):
        return metadata
    extra = record.get("extra")
    inner = extra.get("metadata") if isinstance(extra, Mapping) else None
    return inner if isinstance(inner, Mapping) else {}


def _thread_of(record: Mapping[str, Any]) -> str | None:
    if _text(record.get("thread_id")):
        return _text(record.get("thread_id"))
    metadata = _metadata_of(record)
    return next((_text(metadata[k]) for k in _THREAD_KEYS if _text(metadata.get(k))), None)


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
            thread_id=_text(record.get("thread_id"))
            or _thread_of(first)
            or _text(record.get("id")),
            project_id=_text(record.get("project_id"))
            or _text(first.get("session_id") or first.get("project_id")),
            trace_id=_text(last.get("trace_id") or last.get("id")),
        )
    is_run = _looks_like_run(record)
    return SourceIds(
        run_id=_text(record.get("run_id")) or (_text(record.get("id")) if is_run else None),
        trace_id=_text(record.get("trace_id")),
        thread_id=_thread_of(record),
        project_id=_text(record.get("project_id"))
        or (_text(record.get("session_id")) if is_run else None),
    )


# -- the canonical JSONL ---------------------------------------------------------------------------


def _json_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """``(file:line, parsed JSON)`` for each non-blank line; bad JSON raises LabelFileError."""
    try:
        with path.open(encoding="utf-8") as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as e:
                    msg = f"{where}: not valid JSON: {e}"
                    raise LabelFileError(msg) from e
    except (OSError, UnicodeDecodeError) as e:
        msg = f"cannot read {path}: {e}"
        raise LabelFileError(msg) from e


def _object(where: str, value: Any) -> Mapping[str, Any]:
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
    for where, value in _json_lines(Path(path)):
        try:
            yield LabelledRecord.model_validate(_object(where, value))
        except ValidationError as e:
            msg = f"{where}: not a labelled record: {e}"
            raise LabelFileError(msg) from e


# -- (a) judge output joined with its input --------------------------------------------------------


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
    for where, value in _json_lines(Path(results)):
        line = _object(where, value)
        report.read += 1
        record_id = _text(line.get("id"))
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


# -- (c) any labelled JSONL with a field mapping ---------------------------------------------------


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

    ``messages_field`` holds the conversation (any shape the judge reads); ``label_field`` is
    true, false or null (null = ambiguous: skipped and counted). ``reason_field`` names a reason
    field (when absent or empty, :data:`HUMAN_REASONS` is used). ``metadata_fields`` are copied
    into each record's metadata. A record without an id gets ``<file name>:<line>``. Provenance is
    ``human``, ``by`` = ``by`` or the file name.

    Example (EURTAD)::

        load_labelled_jsonl("../shared/datasets/eurtad/items.jsonl",
                            label_field="perceived_error_strict",
                            metadata_fields=["source_dataset"])

    Raises:
        LabelFileError: naming ``file:line`` for bad JSON, a missing field, a label that is not
            true/false/null, or messages that cannot be read.

    """
    report = report if report is not None else LoadReport()
    file = Path(path)
    provenance = Provenance(kind="human", by=by or file.name)
    for where, value in _json_lines(file):
        line = _object(where, value)
        report.read += 1
        for name in (label_field, messages_field):
            if name not in line:
                msg = f"{where}: no {name!r} field (fields: {sorted(line)})"
                raise LabelFileError(msg)
        record_id = _text(line.get(id_field)) or f"{file.name}:{where.rsplit(':', 1)[1]}"
        label = line[label_field]
        if label is None:
            report.skip(f"null {label_field}", record_id)
            continue
        if not isinstance(label, bool):
            msg = f"{where}: {label_field!r} must be true, false or null, got {label!r}"
            raise LabelFileError(msg)
        try:
            turns = extract_transcript(line[messages_field], include_tools=include_tools)
        except TranscriptError as e:
            msg = f"{where}: {messages_field!r}: {e}"
            raise LabelFileError(msg) from e
        reason = _text(line.get(reason_field)) if reason_field else None
        report.loaded += 1
        yield LabelledRecord(
            id=record_id,
            turns=turns,
            label=Verdict(perceived_error=label, reason=reason or HUMAN_REASONS[label]),
            provenance=provenance,
            sources=source_ids(line),
            metadata={name: line.get(name) for name in metadata_fields},
        )


# -- panel review files ----------------------------------------------------------------------------


class ReviewVote(BaseModel):
    """One model's verdict on a review item, shown to the human."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal["panel", "adjudication"]
    model: str
    status: str = Field(description="judged, skipped or failed.")
    perceived_error: bool | None = None
    reason: str | None = Field(default=None, description="The verdict's reason, or the error.")


class ReviewItem(BaseModel):
    """One line of a panel review file: a trace the models could not settle, for a human.

    The human fills ``perceived_error`` (true/false; ``"yes"``/``"no"`` are read as such, anything
    else is an error), ``reason`` (optional: one sentence) and ``reviewer`` (optional: who
    answered); ``perceived-error label --import-reviews`` reads the answers back with
    :func:`read_review_answers`.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    why: str = Field(description="Why the item needs a human (split panel, a failure, ...).")
    transcript: str = Field(description="The transcript rendered as the judge reads it.")
    votes: list[ReviewVote] = Field(default_factory=list)
    perceived_error: bool | None = Field(default=None, description="The human's answer.")
    reason: str | None = Field(default=None, description="The human's reason (optional).")
    reviewer: str | None = Field(default=None, description="Who answered (optional).")
    reviewed_at: datetime | None = None
    turns: list[Turn] = Field(description="The transcript's turns (to rebuild the record).")
    sources: SourceIds = Field(default_factory=SourceIds)

    @classmethod
    def create(
        cls,
        record_id: str,
        turns: Sequence[Turn],
        votes: Sequence[ReviewVote],
        *,
        why: str,
        sources: SourceIds | None = None,
    ) -> ReviewItem:
        """A review item with the transcript rendered and empty answer fields."""
        return cls(
            id=record_id,
            why=why,
            transcript=render_transcript(turns),
            votes=list(votes),
            turns=list(turns),
            sources=sources or SourceIds(),
        )

    @property
    def answered(self) -> bool:
        """True when the human gave a true/false answer."""
        return self.perceived_error is not None

    def to_labelled(self) -> LabelledRecord:
        """The human's answer as a labelled record (provenance ``human``).

        Raises:
            ValueError: when the item has no answer yet.

        """
        if self.perceived_error is None:
            msg = f"review item {self.id!r} has no answer"
            raise ValueError(msg)
        reason = (self.reason or "").strip() or HUMAN_REASONS[self.perceived_error]
        return LabelledRecord(
            id=self.id,
            turns=self.turns,
            label=Verdict(perceived_error=self.perceived_error, reason=reason),
            provenance=Provenance(
                kind="human", by=self.reviewer or "reviewer", at=self.reviewed_at
            ),
            sources=self.sources,
            metadata={"label_stage": "human", "votes": [v.model_dump() for v in self.votes]},
        )


def read_reviews(path: str | Path) -> Iterator[ReviewItem]:
    """Stream every item of a review file, answered or not.

    Raises:
        LabelFileError: naming ``file:line`` for a line that is not a review item (for example
            a ``perceived_error`` typed as ``"yes"`` instead of true/false).

    """
    for where, value in _json_lines(Path(path)):
        try:
            yield ReviewItem.model_validate(_object(where, value))
        except ValidationError as e:
            msg = f"{where}: not a review item (perceived_error: true, false or null): {e}"
            raise LabelFileError(msg) from e


def read_review_answers(
    path: str | Path, *, report: LoadReport | None = None
) -> Iterator[LabelledRecord]:
    """The answered items of a review file as human-labelled records; unanswered ones counted."""
    report = report if report is not None else LoadReport()
    for item in read_reviews(path):
        report.read += 1
        if not item.answered:
            report.skip("not answered yet", item.id)
            continue
        report.loaded += 1
        yield item.to_labelled()


# -- (b) LangSmith feedback ------------------------------------------------------------------------

_HUMAN_SOURCE_TYPES = frozenset({"app", "api"})


def _source_user(feedback: Feedback) -> str | None:
    source = feedback.feedback_source
    if source is None:
        return None
    return _text(source.user_name) or _text(source.user_id)


def feedback_provenance(feedback: Feedback) -> Provenance:
    """Who gave a feedback: a human or a model.

    Human: ``feedback_source.type`` is ``"app"`` (the LangSmith UI, annotation queues) or
    ``"api"`` with a user (``user_name`` / ``user_id``); ``by`` is the user. Everything else
    (``"model"``, ``"auto_eval"``, an ``"api"`` write with no user, such as a script) is a model:
    ``by`` is the model named in the source metadata or ``extra`` (this package writes both), else
    the source type.
    """
    source = feedback.feedback_source
    kind = (source.type if source is not None else "").lower()
    user = _source_user(feedback)
    at = feedback.modified_at or feedback.created_at
    if kind == "app" or (kind in _HUMAN_SOURCE_TYPES and user):
        return Provenance(kind="human", by=user or "reviewer", at=at)
    metadata = (source.metadata if source is not None else None) or {}
    model = metadata.get("model") or (feedback.extra or {}).get("model")
    return Provenance(kind="model", by=str(model or kind or "model"), at=at)


def _binary(feedback: Feedback) -> bool | None:
    for value in (feedback.score, feedback.value):
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
    return None


@dataclass(frozen=True)
class _Candidate:
    feedback: Feedback
    label: bool
    provenance: Provenance


def _best(candidates: Sequence[_Candidate]) -> _Candidate:
    """A human's latest label, else a model's latest."""
    stamp = datetime.min.replace(tzinfo=timezone.utc)

    def rank(c: _Candidate) -> tuple[bool, datetime]:
        at = c.provenance.at or stamp
        return (c.provenance.kind == "human", at if at.tzinfo else at.replace(tzinfo=timezone.utc))

    return max(candidates, key=rank)


@dataclass(frozen=True)
class _FlaggedRun:
    run_id: str
    trace_id: str
    thread_id: str | None
    inputs: Any
    outputs: Any


def _labelled_runs(
    clients: LangSmithClients, project_id: str, since: datetime, key: str
) -> list[_FlaggedRun]:
    expression = f"eq(feedback_key, {json.dumps(key)})"
    try:
        runs = clients.sdk.runs.query_v2(
            project_ids=[project_id],
            is_root=True,
            filter=expression,
            min_start_time=since,
            selects=["ID", "TRACE_ID", "THREAD_ID", "START_TIME", "INPUTS", "OUTPUTS"],
            page_size=_FEEDBACK_PAGE,
        )
        return [
            _FlaggedRun(
                run_id=str(run.id),
                trace_id=str(run.trace_id or run.id),
                thread_id=run.thread_id or None,
                inputs=run.inputs,
                outputs=run.outputs,
            )
            for run in runs
        ]
    except APIError as e:
        msg = f"could not query the runs of project {project_id} with {key!r} feedback: {e}"
        raise LangSmithLabelError(msg) from e


def _feedback_by_run(
    clients: LangSmithClients, run_ids: Sequence[str], key: str
) -> dict[str, list[Feedback]]:
    found: dict[str, list[Feedback]] = {}
    try:
        for start in range(0, len(run_ids), _FEEDBACK_PAGE):
            chunk = run_ids[start : start + _FEEDBACK_PAGE]
            for feedback in clients.client.list_feedback(run_ids=chunk, feedback_key=[key]):
                found.setdefault(str(feedback.run_id), []).append(feedback)
    except LangSmithError as e:
        msg = f"could not list {key!r} feedback: {e}"
        raise LangSmithLabelError(msg) from e
    return found


def _candidates(feedback: Iterable[Feedback]) -> list[_Candidate]:
    out = []
    for item in feedback:
        label = _binary(item)
        if label is not None:
            out.append(_Candidate(item, label, feedback_provenance(item)))
    return out


def _record(
    record_id: str, turns: list[Turn], best: _Candidate, sources: SourceIds
) -> LabelledRecord:
    reason = (best.feedback.comment or "").strip()
    if not reason:
        reason = HUMAN_REASONS[best.label] if best.provenance.kind == "human" else "(no reason)"
    source = best.feedback.feedback_source
    return LabelledRecord(
        id=record_id,
        turns=turns,
        label=Verdict(perceived_error=best.label, reason=reason),
        provenance=best.provenance,
        sources=sources,
        metadata={
            "feedback_id": str(best.feedback.id),
            "feedback_source": source.type if source is not None else None,
        },
    )


def _thread_turns(
    clients: LangSmithClients, project_id: str, thread_id: str, trace_id: str, include_tools: bool
) -> list[Turn]:
    """The thread up to and including the trace the label was given on."""
    try:
        traces = read_thread(clients, project_id=project_id, thread_id=thread_id)
    except (ThreadReadError, ThreadNotFoundError) as e:
        raise LangSmithLabelError(str(e)) from e
    ids = [t["trace_id"] for t in traces]
    upto = ids.index(trace_id) + 1 if trace_id in ids else len(traces)
    return extract_thread(traces[:upto], include_tools=include_tools)


def load_langsmith_labels(
    clients: LangSmithClients,
    *,
    project_id: str,
    since: datetime | None = None,
    key: str = FEEDBACK_KEY,
    human_only: bool = False,
    include_tools: bool = False,
    report: LoadReport | None = None,
) -> Iterator[LabelledRecord]:
    """Labelled records from ``key`` feedback on a project's root runs and threads.

    Runs with ``key`` feedback since ``since`` (default: 30 days ago) are read with their inputs
    and outputs; a run that belongs to a thread is labelled as its thread (all the thread's
    labelled traces together, one record with the thread id as id), its transcript being the
    thread up to the trace that carries the chosen feedback. The chosen feedback is a human's
    (latest first) when there is one, else a model's (:func:`feedback_provenance`); feedback
    without a 0/1 score (an error, a partial score) is not a label. ``human_only`` keeps only
    human-labelled records.

    Raises:
        LangSmithLabelError: when LangSmith cannot be read.

    """
    report = report if report is not None else LoadReport()
    since = since or datetime.now(timezone.utc) - timedelta(days=30)
    runs = _labelled_runs(clients, project_id, since, key)
    feedback = _feedback_by_run(clients, [r.run_id for r in runs], key)
    groups: dict[str, list[_FlaggedRun]] = {}
    for run in runs:
        groups.setdefault(run.thread_id or run.run_id, []).append(run)
    for group_id, members in groups.items():
        report.read += 1
        candidates = _candidates(f for run in members for f in feedback.get(run.run_id, []))
        if not candidates:
            report.skip("no 0/1 feedback score", group_id)
            continue
        best = _best(candidates)
        if human_only and best.provenance.kind != "human":
            report.skip("model feedback only", group_id)
            continue
        run = next(r for r in members if r.run_id == str(best.feedback.run_id))
        sources = SourceIds(
            run_id=run.run_id, trace_id=run.trace_id, thread_id=run.thread_id, project_id=project_id
        )
        try:
            if run.thread_id:
                turns = _thread_turns(
                    clients, project_id, run.thread_id, run.trace_id, include_tools
                )
            else:
                record = {"inputs": run.inputs or {}, "outputs": run.outputs or {}}
                turns = extract_transcript(record, include_tools=include_tools)
        except TranscriptError as e:
            logger.warning("skipped %s: unreadable transcript: %s", group_id, e)
            report.skip("unreadable transcript", group_id)
            continue
        report.loaded += 1
        yield _record(group_id, turns, best, sources)
