"""The ``watch`` worker's persisted state: a cursor, the ids at the cursor, and running totals.

A :class:`WatchState` is one small JSON file (``--state``, by default
``.perceived-error-watch-<project>.json`` in the working directory). It records:

- ``cursor``: the activity time (a root run's ``start_time``, a thread's last trace start) of
  the newest item whose batch was fully processed; the next poll reads items at or after it;
- ``at_cursor``: the ids of the items processed whose time equals the cursor exactly, so items
  sharing a timestamp are neither judged twice nor skipped;
- ``totals``: what every committed batch did, summed (judged, skipped, failed, unsampled,
  flagged, queued).

The state is only written when a batch is committed (after its feedback and queue items were
written), and it is written atomically: a temporary file in the same directory, flushed and
fsynced, then ``os.replace`` onto the target (and the directory fsynced where the platform
allows). A crash leaves either the old state or the new one, never a torn file. A state file
that cannot be read or validated raises :class:`StateFileError`; it is never silently reset,
since that would re-judge or skip a project's history.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from langchain_perceived_error.core.files import FileReadError, read_json_file

__all__ = [
    "STATE_SCHEMA_VERSION",
    "StateFileError",
    "WatchMode",
    "WatchState",
    "WatchTotals",
    "default_state_path",
    "load_state",
    "save_state",
]

STATE_SCHEMA_VERSION = 1
"""Bumped when the file's shape changes; a file with another version is refused."""

WatchMode = Literal["runs", "threads"]
"""What the worker judges: root runs one by one, or whole threads that went idle."""


class StateFileError(RuntimeError):
    """The state file cannot be read, parsed, validated or written, or belongs elsewhere."""


class WatchTotals(BaseModel):
    """Running totals over every committed batch. Each item counts once in exactly one of
    judged / skipped / failed / unsampled; flagged and queued are subsets of judged."""

    model_config = ConfigDict(extra="forbid")

    judged: int = Field(default=0, ge=0, description="Items with a valid verdict.")
    skipped: int = Field(default=0, ge=0, description="Items not eligible (no model call).")
    failed: int = Field(default=0, ge=0, description="Items the judge could not judge.")
    unsampled: int = Field(default=0, ge=0, description="Items left out by --sampling-rate.")
    flagged: int = Field(default=0, ge=0, description="Judged items with perceived_error true.")
    queued: int = Field(default=0, ge=0, description="Flagged items in the annotation queue.")

    @property
    def items(self) -> int:
        """Every item seen: judged + skipped + failed + unsampled."""
        return self.judged + self.skipped + self.failed + self.unsampled

    def plus(self, other: WatchTotals) -> WatchTotals:
        """These totals with ``other`` added, field by field."""
        fields = WatchTotals.model_fields
        return WatchTotals(**{name: getattr(self, name) + getattr(other, name) for name in fields})


class WatchState(BaseModel):
    """What a ``watch`` worker has committed for one project and mode."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = STATE_SCHEMA_VERSION
    project_id: str
    project_name: str | None = None
    mode: WatchMode
    cursor: datetime | None = Field(
        default=None,
        description="Activity time of the newest processed item (timezone-aware, ISO in JSON).",
    )
    at_cursor: list[str] = Field(
        default_factory=list, description="Ids of the processed items whose time is the cursor."
    )
    totals: WatchTotals = Field(default_factory=WatchTotals)
    updated_at: datetime | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != STATE_SCHEMA_VERSION:
            msg = f"schema version {value} is not supported (expected {STATE_SCHEMA_VERSION})"
            raise ValueError(msg)
        return value

    @field_validator("cursor", "updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    def check_matches(self, *, project_id: str, mode: WatchMode, path: Path) -> None:
        """Raise :class:`StateFileError` unless this state is for ``project_id`` and ``mode``."""
        if self.project_id != project_id or self.mode != mode:
            msg = (
                f"state file {path} belongs to project {self.project_id} in {self.mode} mode, "
                f"not project {project_id} in {mode} mode; pass another --state file (runs and "
                "threads mode on one project would also write the same feedback ids)"
            )
            raise StateFileError(msg)


def default_state_path(project: str) -> Path:
    """``.perceived-error-watch-<project>.json`` (the name made file-safe) in the cwd."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", project).strip("._") or "project"
    return Path(f".perceived-error-watch-{safe}.json")


def load_state(path: Path) -> WatchState | None:
    """The state stored at ``path``, or None when there is no such file.

    Raises:
        StateFileError: when the file exists but cannot be read, parsed or validated.

    """
    try:
        return WatchState.model_validate(read_json_file(path, what="the watch state file"))
    except FileNotFoundError:
        return None
    except (FileReadError, ValidationError) as e:
        detail = str(e) if isinstance(e, FileReadError) else f"{path}: {e}"
        msg = (
            f"the watch state file is corrupt or unreadable ({detail}); fix or move it away "
            "deliberately: it is never reset automatically, since a fresh state would re-judge "
            "or skip the project's history"
        )
        raise StateFileError(msg) from e


def save_state(path: Path, state: WatchState) -> None:
    """Write ``state`` to ``path`` atomically (temp file, flush, fsync, ``os.replace``).

    Raises:
        StateFileError: when the file cannot be written.

    """
    stamped = state.model_copy(update={"updated_at": datetime.now(timezone.utc)})
    data = stamped.model_dump_json(indent=2) + "\n"
    directory = path.resolve().parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
    except OSError as e:
        msg = f"cannot write the watch state file {path}: {e}"
        raise StateFileError(msg) from e
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
