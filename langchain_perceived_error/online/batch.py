"""One batch of the ``watch`` worker: sample, judge, write feedback, queue the flagged items.

:class:`BatchPipeline` takes a batch of :class:`~langchain_perceived_error.online.pending.
PendingItem` and, in order:

1. **sample**: :func:`is_sampled` keeps an item when a hash of its id (the run id, or the thread
   id so a thread is in or out for good) falls under ``sampling_rate``: restarts sample
   identically. Unsampled items are counted and still advance the cursor.
2. **judge** with bounded concurrency (:meth:`PerceivedErrorJudge.ajudge_many`), reading each
   thread's traces (or the batch's runs, in one query) as the judge asks for records.
3. **feedback** per result, as the results stream, with deterministic ids
   (:func:`~langchain_perceived_error.online.feedback.feedback_id`): writing it again replaces
   it. A failed judgement is recorded as error feedback (no score) and counted as failed.
   Skipped items get none.
4. **queue**: flagged items (``perceived_error`` true) go to the annotation queue, if one is
   set, created on first use with the perceived-error rubric; pushes skip items already there.
   ``min_confidence`` and ``review_order`` filter and order each batch's flagged items by the
   judge's confidence (:mod:`~langchain_perceived_error.online.review`).

It returns the batch's counts (and what the confidence filter did); committing them (and the
cursor) is the :class:`~langchain_perceived_error.online.watch.Watcher`'s job, after this returns.
"""

from __future__ import annotations

import contextlib
import functools
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from langchain_perceived_error.core.sampling import id_fraction
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import write_feedback, write_thread_feedback
from langchain_perceived_error.online.pending import PAGE_SIZE, PendingItem, aware
from langchain_perceived_error.online.queues import (
    QueueItem,
    RunItem,
    ThreadItem,
    ensure_queue,
    push_items,
)
from langchain_perceived_error.online.review import select_for_review
from langchain_perceived_error.online.sdk_calls import in_thread
from langchain_perceived_error.online.state import WatchTotals
from langchain_perceived_error.online.threads import ThreadJudgement, read_thread
from langchain_perceived_error.online.watch_config import WatchConfig

__all__ = ["BatchOutcome", "BatchPipeline", "BatchReport", "is_sampled"]

_RUN_SELECTS: list[Any] = ["ID", "NAME", "START_TIME", "END_TIME", "TRACE_ID", "INPUTS", "OUTPUTS"]


@dataclass
class BatchReport:
    """What one committed batch did (also the shape of an empty poll: ``items == 0``)."""

    counts: WatchTotals = field(default_factory=WatchTotals)
    cursor: datetime | None = None
    """The cursor after the batch."""
    pending: int = 0
    """Items listed as pending and left for later batches of the same poll."""
    seconds: float = 0.0
    below_min_confidence: int = 0
    """Flagged items not queued: their confidence is under ``min_confidence``."""

    @property
    def items(self) -> int:
        """Items in the batch."""
        return self.counts.items

    def log_line(self) -> str:
        """The one line logged per batch."""
        c = self.counts
        cursor = self.cursor.isoformat() if self.cursor else "none"
        return (
            f"batch: {c.items} items | judged {c.judged}, skipped {c.skipped}, failed {c.failed},"
            f" unsampled {c.unsampled} | flagged {c.flagged}, queued {c.queued}"
            + (
                f" (below min confidence {self.below_min_confidence})"
                if self.below_min_confidence
                else ""
            )
            + f" | cursor {cursor} | {self.pending} pending | {self.seconds:.1f}s"
        )


@dataclass
class BatchOutcome:
    """What :meth:`BatchPipeline.process` did, before the commit."""

    counts: WatchTotals
    below_min_confidence: int = 0


@dataclass
class _Work:
    """An item on its way through a batch: its record for the judge and its feedback target."""

    item: PendingItem
    record: Any
    trace_id: str | None = None
    start_time: datetime | None = None
    trace_count: int = 0


def is_sampled(item_id: str, rate: float) -> bool:
    """True when ``item_id`` is in the deterministic sample of ``rate`` (0 to 1).

    The id's :func:`~langchain_perceived_error.core.sampling.id_fraction` is compared with the
    rate, so the same id is always in or out (across restarts and machines) and a larger rate
    keeps every item a smaller one kept.
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return id_fraction(item_id) < rate


class BatchPipeline:
    """Sample, judge, write feedback and queue one batch; the counts it returns are uncommitted."""

    def __init__(
        self,
        clients: LangSmithClients,
        judge: PerceivedErrorJudge,
        config: WatchConfig,
        project_id: str,
    ) -> None:
        """Bind the pipeline to one project; the queue is created on first use."""
        self.clients = clients
        self.judge = judge
        self.config = config
        self.project_id = project_id
        self._queue_id: str | None = None

    async def process(self, batch: Sequence[PendingItem]) -> BatchOutcome:
        """Run the batch through every step; the counts of what it did."""
        counts = WatchTotals()
        sampled = [item for item in batch if is_sampled(item.sample_key, self.config.sampling_rate)]
        counts.unsampled = len(batch) - len(sampled)
        flagged: list[tuple[QueueItem, float | None]] = []
        if sampled:
            async with contextlib.aclosing(self._judged(self._works(sampled))) as pairs:
                async for work, result in pairs:
                    write = functools.partial(self._write, work, result)
                    await in_thread(write, "write feedback")
                    _count(counts, result)
                    if result.perceived_error:
                        flagged.append((self._queue_item(work), result.confidence))
        selection = select_for_review(
            flagged, order=self.config.review_order, min_confidence=self.config.min_confidence
        )
        counts.queued = await self._push(selection.items)
        below = selection.below_min_confidence if self.config.queue is not None else 0
        return BatchOutcome(counts, below_min_confidence=below)

    # -- judge -------------------------------------------------------------------------------------
    async def _judged(
        self, works: AsyncIterator[_Work]
    ) -> AsyncGenerator[tuple[_Work, JudgeResult], None]:
        """Judge the works' records with bounded concurrency, pairing each result with its work."""
        order: deque[_Work] = deque()

        async def records() -> AsyncIterator[Any]:
            async for work in works:
                order.append(work)
                yield work.record

        stream = cast(
            "AsyncGenerator[JudgeResult, None]",
            self.judge.ajudge_many(records(), concurrency=self.config.concurrency),
        )
        async with contextlib.aclosing(stream) as results:
            async for result in results:
                yield order.popleft(), result

    async def _works(self, items: Sequence[PendingItem]) -> AsyncIterator[_Work]:
        if self.config.mode == "threads":
            for item in items:
                yield await in_thread(functools.partial(self._thread_work, item), "read a thread")
            return
        runs = await in_thread(lambda: self._fetch_runs(items), "read the batch's runs")
        for item in items:
            yield _run_work(item, runs.get(item.id))

    def _thread_work(self, item: PendingItem) -> _Work:
        thread_id = str(item.thread_id)
        traces = read_thread(self.clients, project_id=self.project_id, thread_id=thread_id)
        upto = [t for t in traces if _not_after(t.get("start_time"), item.time)] or traces
        record = {"id": thread_id, "runs": upto}
        if not upto:
            return _Work(item, record)
        last = upto[-1]
        start = last.get("start_time")
        return _Work(
            item,
            record,
            trace_id=str(last["trace_id"]),
            start_time=start if isinstance(start, datetime) else None,
            trace_count=len(upto),
        )

    def _fetch_runs(self, items: Sequence[PendingItem]) -> dict[str, dict[str, Any]]:
        pages = self.clients.sdk.runs.query_v2(
            project_ids=[self.project_id],
            ids=[item.id for item in items],
            min_start_time=min(item.time for item in items),
            selects=_RUN_SELECTS,
            page_size=PAGE_SIZE,
        )
        runs: dict[str, dict[str, Any]] = {}
        for run in pages:
            runs[str(run.id)] = {
                "id": str(run.id),
                "trace_id": str(run.trace_id or run.id),
                "name": run.name,
                "start_time": aware(run.start_time),
                "inputs": run.inputs or {},
                "outputs": run.outputs or {},
            }
        return runs

    # -- feedback ----------------------------------------------------------------------------------
    def _write(self, work: _Work, result: JudgeResult) -> None:
        if work.trace_id is None or result.status is JudgeStatus.SKIPPED or self.config.dry_run:
            return  # nothing to write (a thread with no traces is skipped by the judge)
        if self.config.mode == "threads":
            judgement = ThreadJudgement(
                project_id=self.project_id,
                thread_id=str(work.item.thread_id),
                result=result,
                last_trace_id=work.trace_id,
                last_start_time=work.start_time,
                trace_count=work.trace_count,
            )
            write_thread_feedback(
                self.clients,
                judgement,
                key=self.config.key,
                prompt_version=self.judge.prompt_version,
            )
            return
        write_feedback(
            self.clients,
            result=result,
            run_id=work.item.id,
            trace_id=work.trace_id,
            session_id=self.project_id,
            start_time=work.start_time,
            key=self.config.key,
            prompt_version=self.judge.prompt_version,
        )

    # -- queue -------------------------------------------------------------------------------------
    def _queue_item(self, work: _Work) -> QueueItem:
        if self.config.mode == "threads":
            return ThreadItem(thread_id=str(work.item.thread_id), project_id=self.project_id)
        return RunItem(run_id=work.item.id, session_id=self.project_id, start_time=work.start_time)

    async def _push(self, flagged: list[QueueItem]) -> int:
        """Push flagged items; the count of them now in the queue (0 without a queue)."""
        if not flagged or self.config.queue is None:
            return 0
        if self.config.dry_run:
            return len(flagged)
        queue_id = await in_thread(self._ensure_queue, "create the annotation queue")
        await in_thread(lambda: push_items(self.clients, queue_id, flagged), "push queue items")
        return len(flagged)

    def _ensure_queue(self) -> str:
        if self._queue_id is None:
            name = str(self.config.queue)
            self._queue_id = ensure_queue(self.clients, name, key=self.config.key)
        return self._queue_id


def _run_work(item: PendingItem, run: dict[str, Any] | None) -> _Work:
    if run is None:  # gone since the listing: judged as empty, so skipped
        return _Work(item, {"id": item.id, "inputs": {}, "outputs": {}})
    start = run.get("start_time")
    return _Work(
        item,
        run,
        trace_id=run["trace_id"],
        start_time=start if isinstance(start, datetime) else item.time,
        trace_count=1,
    )


def _count(counts: WatchTotals, result: JudgeResult) -> None:
    if result.status is JudgeStatus.JUDGED:
        counts.judged += 1
        counts.flagged += 1 if result.perceived_error else 0
    elif result.status is JudgeStatus.SKIPPED:
        counts.skipped += 1
    else:
        counts.failed += 1


def _not_after(start: Any, limit: datetime) -> bool:
    return not isinstance(start, datetime) or (aware(start) or limit) <= limit
