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
5. **commit**: only now are the cursor, the ids at the cursor and the totals advanced and the
   state saved (atomically), once per batch, and one log line written.

Crash safety follows from that order: a crash anywhere in a batch leaves the previous state, so
the restarted worker redoes the whole batch; feedback ids and idempotent queue pushes make the
repeated writes harmless, and since totals only move at commit, nothing is counted twice and
nothing is skipped. LangSmith's 429 and 5xx answers are retried with backoff by the clients
(:class:`~langchain_perceived_error.online.clients.LangSmithClients`); when those retries are
exhausted the batch is abandoned uncommitted (:class:`WatchBatchError`): :meth:`Watcher.run`
logs it and tries again after ``interval_s``; a single :meth:`Watcher.drain` raises it.

Stopping: :meth:`Watcher.run` and :meth:`Watcher.drain` check a ``threading.Event`` between
batches, so the batch in flight always finishes and commits. :func:`stop_on_signals` sets that
event on the first SIGINT or SIGTERM and aborts (``KeyboardInterrupt``) on the second.

The logic is async (:meth:`Watcher.apoll_once`, :meth:`Watcher.adrain`, :meth:`Watcher.arun`);
the sync methods are thin shells around it. The SDK clients are synchronous and run in worker
threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar, cast

from langsmith import APIError
from langsmith.utils import LangSmithError

from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.runner import DEFAULT_CONCURRENCY, PerceivedErrorJudge
from langchain_perceived_error.online.clients import (
    LangSmithClients,
    describe_error,
    resolve_project,
)
from langchain_perceived_error.online.feedback import (
    FEEDBACK_KEY,
    FeedbackWriteError,
    write_feedback,
    write_thread_feedback,
)
from langchain_perceived_error.online.queues import (
    QueueError,
    QueueItem,
    RunItem,
    ThreadItem,
    ensure_queue,
    push_items,
)
from langchain_perceived_error.online.state import (
    StateFileError,
    WatchMode,
    WatchState,
    WatchTotals,
    default_state_path,
    load_state,
    save_state,
)
from langchain_perceived_error.online.threads import (
    ThreadJudgement,
    ThreadReadError,
    read_thread,
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

DEFAULT_IDLE_S = 300.0
"""Threads: quiet this long before judging. Runs: settle time after a run's start."""
DEFAULT_INTERVAL_S = 60.0
"""Seconds between polls of :meth:`Watcher.run`."""
DEFAULT_BATCH_SIZE = 100
"""Items per committed batch."""
DEFAULT_MAX_OPEN_S = 3600.0
"""Runs mode: a root run open longer than this stops holding the cursor back."""
DEFAULT_SINCE = timedelta(days=1)
"""How far back the first poll looks when there is no state yet (LangSmith's default window)."""

_PAGE_SIZE = 100  # the threads API's maximum; fine for runs too
_STOP_CHECK_S = 0.2
_RUN_SELECTS: list[Any] = ["ID", "NAME", "START_TIME", "END_TIME", "TRACE_ID", "INPUTS", "OUTPUTS"]
_HEADER_SELECTS: list[Any] = ["ID", "START_TIME", "END_TIME"]
_TRANSIENT = (
    LangSmithError,
    APIError,
    FeedbackWriteError,
    QueueError,
    ThreadReadError,
    OSError,
)
_T = TypeVar("_T")


class WatchBatchError(RuntimeError):
    """A batch could not be finished (LangSmith unavailable after retries); nothing committed."""


@dataclass(frozen=True)
class WatchConfig:
    """What to watch and how. Only ``project`` is required."""

    project: str
    """The tracing project's name."""
    mode: WatchMode = "threads"
    filter: str | None = None
    """A LangSmith filter expression (on root runs; in threads mode, on each thread's runs)."""
    sampling_rate: float = 1.0
    queue: str | None = None
    """Annotation queue for flagged items (created on first use); None: no queue."""
    interval_s: float = DEFAULT_INTERVAL_S
    idle_s: float = DEFAULT_IDLE_S
    concurrency: int = DEFAULT_CONCURRENCY
    batch_size: int = DEFAULT_BATCH_SIZE
    key: str = FEEDBACK_KEY
    state_path: Path | None = None
    """Default: :func:`~langchain_perceived_error.online.state.default_state_path`."""
    since: timedelta = DEFAULT_SINCE
    max_open_s: float = DEFAULT_MAX_OPEN_S
    dry_run: bool = False
    """Read and judge, but write nothing: no feedback, no queue items, no state file (the cursor
    moves in memory only); the totals say what would have been written."""

    def __post_init__(self) -> None:
        """Reject settings that cannot work, naming the setting."""
        problems = [
            (not 0.0 <= self.sampling_rate <= 1.0, "sampling_rate must be between 0 and 1"),
            (self.concurrency < 1, "concurrency must be at least 1"),
            (self.batch_size < 1, "batch_size must be at least 1"),
            (self.idle_s < 0 or self.interval_s < 0, "idle_s and interval_s must be >= 0"),
            (self.mode not in ("runs", "threads"), "mode must be 'runs' or 'threads'"),
        ]
        for bad, message in problems:
            if bad:
                msg = f"{message} (got {self!r})"
                raise ValueError(msg)

    @property
    def resolved_state_path(self) -> Path:
        """``state_path`` or the default file for the project."""
        return self.state_path or default_state_path(self.project)


@dataclass
class BatchReport:
    """What one committed batch did (also the shape of an empty poll: ``items == 0``)."""

    counts: WatchTotals = field(default_factory=WatchTotals)
    cursor: datetime | None = None
    """The cursor after the batch."""
    pending: int = 0
    """Items listed as pending and left for later batches of the same poll."""
    seconds: float = 0.0

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
            f" unsampled {c.unsampled} | flagged {c.flagged}, queued {c.queued} | cursor {cursor}"
            f" | {self.pending} pending | {self.seconds:.1f}s"
        )


@dataclass(frozen=True)
class _Item:
    """One pending item: a root run, or a thread at one activity time."""

    id: str
    """Run id, or the thread's last trace id (unique per activity)."""
    time: datetime
    sample_key: str
    """Run id, or thread id."""
    thread_id: str | None = None


@dataclass
class _Work:
    """An item on its way through a batch: its record for the judge and its feedback target."""

    item: _Item
    record: Any
    trace_id: str | None = None
    start_time: datetime | None = None
    trace_count: int = 0


def is_sampled(item_id: str, rate: float) -> bool:
    """True when ``item_id`` is in the deterministic sample of ``rate`` (0 to 1).

    The first 8 bytes of the id's SHA-256, read as a fraction of 2**64, are compared with the
    rate, so the same id is always in or out (across restarts and machines) and a larger rate
    keeps every item a smaller one kept.
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


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
        self._queue_id: str | None = None

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
        return _run_sync(self.apoll_once)

    def drain(
        self, stop: threading.Event | None = None, *, close: bool = False
    ) -> list[BatchReport]:
        """Process everything pending now, batch by batch, until done or ``stop`` is set.

        ``close=True`` closes the judge model's HTTP client on the way out (the last call of a
        process, as the CLI does): each sync call runs its own event loop, and an async client
        must be closed on the loop that opened it.
        """
        return _run_sync(lambda: self._closing(self.adrain(stop), close))

    def run(self, stop: threading.Event, *, close: bool = False) -> None:
        """Drain, wait ``interval_s``, repeat until ``stop`` is set (see :meth:`arun`)."""
        _run_sync(lambda: self._closing(self.arun(stop), close))

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
            await _wait(stop, self.config.interval_s)

    # -- listing -----------------------------------------------------------------------------------
    def _low(self) -> datetime:
        return self.state.cursor or self._start

    async def _list_pending(self) -> list[_Item]:
        lister = self._list_threads if self.config.mode == "threads" else self._list_runs
        now = datetime.now(timezone.utc)
        items = await _in_thread(lambda: lister(self._low(), now), "list pending items")
        return self._unprocessed(items)

    def _unprocessed(self, items: list[_Item]) -> list[_Item]:
        """Items at or after the cursor, minus those processed at the cursor, oldest first."""
        cursor, done = self.state.cursor, set(self.state.at_cursor)
        kept = {
            item.id: item
            for item in items
            if cursor is None or item.time > cursor or (item.time == cursor and item.id not in done)
        }
        return sorted(kept.values(), key=lambda item: (item.time, item.id))

    def _list_threads(self, low: datetime, now: datetime) -> list[_Item]:
        cutoff = now - timedelta(seconds=self.config.idle_s)
        options: dict[str, Any] = {"project_id": self.project_id, "min_start_time": low}
        if self.config.filter:
            options["filter"] = self.config.filter
        items = []
        for thread in self.clients.sdk.threads.query(page_size=_PAGE_SIZE, **options):
            activity = _aware(thread.max_start_time or thread.start_time)
            if not thread.thread_id or activity is None or activity >= cutoff or activity < low:
                continue  # still active (or outside the window)
            item_id = thread.last_trace_id or thread.thread_id
            items.append(_Item(item_id, activity, thread.thread_id, thread.thread_id))
        return items

    def _list_runs(self, low: datetime, now: datetime) -> list[_Item]:
        horizon = now - timedelta(seconds=self.config.idle_s)
        if horizon <= low:
            return []
        options: dict[str, Any] = {"project_ids": [self.project_id], "is_root": True}
        if self.config.filter:
            options["filter"] = self.config.filter
        headers = []
        pages = self.clients.sdk.runs.query_v2(
            min_start_time=low,
            max_start_time=horizon,
            selects=_HEADER_SELECTS,
            page_size=_PAGE_SIZE,
            **options,
        )
        for run in pages:
            start = _aware(run.start_time)
            if start is not None and low <= start < horizon:
                headers.append((start, str(run.id), run.end_time is not None))
        return self._ready_runs(sorted(headers), now)

    def _ready_runs(self, headers: list[tuple[datetime, str, bool]], now: datetime) -> list[_Item]:
        """Runs before the first one still open (unless that one is older than max_open_s)."""
        abandoned = now - timedelta(seconds=self.config.max_open_s)
        ready = []
        for start, run_id, ended in headers:
            if not ended and start >= abandoned:
                break  # holds the cursor back until it ends
            ready.append(_Item(run_id, start, run_id))
        return ready

    # -- one batch ---------------------------------------------------------------------------------
    async def _process(self, batch: Sequence[_Item]) -> BatchReport:
        started = time.perf_counter()
        counts = WatchTotals()
        sampled = [item for item in batch if is_sampled(item.sample_key, self.config.sampling_rate)]
        counts.unsampled = len(batch) - len(sampled)
        flagged: list[QueueItem] = []
        if sampled:
            async with contextlib.aclosing(self._judged(self._works(sampled))) as pairs:
                async for work, result in pairs:
                    write = functools.partial(self._write, work, result)
                    await _in_thread(write, "write feedback")
                    _count(counts, result)
                    if result.perceived_error:
                        flagged.append(self._queue_item(work))
        counts.queued = await self._push(flagged)
        self._commit(batch, counts)
        report = BatchReport(
            counts=counts, cursor=self.state.cursor, seconds=time.perf_counter() - started
        )
        logger.info(report.log_line())
        return report

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

    async def _works(self, items: Sequence[_Item]) -> AsyncIterator[_Work]:
        if self.config.mode == "threads":
            for item in items:
                yield await _in_thread(functools.partial(self._thread_work, item), "read a thread")
            return
        runs = await _in_thread(lambda: self._fetch_runs(items), "read the batch's runs")
        for item in items:
            yield _run_work(item, runs.get(item.id))

    def _thread_work(self, item: _Item) -> _Work:
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

    def _fetch_runs(self, items: Sequence[_Item]) -> dict[str, dict[str, Any]]:
        pages = self.clients.sdk.runs.query_v2(
            project_ids=[self.project_id],
            ids=[item.id for item in items],
            min_start_time=min(item.time for item in items),
            selects=_RUN_SELECTS,
            page_size=_PAGE_SIZE,
        )
        runs: dict[str, dict[str, Any]] = {}
        for run in pages:
            runs[str(run.id)] = {
                "id": str(run.id),
                "trace_id": str(run.trace_id or run.id),
                "name": run.name,
                "start_time": _aware(run.start_time),
                "inputs": run.inputs or {},
                "outputs": run.outputs or {},
            }
        return runs

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
            write_thread_feedback(self.clients, judgement, key=self.config.key)
            return
        write_feedback(
            self.clients,
            result=result,
            run_id=work.item.id,
            trace_id=work.trace_id,
            session_id=self.project_id,
            start_time=work.start_time,
            key=self.config.key,
        )

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
        queue_id = await _in_thread(self._ensure_queue, "create the annotation queue")
        await _in_thread(lambda: push_items(self.clients, queue_id, flagged), "push queue items")
        return len(flagged)

    def _ensure_queue(self) -> str:
        if self._queue_id is None:
            name = str(self.config.queue)
            self._queue_id = ensure_queue(self.clients, name, key=self.config.key)
        return self._queue_id

    def _commit(self, batch: Sequence[_Item], counts: WatchTotals) -> None:
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


def _run_work(item: _Item, run: dict[str, Any] | None) -> _Work:
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


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _not_after(start: Any, limit: datetime) -> bool:
    return not isinstance(start, datetime) or (_aware(start) or limit) <= limit


async def _in_thread(call: Callable[[], _T], what: str) -> _T:
    """Run a blocking SDK call in a worker thread; LangSmith failures become WatchBatchError."""
    try:
        return await asyncio.to_thread(call)
    except StateFileError:
        raise
    except _TRANSIENT as e:
        msg = f"could not {what} (LangSmith unavailable after retries?): {describe_error(e)}"
        raise WatchBatchError(msg) from e


async def _wait(stop: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, _STOP_CHECK_S))


def _run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run the coroutine from ``factory`` to completion; refuses inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        msg = "called the sync Watcher API inside a running event loop: await the a* method"
        raise RuntimeError(msg)

    async def main() -> _T:
        return await factory()

    return asyncio.run(main())


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """Set ``stop`` on the first SIGINT/SIGTERM; raise ``KeyboardInterrupt`` on the second.

    The previous handlers are restored on exit. Outside the main thread signals cannot be
    handled: the event is yielded unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        logger.warning(
            "%s: finishing the batch in flight, then stopping (again to abort)",
            signal.Signals(signum).name,
        )

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
