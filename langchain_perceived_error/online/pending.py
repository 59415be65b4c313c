"""What the ``watch`` worker has still to judge: idle threads or settled root runs, oldest first.

- **threads**: threads whose last activity (the start of their last trace) is older than
  ``idle_s`` and not older than the cursor (``threads.query``). A thread that later gets new
  traces comes back with a newer activity (and a new last trace id).
- **runs**: root runs (``runs.query_v2``, ``is_root``) that ended and started more than
  ``idle_s`` ago. A run still open holds the cursor back, unless it has been open for more than
  ``max_open_s``.

Items are ordered by (activity time, id); the listing pages through the API and is sorted
locally (the API's order is not relied on). :func:`unprocessed` drops what the state says was
already committed at the cursor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.watch_config import WatchConfig

__all__ = [
    "PAGE_SIZE",
    "PendingItem",
    "aware",
    "list_runs",
    "list_threads",
    "ready_runs",
    "unprocessed",
]

PAGE_SIZE = 100
"""The threads API's maximum page size; fine for runs too."""
_HEADER_SELECTS: list[Any] = ["ID", "START_TIME", "END_TIME"]


@dataclass(frozen=True)
class PendingItem:
    """One pending item: a root run, or a thread at one activity time."""

    id: str
    """Run id, or the thread's last trace id (unique per activity)."""
    time: datetime
    sample_key: str
    """Run id, or thread id."""
    thread_id: str | None = None


def aware(value: datetime | None) -> datetime | None:
    """``value`` with UTC assumed when it carries no time zone."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def unprocessed(
    items: Iterable[PendingItem], cursor: datetime | None, at_cursor: Iterable[str]
) -> list[PendingItem]:
    """Items at or after the cursor, minus those processed at the cursor, oldest first."""
    done = set(at_cursor)
    kept = {
        item.id: item
        for item in items
        if cursor is None or item.time > cursor or (item.time == cursor and item.id not in done)
    }
    return sorted(kept.values(), key=lambda item: (item.time, item.id))


def list_threads(
    clients: LangSmithClients,
    project_id: str,
    config: WatchConfig,
    low: datetime,
    now: datetime,
) -> list[PendingItem]:
    """Threads active since ``low`` and idle for ``config.idle_s`` at ``now`` (blocking)."""
    cutoff = now - timedelta(seconds=config.idle_s)
    options: dict[str, Any] = {"project_id": project_id, "min_start_time": low}
    if config.filter:
        options["filter"] = config.filter
    items = []
    for thread in clients.sdk.threads.query(page_size=PAGE_SIZE, **options):
        activity = aware(thread.max_start_time or thread.start_time)
        if not thread.thread_id or activity is None or activity >= cutoff or activity < low:
            continue  # still active (or outside the window)
        item_id = thread.last_trace_id or thread.thread_id
        items.append(PendingItem(item_id, activity, thread.thread_id, thread.thread_id))
    return items


def list_runs(
    clients: LangSmithClients,
    project_id: str,
    config: WatchConfig,
    low: datetime,
    now: datetime,
) -> list[PendingItem]:
    """Root runs started in ``[low, now - idle_s)`` and ready to judge (blocking)."""
    horizon = now - timedelta(seconds=config.idle_s)
    if horizon <= low:
        return []
    options: dict[str, Any] = {"project_ids": [project_id], "is_root": True}
    if config.filter:
        options["filter"] = config.filter
    headers = []
    pages = clients.sdk.runs.query_v2(
        min_start_time=low,
        max_start_time=horizon,
        selects=_HEADER_SELECTS,
        page_size=PAGE_SIZE,
        **options,
    )
    for run in pages:
        start = aware(run.start_time)
        if start is not None and low <= start < horizon:
            headers.append((start, str(run.id), run.end_time is not None))
    return ready_runs(sorted(headers), now, config.max_open_s)


def ready_runs(
    headers: list[tuple[datetime, str, bool]], now: datetime, max_open_s: float
) -> list[PendingItem]:
    """Runs before the first one still open (unless that one is older than ``max_open_s``)."""
    abandoned = now - timedelta(seconds=max_open_s)
    ready = []
    for start, run_id, ended in headers:
        if not ended and start >= abandoned:
            break  # holds the cursor back until it ends
        ready.append(PendingItem(run_id, start, run_id))
    return ready
