"""What the ``watch`` worker watches and how: :class:`WatchConfig` and its defaults.

Shared by the listing (:mod:`~langchain_perceived_error.online.pending`), the batch pipeline
(:mod:`~langchain_perceived_error.online.batch`) and the :class:`~langchain_perceived_error.
online.watch.Watcher` loop; it imports only the state's mode and path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from langchain_perceived_error.judge.runner import DEFAULT_CONCURRENCY
from langchain_perceived_error.online.feedback import FEEDBACK_KEY
from langchain_perceived_error.online.review import REVIEW_ORDERS, ReviewOrder
from langchain_perceived_error.online.state import WatchMode, default_state_path

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IDLE_S",
    "DEFAULT_INTERVAL_S",
    "DEFAULT_MAX_OPEN_S",
    "DEFAULT_SINCE",
    "WatchConfig",
]

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
    review_order: ReviewOrder = "found"
    """Push order of each batch's flagged items: ``uncertain-first`` puts confidence closest to
    0.5 first (see :mod:`~langchain_perceived_error.online.review`)."""
    min_confidence: float | None = None
    """Queue only flagged items whose probability of a perceived error is at least this; items
    without a confidence are queued (and counted)."""
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
            (
                self.review_order not in REVIEW_ORDERS,
                f"review_order must be one of {', '.join(REVIEW_ORDERS)}",
            ),
            (
                self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0,
                "min_confidence must be between 0 and 1",
            ),
        ]
        for bad, message in problems:
            if bad:
                msg = f"{message} (got {self!r})"
                raise ValueError(msg)

    @property
    def resolved_state_path(self) -> Path:
        """``state_path`` or the default file for the project."""
        return self.state_path or default_state_path(self.project)
