"""Write a judgement to LangSmith as ``perceived_error`` feedback, idempotently.

What is written, by :class:`~langchain_perceived_error.core.schemas.JudgeStatus`:

- **judged**: score 1 (perceived error) or 0, value = the judge's confidence (the probability
  of a perceived error, None when the judge gives none), comment = the verdict's reason and,
  when the user turn it rests on is known, ``(evidence: turn N of M)`` (counted from 1);
- **skipped** (not multi-turn): nothing; the returned :class:`FeedbackWrite` says so;
- **failed**: a feedback with NO score, ``error=True`` and the error in the comment, never a
  score of 0 (a failure is not a verdict).

Every feedback has ``feedback_source_type="model"``, source info ``{model, prompt_version}``,
and ``extra`` ``{status, model, prompt_version, attempts, input_tokens, output_tokens}`` (plus
``confidence`` and the 0-based ``evidence_turn`` of a judged result, when known);
``session_id``, ``start_time`` and ``trace_id`` are always sent (LangSmith needs them).

Idempotency: the feedback id is :func:`feedback_id`, a uuid5 of the key, the run the feedback is on
and the judge's prompt version (``judge.prompt_version``:
:data:`~langchain_perceived_error.core.prompts.PROMPT_VERSION` for the full prompt, another for
the compact one); a new prompt version writes a new feedback. The spec does not say what
``POST /feedback`` does with an id that exists, so a write looks before it writes:
``GET /feedback/{id}``; when the feedback exists its score, value and comment are updated
(``PATCH``), else it is created, and a 409 on create (a concurrent writer, or a server that
rejects a known id) becomes the update. Re-runs therefore never duplicate whether the
server upserts by id, rejects a duplicate id or would store a second copy. The update changes
score, value and comment only (the SDK's ``update_feedback`` takes no ``extra`` or ``error``).

Threads: LangSmith has no public write path for thread-level feedback, so
:func:`write_thread_feedback` writes trace-level feedback on the thread's LAST trace
(``run_id = trace_id`` = that root run, ``session_id`` = the project), which LangSmith's thread
feedback stats aggregate. When a thread grows and is judged again, the new feedback lands on its
new last trace (a new id); the earlier one stays on the trace it was written for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from langsmith.utils import LangSmithConflictError, LangSmithError, LangSmithNotFoundError

from langchain_perceived_error.core.evidence import with_evidence_note
from langchain_perceived_error.core.prompts import PROMPT_VERSION
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.threads import ThreadJudgement

__all__ = [
    "FEEDBACK_KEY",
    "FeedbackAction",
    "FeedbackWrite",
    "FeedbackWriteError",
    "feedback_fields",
    "feedback_id",
    "write_feedback",
    "write_thread_feedback",
]

FEEDBACK_KEY = "perceived_error"
_NAMESPACE = uuid.UUID("5b0c8a52-4a4f-5d0e-9a43-7e1f4c9e2d10")
"""Fixed uuid5 namespace of this package's feedback ids (never change it: ids would move)."""
_ATTEMPTS = 3
"""Bound on the SDK's own retry loop around a write (it retries a 404 up to 10 times by default,
waiting for the run to be ingested); 429 and 5xx are retried underneath by the clients."""


class FeedbackWriteError(RuntimeError):
    """LangSmith refused or failed a feedback write (after the clients' retries)."""


class FeedbackAction(str, Enum):
    """What :func:`write_feedback` did."""

    SCORED = "scored"
    """A judged result: feedback with score 1 or 0."""
    ERROR = "error"
    """A failed result: feedback with no score and ``error=True``."""
    SKIPPED = "skipped"
    """A skipped result: nothing was written."""


@dataclass(frozen=True)
class FeedbackWrite:
    """The outcome of one :func:`write_feedback` call."""

    action: FeedbackAction
    run_id: str
    key: str
    feedback_id: UUID | None = None
    """The feedback's id, or None when nothing was written."""
    score: int | None = None
    updated: bool = False
    """True when the feedback existed and was updated rather than created."""


def feedback_id(
    target_id: str | UUID, key: str = FEEDBACK_KEY, prompt_version: str = PROMPT_VERSION
) -> UUID:
    """The deterministic id of ``key`` feedback on ``target_id`` for this prompt version."""
    return uuid.uuid5(_NAMESPACE, f"{key}\n{target_id}\n{prompt_version}")


def feedback_fields(
    result: JudgeResult, prompt_version: str = PROMPT_VERSION
) -> dict[str, Any] | None:
    """The ``create_feedback`` arguments that depend on the result, or None when skipped."""
    if result.status is JudgeStatus.SKIPPED:
        return None
    info = {"model": result.model, "prompt_version": prompt_version}
    extra: dict[str, Any] = {
        "status": result.status.value,
        **info,
        "attempts": result.attempts,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
    }
    if result.status is JudgeStatus.FAILED:
        return {
            "score": None,
            "comment": f"judge failed: {result.error or 'unknown error'}",
            "error": True,
            "extra": {**extra, "error": True},
            "source_info": info,
        }
    score = 1 if result.perceived_error else 0
    if result.confidence is not None:
        extra["confidence"] = result.confidence
    if result.evidence_turn is not None:
        extra["evidence_turn"] = result.evidence_turn
    comment = with_evidence_note(result.reason or "", result.evidence_turn, result.turns)
    return {
        "score": score,
        "value": result.confidence,
        "comment": comment,
        "extra": extra,
        "source_info": info,
    }


def write_feedback(
    clients: LangSmithClients,
    *,
    result: JudgeResult,
    run_id: str | UUID,
    trace_id: str | UUID,
    session_id: str | UUID,
    start_time: datetime | None,
    key: str = FEEDBACK_KEY,
    prompt_version: str = PROMPT_VERSION,
) -> FeedbackWrite:
    """Write ``result`` as ``key`` feedback on ``run_id`` (see the module docstring);
    ``prompt_version`` is the judge's (``judge.prompt_version``).

    Raises:
        FeedbackWriteError: when LangSmith fails the write (after retries).

    """
    fields = feedback_fields(result, prompt_version)
    if fields is None:
        return FeedbackWrite(action=FeedbackAction.SKIPPED, run_id=str(run_id), key=key)
    identifier = feedback_id(run_id, key, prompt_version)
    try:
        updated = _exists(clients, identifier)
        if not updated:
            try:
                clients.client.create_feedback(
                    run_id,
                    key,
                    trace_id=trace_id,
                    session_id=session_id,
                    start_time=start_time,
                    feedback_id=identifier,
                    feedback_source_type="model",
                    stop_after_attempt=_ATTEMPTS,
                    **fields,
                )
            except LangSmithConflictError:
                updated = True
        if updated:
            clients.client.update_feedback(
                identifier,
                score=fields["score"],
                value=fields.get("value"),
                comment=fields["comment"],
            )
    except LangSmithError as e:
        msg = f"could not write {key!r} feedback on run {run_id}: {clients.describe(e)}"
        raise FeedbackWriteError(msg) from e
    action = FeedbackAction.ERROR if fields.get("error") else FeedbackAction.SCORED
    return FeedbackWrite(
        action=action,
        run_id=str(run_id),
        key=key,
        feedback_id=identifier,
        score=fields["score"],
        updated=updated,
    )


def _exists(clients: LangSmithClients, identifier: UUID) -> bool:
    """Whether the feedback ``identifier`` exists (``GET /feedback/{id}``)."""
    try:
        clients.client.read_feedback(identifier)
    except LangSmithNotFoundError:
        return False
    return True


def write_thread_feedback(
    clients: LangSmithClients,
    judgement: ThreadJudgement,
    *,
    key: str = FEEDBACK_KEY,
    prompt_version: str = PROMPT_VERSION,
) -> FeedbackWrite:
    """Write a thread's judgement on its last trace (trace-level feedback, project as session)."""
    return write_feedback(
        clients,
        result=judgement.result,
        run_id=judgement.last_trace_id,
        trace_id=judgement.last_trace_id,
        session_id=judgement.project_id,
        start_time=judgement.last_start_time,
        key=key,
        prompt_version=prompt_version,
    )
