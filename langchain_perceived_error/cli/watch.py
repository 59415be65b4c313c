"""``perceived-error watch``: judge a LangSmith project's new threads or root runs as they come.

Runs :class:`~langchain_perceived_error.online.watch.Watcher` (see its module for the
guarantees: deterministic feedback ids, idempotent queue pushes, a state file committed
atomically once per batch, so a crash or restart neither skips nor double-counts anything).

- ``--threads`` (default) judges threads quiet for ``--idle`` seconds, feedback on their last
  trace; ``--runs`` judges root runs one by one.
- ``--once`` drains everything pending and exits; otherwise it polls every ``--interval``
  seconds until Ctrl-C (or SIGTERM): the batch in flight finishes and is committed, and the
  command exits 0; a second Ctrl-C aborts at once (the batch is then redone on restart).
- One log line per batch goes to stderr; a totals line follows at the end.
- Exit codes: 0 done or stopped; 1 LangSmith failed a ``--once`` poll after retries, the project
  does not exist, or the state file is corrupt or belongs elsewhere; 2 bad settings (no API
  key, a bad ``--model``, a bad option).

LangSmith settings come from the environment (``LANGSMITH_API_KEY``, ``LANGSMITH_ENDPOINT``,
``LANGSMITH_WORKSPACE_ID``) or the options; the key is never printed.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from langsmith.utils import LangSmithError

from langchain_perceived_error.cli.app import app, say
from langchain_perceived_error.cli.cascade import (
    CascadeOption,
    CascadeThresholdsOption,
    cascade_judge,
    check_cascade_options,
)
from langchain_perceived_error.cli.errors import UsageError
from langchain_perceived_error.cli.options import (
    ApiKeyOption,
    ApiUrlOption,
    MinConfidenceOption,
    RedactOption,
    ReviewOrderOption,
    TimeoutOption,
    WorkspaceOption,
    exit_with,
    langsmith_clients,
    review_order,
)
from langchain_perceived_error.judge.models import ModelSpecError, resolve_model
from langchain_perceived_error.judge.runner import DEFAULT_CONCURRENCY, PerceivedErrorJudge
from langchain_perceived_error.online.clients import (
    LangSmithClients,
    ProjectNotFoundError,
)
from langchain_perceived_error.online.feedback import FEEDBACK_KEY
from langchain_perceived_error.online.state import StateFileError, WatchMode
from langchain_perceived_error.online.watch import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_IDLE_S,
    DEFAULT_INTERVAL_S,
    WatchBatchError,
    WatchConfig,
    Watcher,
    stop_on_signals,
)
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = ["watch_command"]


def _open(
    config: WatchConfig,
    model: str | None,
    clients: LangSmithClients,
    redact: bool,
    timeout: float,
    cascade: tuple[str, Path | None] | None = None,
) -> Watcher:
    def build(spec: str | None) -> PerceivedErrorJudge:
        return PerceivedErrorJudge(resolve_model(spec, timeout=timeout), redact=redact)

    try:
        judge = build(model) if cascade is None else cascade_judge(*cascade, build)
    except ModelSpecError as e:
        exit_with(e, 2)
    try:
        return Watcher.open(clients, judge, config)
    except (ProjectNotFoundError, StateFileError, LangSmithError) as e:
        exit_with(e)


def _print_totals(watcher: Watcher) -> None:
    t = watcher.totals
    say(
        f"watch {watcher.config.project!r} ({watcher.config.mode}): totals: {t.items} items, "
        f"judged {t.judged}, skipped {t.skipped}, failed {t.failed}, unsampled {t.unsampled}, "
        f"flagged {t.flagged}, queued {t.queued}; cursor "
        f"{watcher.state.cursor.isoformat() if watcher.state.cursor else 'none'}; "
        f"state {watcher.state_path}"
    )
    if watcher.config.dry_run:
        say(
            f"dry run: nothing was written: {t.judged} feedback score(s) and {t.queued} queue "
            f"item(s) would have been written, and the state file {watcher.state_path} was not "
            "saved"
        )


@app.command("watch")
def watch_command(
    project: Annotated[str, typer.Option("--project", "-p", help="The tracing project's name.")],
    threads: Annotated[
        bool, typer.Option("--threads", help="Judge whole threads once idle (default).")
    ] = False,
    runs: Annotated[bool, typer.Option("--runs", help="Judge root runs one by one.")] = False,
    filter_expr: Annotated[
        str | None,
        typer.Option("--filter", help="A LangSmith filter expression on root runs."),
    ] = None,
    sampling_rate: Annotated[
        float,
        typer.Option(
            "--sampling-rate", min=0.0, max=1.0, help="Share of items judged (by id hash)."
        ),
    ] = 1.0,
    queue: Annotated[
        str | None,
        typer.Option("--queue", "-q", help="Annotation queue for flagged items (created)."),
    ] = None,
    order: ReviewOrderOption = "found",
    min_confidence: MinConfidenceOption = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.0, help="Seconds between polls.")
    ] = DEFAULT_INTERVAL_S,
    once: Annotated[
        bool, typer.Option("--once", help="Drain what is pending now, then exit.")
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            dir_okay=False,
            help="State file. Default: .perceived-error-watch-<project>.json",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="rules | fireworks:<model id> | <provider>:<model>. Default: as for `judge`.",
            show_default=False,
        ),
    ] = None,
    redact: RedactOption = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Judgements at once.")
    ] = DEFAULT_CONCURRENCY,
    idle: Annotated[
        float,
        typer.Option(
            "--idle", min=0.0, help="Threads: seconds without activity; runs: settle time."
        ),
    ] = DEFAULT_IDLE_S,
    key: Annotated[str, typer.Option("--key", help="The feedback key.")] = FEEDBACK_KEY,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Items per committed batch.")
    ] = DEFAULT_BATCH_SIZE,
    since_days: Annotated[
        float,
        typer.Option("--since-days", min=0.0, help="With no state yet: look back this far."),
    ] = 1.0,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    workspace_id: WorkspaceOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="With --once: read and judge what is pending; write no feedback, no queue item "
            "and no state file.",
        ),
    ] = False,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
    cascade: CascadeOption = None,
    cascade_thresholds: CascadeThresholdsOption = None,
) -> None:
    """Judge new threads (or root runs) of a project; feedback, queue, resumable state."""
    check_cascade_options(cascade, cascade_thresholds, model)
    if threads and runs:
        msg = "give at most one of --threads and --runs"
        raise UsageError(msg)
    if dry_run and not once:
        msg = "--dry-run needs --once"
        raise UsageError(msg)
    mode: WatchMode = "runs" if runs else "threads"
    config_order = review_order(order)
    if queue is None and (order != "found" or min_confidence is not None):
        msg = "--order and --min-confidence choose what goes to the queue: they need --queue"
        raise UsageError(msg)
    try:
        config = WatchConfig(
            project=project,
            mode=mode,
            filter=filter_expr,
            sampling_rate=sampling_rate,
            queue=queue,
            review_order=config_order,
            min_confidence=min_confidence,
            interval_s=interval,
            idle_s=idle,
            concurrency=concurrency,
            batch_size=batch_size,
            key=key,
            state_path=state,
            since=timedelta(days=since_days),
            dry_run=dry_run,
        )
    except ValueError as e:
        exit_with(e, 2)
    clients = langsmith_clients(api_url, api_key, workspace_id, timeout)
    package_logger = logging.getLogger("langchain_perceived_error")
    level = package_logger.level
    package_logger.setLevel(min(level or logging.INFO, logging.INFO))  # the per-batch lines
    try:
        with clients:
            pair = None if cascade is None else (cascade, cascade_thresholds)
            watcher = _open(config, model, clients, redact, timeout, pair)
            _watch(watcher, once)
    finally:
        package_logger.setLevel(level)
    _print_totals(watcher)


def _watch(watcher: Watcher, once: bool) -> None:
    with stop_on_signals(threading.Event()) as stop:
        try:
            if once:
                watcher.drain(stop, close=True)
            else:
                watcher.run(stop, close=True)
        except (WatchBatchError, StateFileError) as e:
            _print_totals(watcher)
            exit_with(e)
