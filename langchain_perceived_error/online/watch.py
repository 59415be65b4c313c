"""The online worker behind ``perceived-error watch``: judge a tracing project as it grows.

A :class:`Watcher` polls one LangSmith project for new items, judges them, and commits its
progress to a :class:`~langchain_perceived_error.online.state.WatchState` file. Two modes:

- **threads** (default): threads whose last activity (the start of their last trace) is older
  than ``idle_s`` (default 300 s) and not older than the cursor (``threads.query``). Each is read
  whole (``threads.list_traces``, only the traces up to that activity), judged as one
  conversation, and its feedback goes on its LAST trace. A thread that later gets new traces
  comes back with a newer activity and is judged again; the new feedback lands on its new last
  trace (a new feedback id); the earlier feedback stays where it was.
- **runs**: root runs of the project (``runs.query_v2``, ``is_root``), each judged alone from its
  inputs and outputs. A run is ready once it has ended and started more than ``idle_s`` ago (the
  settle time lets late ingestion arrive before the cursor passes it). A run still open holds the
  cursor back, so it is not passed over, unless it has been open for more than ``max_open_s``
  (default 1 h): it is then judged as it is (usually skipped: no answer yet).

Items are ordered by (activity time, id), oldest first; the listing pages through the API and
is sorted locally (the API's order is not relied on). One poll lists what is pending once, then
processes it in batches of ``batch_size``. For each batch:

1. **sample**: :func:`is_sampled` keeps an item when a hash of its id (the run id, or the thread
   id so a thread is in or out for good) falls under ``sampling_rate``: restarts sample
   identically. Unsampled items are counted and still advance the cursor.
2. **judge** with bounded concurrency (:meth:`PerceivedErrorJudge.ajudge_many`), reading each
   thread's traces (or the batch's runs, in one query) as the judge asks for records.
3. **feedback** per result, as the results stream, with deterministic ids
   (:func:`~langchain_perceived_error.online.feedback.feedback_id`): writing it again replaces
   it. A failed judgement is recorded as error feedback (no score) and counted as failed; the
   cursor still moves past it: it is recorded, not retried forever. Skipped items get none.
4. **queue**: flagged items (``perceived_error`` true) go to the annotation queue, if one is
   set, created on first use with the perceived-error rubric; pushes skip items already there.
   ``min_confidence`` and ``review_order`` filter and order each batch's flagged items by the
   judge's confidence (:mod:`~langchain_perceived_error.online.review`).
5. **commit**: only now are the cursor, the ids at the cursor and the totals advanced and the
   state saved (atomically), once per batch, and one log line written.

Crash safety follows from that order: a crash anywhere in a batch leaves the previous state, so
the restarted worker redoes the whole batch; feedback ids and idempotent queue pushes make the
repeated writes harmless, and since totals only move at commit, nothing is counted twice and
nothing is skipped. LangSmith's 429 and 5xx answers are retried with backoff by the clients
(:class:`~langchain_perceived_error.online.clients.LangSmithClients`); when those retries are
exhausted the batch is abandoned uncommitted (:class:`WatchBatchError`): :meth:`Watcher.run`
logs it and tries again after ``interval_s``; a single :meth:`Watcher.drain` raises it.

The parts live in their own modules: the settings in :mod:`~langchain_perceived_error.online.
watch_config`, the listing in :mod:`~langchain_perceived_error.online.pending`, steps 1-4 in
:mod:`~langchain_perceived_error.online.batch`, the SDK calls from async code in
:mod:`~langchain_perceived_error.online.sdk_calls` and the signals in
:mod:`~langchain_perceived_error.online.signals`; this module is the loop and the commit (step 5),
and re-exports their public names.

Stopping: :meth:`Watcher.run` and :meth:`Watcher.drain` check a ``threading.Event`` between
batches, so the batch in flight always finishes and commits. :func:`stop_on_signals` sets that
event on the first SIGINT or SIGTERM and aborts (``KeyboardInterrupt``) on the second.

The logic is async (:meth:`Watcher.apoll_once`, :meth:`Watcher.adrain`, :meth:`Watcher.arun`);
the sync methods are thin shells around it. The SDK clients are synchronous and run in worker
threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Sequence
from datetime import datetime, timezone
from typing import TypeVar

from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.batch import BatchPipeline, BatchReport, is_sampled
from langchain_perceived_error.online.clients import LangSmithClients, resolve_project
from langchain_perceived_error.online.pending import (
    PendingItem,
    list_runs,
    list_threads,
    unprocessed,
)
from langchain_perceived_error.online.sdk_calls import WatchBatchError, in_thread, run_sync
from langchain_perceived_error.online.signals import stop_on_signals, wait_or_stop
from langchain_perceived_error.online.state import (
    WatchState,
    WatchTotals,
    load_state,
    save_state,
)
from langchain_perceived_error.online.watch_config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_IDLE_S,
    DEFAULT_INTERVAL_S,
    DEFAULT_MAX_OPEN_S,
    DEFAULT_SINCE,
    WatchConfig,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IDLE_S",
    "DEFAULT_INTERVAL_S",
    "DEFAULT_MAX_OPEN_S",
    "DEFAULT_SINCE",
    "BatchReport",
    "WatchBatchError",
    "WatchConfig",
    "Watcher",
    "is_sampled",
    "stop_on_signals",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class Watcher:
    """Polls one project, judges new items, writes feedback and queue items, commits state.

    Build it with :meth:`open`, which resolves the project and loads (or starts) the state.
    """

    def __init__(
        self,
        clients: LangSmithClients,
        judge: PerceivedErrorJudge,
        config: WatchConfig,
        *,
        project_id: str,
        state: WatchState,
        start: datetime,
    ) -> None:
        """Prefer :meth:`open`; ``start`` is the lower bound used while the state has no cursor."""
        self.clients = clients
        self.judge = judge
        self.config = config
        self.project_id = project_id
        self.state = state
        self.state_path = config.resolved_state_path
        self._start = start
        self._pipeline = BatchPipeline(clients, judge, config, project_id)

    @classmethod
    def open(
        cls, clients: LangSmithClients, judge: PerceivedErrorJudge, config: WatchConfig
    ) -> Watcher:
        """Resolve the project and load its state (or start one ``config.since`` ago).

        Raises:
            ProjectNotFoundError: when the project does not exist.
            StateFileError: when the state file is corrupt or belongs to another project/mode.

        """
        project_id = resolve_project(clients, config.project)
        path = config.resolved_state_path
        state = load_state(path)
        if state is None:
            state = WatchState(project_id=project_id, project_name=config.project, mode=config.mode)
        else:
            state.check_matches(project_id=project_id, mode=config.mode, path=path)
        start = datetime.now(timezone.utc) - config.since
        return cls(clients, judge, config, project_id=project_id, state=state, start=start)

    @property
    def totals(self) -> WatchTotals:
        """The committed totals."""
        return self.state.totals

    # -- sync shells -----------------------------------------------------------------------------
    def poll_once(self) -> BatchReport:
        """List what is pending and process (and commit) the oldest batch of it."""
        return run_sync(self.apoll_once)

    def drain(
        self, stop: threading.Event | None = None, *, close: bool = False
    ) -> list[BatchReport]:
        """Process everything pending now, batch by batch, until done or ``stop`` is set.

        ``close=True`` closes the judge model's HTTP client on the way out (the last call of a
        process, as the CLI does): each sync call runs its own event loop, and an async client
        must be closed on the loop that opened it.
        """
        return run_sync(lambda: self._closing(self.adrain(stop), close))

    def run(self, stop: threading.Event, *, close: bool = False) -> None:
        """Drain, wait ``interval_s``, repeat until ``stop`` is set (see :meth:`arun`)."""
        run_sync(lambda: self._closing(self.arun(stop), close))

    async def _closing(self, work: Awaitable[_T], close: bool) -> _T:
        try:
            return await work
        finally:
            if close:
                await self.judge.aclose()

    # -- async core ------------------------------------------------------------------------------
    async def apoll_once(self) -> BatchReport:
        """Async :meth:`poll_once`."""
        pending = await self._list_pending()
        if not pending:
            return BatchReport(cursor=self.state.cursor)
        batch = pending[: self.config.batch_size]
        report = await self._process(batch)
        report.pending = len(pending) - len(batch)
        return report

    async def adrain(self, stop: threading.Event | None = None) -> list[BatchReport]:
        """Async :meth:`drain`: one listing, then batches of ``batch_size`` oldest first.

        Raises:
            WatchBatchError: when LangSmith fails a batch after retries (nothing committed).

        """
        pending = await self._list_pending()
        reports: list[BatchReport] = []
        size = self.config.batch_size
        for start in range(0, len(pending), size):
            if stop is not None and stop.is_set():
                break
            report = await self._process(pending[start : start + size])
            report.pending = max(0, len(pending) - start - size)
            reports.append(report)
        if not pending:
            logger.debug("nothing pending in %s (cursor %s)", self.config.project, self._low())
        return reports

    async def arun(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set: drain, then wait ``interval_s`` (interruptibly).

        A batch that fails because LangSmith is unavailable is logged and retried on the next
        poll; the state stays where the last committed batch left it.
        """
        while not stop.is_set():
            try:
                await self.adrain(stop)
            except WatchBatchError as e:
                logger.warning("%s; retrying in %.0fs", e, self.config.interval_s)
            await wait_or_stop(stop, self.config.interval_s)

    # -- listing -----------------------------------------------------------------------------------
    def _low(self) -> datetime:
        return self.state.cursor or self._start

    async def _list_pending(self) -> list[PendingItem]:
        lister = list_threads if self.config.mode == "threads" else list_runs
        now = datetime.now(timezone.utc)
        low = self._low()
        items = await in_thread(
            lambda: lister(self.clients, self.project_id, self.config, low, now),
            "list pending items",
        )
        return unprocessed(items, self.state.cursor, self.state.at_cursor)

    # -- one batch, then its commit ----------------------------------------------------------------
    async def _process(self, batch: Sequence[PendingItem]) -> BatchReport:
        started = time.perf_counter()
        outcome = await self._pipeline.process(batch)
        self._commit(batch, outcome.counts)
        report = BatchReport(
            counts=outcome.counts,
            cursor=self.state.cursor,
            seconds=time.perf_counter() - started,
            below_min_confidence=outcome.below_min_confidence,
        )
        logger.info(report.log_line())
        return report

    def _commit(self, batch: Sequence[PendingItem], counts: WatchTotals) -> None:
        """Advance the cursor past ``batch`` and add ``counts``; save the state atomically."""
        newest = max(item.time for item in batch)
        at_newest = {item.id for item in batch if item.time == newest}
        if self.state.cursor == newest:
            at_newest |= set(self.state.at_cursor)
        state = self.state.model_copy(
            update={
                "cursor": newest,
                "at_cursor": sorted(at_newest),
                "totals": self.state.totals.plus(counts),
            }
        )
        if not self.config.dry_run:
            save_state(self.state_path, state)
        self.state = state
