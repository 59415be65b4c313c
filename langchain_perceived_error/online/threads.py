"""Read a LangSmith thread through the generated API and judge it as one conversation.

A thread is the root traces of one project that share a ``thread_id`` (or ``session_id`` /
``conversation_id``) in their metadata. :func:`read_thread` reads its traces with
``threads.list_traces`` (``GET /api/v2/threads/{thread_id}/traces``; the hand-written
``Client.read_thread`` is deprecated), every page, and returns run-like dicts
(``id``, ``trace_id``, ``name``, ``start_time``, ``inputs``, ``outputs``) in start-time order, the
shape :func:`~langchain_perceived_error.core.transcript.extract_thread` reads. Each trace usually
repeats the history before it; the transcript merges them so every message appears once.

The selects INPUTS, OUTPUTS and TURN_NUMBER are in the SDK's ``ThreadTraceSelect`` but not in the
published spec's enum (2026-05-21). A server that rejects them (400 or 422 naming the selects) is
read another way: the traces with the spec's selects (:data:`FALLBACK_TRACE_SELECTS`), then their
root runs' inputs and outputs with ``runs.query_v2`` (``ids``, selects ``INPUTS``/``OUTPUTS``, both
in the spec), turn numbers from the start-time order. If that read fails too, the error says which
selects the server refused.

:func:`judge_thread` / :func:`ajudge_thread` read and judge a thread and return a
:class:`ThreadJudgement`: the judge's result plus the thread's last trace (its id and start
time), which is where thread feedback goes (see
:func:`~langchain_perceived_error.online.feedback.write_thread_feedback`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from langsmith import APIError, APIStatusError
from langsmith.types import ThreadTrace

from langchain_perceived_error.core.schemas import JudgeResult
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients

__all__ = [
    "FALLBACK_TRACE_SELECTS",
    "TRACE_SELECTS",
    "ThreadJudgement",
    "ThreadNotFoundError",
    "ThreadReadError",
    "ajudge_thread",
    "judge_thread",
    "read_thread",
]

_FallbackSelect = Literal["TRACE_ID", "START_TIME", "NAME"]
_RunSelect = Literal["ID", "START_TIME", "INPUTS", "OUTPUTS"]
_Select = Literal["TRACE_ID", "START_TIME", "INPUTS", "OUTPUTS", "NAME", "TURN_NUMBER"]
TRACE_SELECTS: tuple[_Select, ...] = (
    "TRACE_ID",
    "START_TIME",
    "INPUTS",
    "OUTPUTS",
    "NAME",
    "TURN_NUMBER",
)
"""The trace fields read for each trace of a thread."""
FALLBACK_TRACE_SELECTS: tuple[_FallbackSelect, ...] = ("TRACE_ID", "START_TIME", "NAME")
"""The trace fields read when a server refuses :data:`TRACE_SELECTS` (all in the spec's enum)."""
_RUN_SELECTS: tuple[_RunSelect, ...] = ("ID", "START_TIME", "INPUTS", "OUTPUTS")
_REFUSED = (400, 422)
_PAGE_SIZE = 100  # the API's maximum


class ThreadReadError(RuntimeError):
    """LangSmith could not return a thread's traces (after the clients' retries)."""


class ThreadNotFoundError(LookupError):
    """The thread has no traces in the project."""


@dataclass(frozen=True)
class ThreadJudgement:
    """A judged thread and the trace its feedback belongs on."""

    project_id: str
    thread_id: str
    result: JudgeResult
    """The judge's result; ``result.id`` is the thread id."""
    last_trace_id: str
    """The root run (trace) id of the thread's last trace."""
    last_start_time: datetime | None
    """When that trace started (feedback needs it)."""
    trace_count: int


def read_thread(
    clients: LangSmithClients, *, project_id: str, thread_id: str
) -> list[dict[str, Any]]:
    """The thread's traces as run-like dicts, oldest first (every page is read).

    Raises:
        ThreadReadError: when LangSmith answers with an error (after retries).

    """
    try:
        traces = _list_traces(clients, project_id, thread_id, TRACE_SELECTS)
    except APIStatusError as e:
        if not _refuses_selects(e):
            msg = f"could not read thread {thread_id!r} of project {project_id}: "
            raise ThreadReadError(msg + clients.describe(e)) from e
        traces = _read_without_extra_selects(clients, project_id, thread_id, e)
    except APIError as e:
        msg = f"could not read thread {thread_id!r} of project {project_id}: "
        raise ThreadReadError(msg + clients.describe(e)) from e
    return sorted(traces, key=_trace_order)


def _refuses_selects(error: APIStatusError) -> bool:
    """A 400 or 422 whose message or body names the selects."""
    said = f"{error.message} {error.body}".lower()
    return error.status_code in _REFUSED and "select" in said


def _list_traces(
    clients: LangSmithClients,
    project_id: str,
    thread_id: str,
    selects: tuple[_Select, ...] | tuple[_FallbackSelect, ...],
) -> list[dict[str, Any]]:
    pages = clients.sdk.threads.list_traces(
        thread_id, project_id=project_id, selects=list(selects), page_size=_PAGE_SIZE
    )
    return [_run_like(trace, thread_id) for trace in pages]


def _read_without_extra_selects(
    clients: LangSmithClients, project_id: str, thread_id: str, refusal: APIStatusError
) -> list[dict[str, Any]]:
    """The thread's traces from the spec's selects plus ``runs.query_v2`` for inputs/outputs."""
    extra = sorted(set(TRACE_SELECTS) - set(FALLBACK_TRACE_SELECTS))
    try:
        traces = _list_traces(clients, project_id, thread_id, FALLBACK_TRACE_SELECTS)
        ids = [trace["trace_id"] for trace in traces]
        if not ids:
            return []
        starts = [t["start_time"] for t in traces if isinstance(t["start_time"], datetime)]
        # v2 run queries default to the last day: start at the thread's first trace.
        window: dict[str, Any] = {"min_start_time": min(starts)} if starts else {}
        pages = clients.sdk.runs.query_v2(
            project_ids=[project_id],
            ids=ids,
            selects=list(_RUN_SELECTS),
            page_size=_PAGE_SIZE,
            **window,
        )
        runs = {str(run.id): run for run in pages}
    except APIError as e:
        msg = (
            f"could not read thread {thread_id!r} of project {project_id}: this LangSmith refused "
            f"the trace selects {', '.join(extra)} ({clients.describe(refusal)}) and reading "
            f"the runs instead failed: {clients.describe(e)}"
        )
        raise ThreadReadError(msg) from e
    ordered = sorted(traces, key=_trace_order)
    for turn, trace in enumerate(ordered, start=1):
        run = runs.get(trace["trace_id"])
        trace["turn_number"] = turn
        trace["inputs"] = (run.inputs if run else None) or {}
        trace["outputs"] = (run.outputs if run else None) or {}
    return ordered


def judge_thread(
    judge: PerceivedErrorJudge, clients: LangSmithClients, *, project_id: str, thread_id: str
) -> ThreadJudgement:
    """Read a thread, judge it as one conversation, and name its last trace.

    Raises:
        ThreadNotFoundError: when the thread has no traces in the project.
        ThreadReadError: when LangSmith cannot be read.

    """
    traces = read_thread(clients, project_id=project_id, thread_id=thread_id)
    record = _thread_record(traces, project_id=project_id, thread_id=thread_id)
    return _judgement(judge.judge(record), traces, project_id=project_id, thread_id=thread_id)


async def ajudge_thread(
    judge: PerceivedErrorJudge, clients: LangSmithClients, *, project_id: str, thread_id: str
) -> ThreadJudgement:
    """Async :func:`judge_thread`: the read runs in a worker thread, the judge on the loop."""
    traces = await asyncio.to_thread(
        read_thread, clients, project_id=project_id, thread_id=thread_id
    )
    record = _thread_record(traces, project_id=project_id, thread_id=thread_id)
    result = await judge.ajudge(record)
    return _judgement(result, traces, project_id=project_id, thread_id=thread_id)


def _run_like(trace: ThreadTrace, thread_id: str) -> dict[str, Any]:
    trace_id = str(trace.trace_id)
    return {
        "id": trace_id,
        "trace_id": trace_id,
        "thread_id": thread_id,
        "name": trace.name,
        "start_time": trace.start_time,
        "turn_number": trace.turn_number,
        "inputs": trace.inputs or {},
        "outputs": trace.outputs or {},
    }


def _trace_order(trace: dict[str, Any]) -> tuple[str, str]:
    start = trace.get("start_time")
    stamp = start.isoformat() if isinstance(start, datetime) else str(start or "")
    return stamp, trace["trace_id"]


def _thread_record(
    traces: list[dict[str, Any]], *, project_id: str, thread_id: str
) -> dict[str, Any]:
    if not traces:
        msg = f"thread {thread_id!r} has no traces in project {project_id}"
        raise ThreadNotFoundError(msg)
    return {"id": thread_id, "runs": traces}


def _judgement(
    result: JudgeResult, traces: list[dict[str, Any]], *, project_id: str, thread_id: str
) -> ThreadJudgement:
    last = traces[-1]
    start = last.get("start_time")
    return ThreadJudgement(
        project_id=project_id,
        thread_id=thread_id,
        result=result,
        last_trace_id=last["trace_id"],
        last_start_time=start if isinstance(start, datetime) else None,
        trace_count=len(traces),
    )
