"""``perceived-error queue``: push flagged runs and threads to a LangSmith annotation queue.

Two sources, one of them:

- ``--results FILE``: a ``perceived-error judge`` output (JSONL). A line is pushed when its
  ``perceived_error`` is true. Its ``id`` is the id of the judged input record, so for a judged
  LangSmith run it is the run id: it becomes a RUN item (``session_id`` / ``project_id`` and
  ``start_time`` fields on the line are passed along when present). A line that carries
  ``thread_id`` and ``project_id`` becomes a THREAD item instead. A flagged line whose id is not
  a UUID (an input without an id gets ``file:line``) cannot name a run: it is reported and
  skipped, with a count.
- ``--project NAME``: the project's root runs whose ``--key`` feedback scored 1 since ``--since``
  days ago, read through the API; a run that belongs to a thread becomes a THREAD item (thread
  feedback sits on the thread's last trace), other runs RUN items (``--item-type`` overrides).

``--order uncertain-first`` and ``--min-confidence`` rank and filter the flagged items by their
confidence (see :mod:`~langchain_perceived_error.online.review`): the ``confidence`` of a result
line, or for ``--project`` the ``value`` of the item's feedback (the judge writes its confidence
there), read with ``list_feedback``.

The queue is created on first use with the perceived-error rubric. Items already in the queue
are not sent again, and new ones go in requests of at most 100, so running the command twice adds
nothing the second time. LangSmith settings come from the environment (``LANGSMITH_API_KEY``,
``LANGSMITH_ENDPOINT``, ``LANGSMITH_WORKSPACE_ID``) or the options; the key is never printed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from langsmith.utils import LangSmithError

from langchain_perceived_error.cli.app import app
from langchain_perceived_error.cli.errors import UsageError
from langchain_perceived_error.cli.options import (
    ApiKeyOption,
    ApiUrlOption,
    MinConfidenceOption,
    ReviewOrderOption,
    TimeoutOption,
    WorkspaceOption,
    exit_with,
    langsmith_clients,
    review_order,
)
from langchain_perceived_error.core.files import JsonLine, json_lines
from langchain_perceived_error.online.clients import (
    LangSmithClients,
    ProjectNotFoundError,
    resolve_project,
)
from langchain_perceived_error.online.feedback import FEEDBACK_KEY
from langchain_perceived_error.online.queues import (
    ItemType,
    PushReport,
    QueueError,
    QueueItem,
    RunItem,
    ThreadItem,
    create_queue,
    find_queue,
    flagged_entries,
    flagged_items,
    push_items,
)
from langchain_perceived_error.online.review import ReviewSelection, select_for_review
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = ["ResultsScan", "entries_from_results", "items_from_results", "queue_command"]

_SHOWN_PROBLEMS = 5


@dataclass
class ResultsScan:
    """What reading a ``judge`` output file found."""

    lines: int = 0
    flagged: int = 0
    invalid_ids: list[str] = field(default_factory=list)
    """Flagged records whose id is not a UUID (skipped)."""
    unreadable: list[str] = field(default_factory=list)
    """``file:line: error`` for lines that are not JSON objects (skipped)."""
    bad_confidence: list[str] = field(default_factory=list)
    """Flagged records whose ``confidence`` is not a number from 0 to 1 (kept, as without one)."""


def items_from_results(path: Path, scan: ResultsScan) -> Iterator[QueueItem]:
    """Queue items for the flagged records of a ``judge`` output file (see the module doc)."""
    return (item for item, _ in entries_from_results(path, scan))


def entries_from_results(path: Path, scan: ResultsScan) -> Iterator[tuple[QueueItem, float | None]]:
    """``(queue item, confidence)`` for the flagged records of a ``judge`` output file."""
    with path.open("rb") as lines:
        for line in json_lines(lines, str(path)):
            scan.lines += 1
            record = _checked(line, scan)
            if record is None or record.get("perceived_error") is not True:
                continue
            scan.flagged += 1
            item = _item_for_record(record)
            if item is None:
                scan.invalid_ids.append(str(record.get("id")))
            else:
                yield item, _confidence(record, scan)


def _confidence(record: dict[str, Any], scan: ResultsScan) -> float | None:
    value = record.get("confidence")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        scan.bad_confidence.append(str(record.get("id")))
        return None
    return float(value)


def _checked(line: JsonLine, scan: ResultsScan) -> dict[str, Any] | None:
    if line.error is not None:
        scan.unreadable.append(str(line.error))
        return None
    if not isinstance(line.value, dict):
        scan.unreadable.append(f"{line.where}: not a JSON object")
        return None
    return line.value


def _item_for_record(record: dict[str, Any]) -> QueueItem | None:
    thread_id, project_id = record.get("thread_id"), record.get("project_id")
    if thread_id and project_id:
        return ThreadItem(thread_id=str(thread_id), project_id=str(project_id))
    run_id = _as_uuid(record.get("id"))
    if run_id is None:
        return None
    session = record.get("session_id") or project_id
    return RunItem(
        run_id=run_id,
        session_id=str(session) if session else None,
        start_time=record.get("start_time") or None,
    )


def _as_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _print_summary(
    queue: str, queue_id: str, created: bool, report: PushReport, scan: ResultsScan | None
) -> None:
    typer.echo(f"queue {queue!r} ({queue_id}, {'created' if created else 'existing'})")
    if scan is not None:
        typer.echo(f"result lines read: {scan.lines}, flagged: {scan.flagged}")
        if scan.invalid_ids:
            shown = ", ".join(scan.invalid_ids[:_SHOWN_PROBLEMS])
            typer.echo(f"skipped (id is not a run UUID): {len(scan.invalid_ids)} ({shown})")
        if scan.unreadable:
            typer.echo(f"skipped (unreadable lines): {len(scan.unreadable)}")
        if scan.bad_confidence:
            shown = ", ".join(scan.bad_confidence[:_SHOWN_PROBLEMS])
            typer.echo(
                f"confidence not a number from 0 to 1 (kept, as without one): "
                f"{len(scan.bad_confidence)} ({shown})"
            )
    typer.echo(f"items found: {report.requested} (duplicates: {report.duplicates})")
    typer.echo(f"already in the queue: {report.already_queued}")
    typer.echo(f"added: {report.added} in {report.requests} request(s)")


@app.command("queue")
def queue_command(
    queue: Annotated[
        str, typer.Option("--queue", "-q", help="Annotation queue name (created if missing).")
    ],
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            exists=True,
            dir_okay=False,
            help="A `perceived-error judge` output (JSONL): push its flagged records.",
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="A tracing project: push its runs and threads whose feedback is 1."
        ),
    ] = None,
    key: Annotated[
        str, typer.Option("--key", help="The feedback key (rubric item, project feedback).")
    ] = FEEDBACK_KEY,
    since_days: Annotated[
        float,
        typer.Option("--since-days", min=0, help="--project: look back this many days."),
    ] = 7.0,
    item_type: Annotated[
        str,
        typer.Option(
            "--item-type",
            help="--project: auto (THREAD for runs in a thread, else RUN), run or thread.",
        ),
    ] = "auto",
    order: ReviewOrderOption = "found",
    min_confidence: MinConfidenceOption = None,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    workspace_id: WorkspaceOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Read and count what would be pushed; write nothing to LangSmith."
        ),
    ] = False,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Push flagged runs and threads to an annotation queue, once each."""
    if (results is None) == (project is None):
        msg = "give exactly one of --results FILE or --project NAME"
        raise UsageError(msg)
    if item_type not in ("auto", "run", "thread"):
        msg = f"--item-type must be auto, run or thread: {item_type!r}"
        raise UsageError(msg)
    push_order = review_order(order)
    ranked = push_order != "found" or min_confidence is not None
    selection: ReviewSelection[QueueItem] | None = None
    with langsmith_clients(api_url, api_key, workspace_id, timeout) as clients:
        scan = ResultsScan() if results is not None else None
        try:
            if results is not None and scan is not None:
                selection = select_for_review(
                    entries_from_results(results, scan),
                    order=push_order,
                    min_confidence=min_confidence,
                )
                items = selection.items
            else:
                if ranked:
                    entries = _project_entries(clients, str(project), key, since_days, item_type)
                    selection = select_for_review(
                        entries, order=push_order, min_confidence=min_confidence
                    )
                    items = selection.items
                else:
                    items = _project_items(clients, str(project), key, since_days, item_type)
            existed = find_queue(clients, queue)
            if dry_run and existed is None:
                _print_selection(selection, push_order, min_confidence)
                _print_dry_run(queue, None, len(items), None, scan)
                return
            queue_id = existed or create_queue(clients, queue, key=key)
            report = push_items(clients, queue_id, items, dry_run=dry_run)
        except (ProjectNotFoundError, QueueError, LangSmithError, OSError) as e:
            exit_with(e)
    _print_selection(selection, push_order, min_confidence)
    if dry_run:
        _print_dry_run(queue, queue_id, len(items), report, scan)
        return
    _print_summary(queue, queue_id, existed is None, report, scan)


def _print_selection(
    selection: ReviewSelection[QueueItem] | None, order: str, min_confidence: float | None
) -> None:
    """What ``--min-confidence`` left out and ``--order`` could not rank, when they were used."""
    if selection is None or (order == "found" and min_confidence is None):
        return
    if min_confidence is not None:
        typer.echo(
            f"below --min-confidence {min_confidence:g}: {selection.below_min_confidence} "
            "(not pushed)"
        )
    if selection.without_confidence:
        where = ", pushed last" if order == "uncertain-first" else ""
        typer.echo(f"without a confidence: {selection.without_confidence} (kept{where})")


def _print_dry_run(
    queue: str,
    queue_id: str | None,
    found: int,
    report: PushReport | None,
    scan: ResultsScan | None,
) -> None:
    """What ``queue --dry-run`` would do; nothing was written to LangSmith."""
    if scan is not None:
        typer.echo(f"results lines read: {scan.lines}; flagged: {scan.flagged}")
    typer.echo(f"items found: {found}")
    if queue_id is None or report is None:
        typer.echo(f"dry run: queue {queue!r} does not exist: it would be created with the rubric")
        typer.echo(f"dry run: {found} item(s) would be added; nothing was sent")
        return
    typer.echo(f"queue {queue!r} ({queue_id}): already there {report.already_queued}")
    typer.echo(
        f"dry run: {report.added} item(s) would be added in {report.requests} request(s); "
        "nothing was sent"
    )


def _project_query(
    clients: LangSmithClients, project: str, since_days: float, item_type: str
) -> tuple[str, datetime, ItemType]:
    project_id = resolve_project(clients, project)
    since = datetime.now(timezone.utc) - timedelta(days=since_days)
    kind: ItemType = "run" if item_type == "run" else "thread" if item_type == "thread" else "auto"
    return project_id, since, kind


def _project_items(
    clients: LangSmithClients, project: str, key: str, since_days: float, item_type: str
) -> list[QueueItem]:
    project_id, since, kind = _project_query(clients, project, since_days, item_type)
    return list(flagged_items(clients, project_id=project_id, since=since, key=key, item_type=kind))


def _project_entries(
    clients: LangSmithClients, project: str, key: str, since_days: float, item_type: str
) -> list[tuple[QueueItem, float | None]]:
    """The project's flagged items with their feedback's confidence (its ``value``)."""
    project_id, since, kind = _project_query(clients, project, since_days, item_type)
    return flagged_entries(clients, project_id=project_id, since=since, key=key, item_type=kind)
