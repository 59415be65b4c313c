"""Labelled records from LangSmith: ``perceived_error`` feedback on a project's runs and threads.

:func:`load_langsmith_labels` reads the root runs that carry the feedback key, groups them by
thread, and yields one :class:`~langchain_perceived_error.core.schemas.LabelledRecord` per run or
thread, filling a :class:`~langchain_perceived_error.datasets.labels.LoadReport`. A human's
feedback wins over a model's (see :func:`feedback_provenance`); feedback without a 0/1 score is
skipped and counted. LangSmith failures raise :class:`LangSmithLabelError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langsmith import APIError
from langsmith.schemas import Feedback
from langsmith.utils import LangSmithError

from langchain_perceived_error.core.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.core.transcript import (
    TranscriptError,
    extract_thread,
    extract_transcript,
)
from langchain_perceived_error.datasets.labels import HUMAN_REASONS, LoadReport, text_or_none
from langchain_perceived_error.online.clients import LangSmithClients, describe_error
from langchain_perceived_error.online.feedback import FEEDBACK_KEY
from langchain_perceived_error.online.threads import (
    ThreadNotFoundError,
    ThreadReadError,
    read_thread,
)

__all__ = ["LangSmithLabelError", "feedback_provenance", "load_langsmith_labels"]

logger = logging.getLogger(__name__)

_FEEDBACK_PAGE = 100


class LangSmithLabelError(RuntimeError):
    """LangSmith could not be read while loading labels (after the clients' retries)."""


_HUMAN_SOURCE_TYPES = frozenset({"app", "api"})


def _source_user(feedback: Feedback) -> str | None:
    source = feedback.feedback_source
    if source is None:
        return None
    return text_or_none(source.user_name) or text_or_none(source.user_id)


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
        problem = describe_error(e)
        msg = f"could not query the runs of project {project_id} with {key!r} feedback: {problem}"
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
        msg = f"could not list {key!r} feedback: {describe_error(e)}"
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
