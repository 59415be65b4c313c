"""LangSmith online features: clients, thread reading, feedback writing and annotation queues.

Owns the LangSmith clients (:mod:`.clients`), reading a thread as one conversation
(:mod:`.threads`), feedback with deterministic ids (:mod:`.feedback`), annotation queues
(:mod:`.queues`) and which flagged items reach them, in what order (:mod:`.review`:
``--min-confidence``, ``--order uncertain-first``), and the online evaluator of ``attach``
(:mod:`.attach`).

The ``watch`` worker is :class:`~langchain_perceived_error.online.watch.Watcher` (also exported at
the package root), built from one module per concern: ``watch_config`` (settings), ``pending``
(what is left to judge), ``batch`` (sample, judge, feedback, queue), ``sdk_calls`` (blocking SDK
calls from async code), ``signals`` (SIGINT / SIGTERM), ``state`` (the persisted cursor and
totals) and ``watch`` (the loop and the commit).

May import: :mod:`..evaluation`, :mod:`..judge`, :mod:`..core`, :mod:`..redaction`,
:mod:`..transport`.
"""

from __future__ import annotations

from langchain_perceived_error.online.clients import (
    LangSmithClients,
    LangSmithConfigError,
    ProjectNotFoundError,
    resolve_project,
)
from langchain_perceived_error.online.feedback import (
    FEEDBACK_KEY,
    FeedbackAction,
    FeedbackWrite,
    FeedbackWriteError,
    feedback_id,
    write_feedback,
    write_thread_feedback,
)
from langchain_perceived_error.online.queues import (
    PushReport,
    QueueError,
    RunItem,
    ThreadItem,
    ensure_queue,
    flagged_items,
    push_items,
)
from langchain_perceived_error.online.threads import (
    ThreadJudgement,
    ThreadNotFoundError,
    ThreadReadError,
    ajudge_thread,
    judge_thread,
    read_thread,
)

__all__ = [
    "FEEDBACK_KEY",
    "FeedbackAction",
    "FeedbackWrite",
    "FeedbackWriteError",
    "LangSmithClients",
    "LangSmithConfigError",
    "ProjectNotFoundError",
    "PushReport",
    "QueueError",
    "RunItem",
    "ThreadItem",
    "ThreadJudgement",
    "ThreadNotFoundError",
    "ThreadReadError",
    "ajudge_thread",
    "ensure_queue",
    "feedback_id",
    "flagged_items",
    "judge_thread",
    "push_items",
    "read_thread",
    "resolve_project",
    "write_feedback",
    "write_thread_feedback",
]
