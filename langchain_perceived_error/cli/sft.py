"""``perceived-error sft build|validate|upload|train|status``: train your own judge on Fireworks.

- ``build LABELLED --out DIR``: ``train.jsonl``, ``holdout.jsonl`` and ``stats.json`` from a JSONL
  of ``LabelledRecord`` lines (see :mod:`langchain_perceived_error.datasets.sft`).
- ``validate FILE...``: the local checks Fireworks' format needs; exit 1 on any error, each with
  its line number.
- ``upload DIR --dataset-id ID``: validate, then create and upload ``ID`` (train) and
  ``ID-holdout`` (evaluation), waiting for READY.
- ``train --dataset-id ID --output-model NAME``: create the LoRA SFT job (or find the one it would
  duplicate); the holdout dataset is the evaluation dataset when it exists.
- ``status JOB [--wait]``: state (with what it means), progress and estimated cost; at the end,
  the output model and how to serve it. Exit 0 when the job completed or is moving on (``--wait``
  follows it), 1 when it ended without a model (FAILED, CANCELLED, EXPIRED), 3 when it is stalled
  (PAUSED...: waiting stops there too).

The key comes from ``FIREWORKS_API_KEY`` only (never an option, never printed); the account from
``--account-id`` or ``FIREWORKS_ACCOUNT_ID``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from fireworks import Fireworks
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from langchain_perceived_error.cli.app import app, close_at_exit, say, stderr
from langchain_perceived_error.cli.options import PromptOption, TimeoutOption, exit_with
from langchain_perceived_error.cli.paths import prepare_report_dir
from langchain_perceived_error.core.tokens import CounterName, resolve_token_counter
from langchain_perceived_error.datasets.labels import LabelFileError, read_labelled
from langchain_perceived_error.datasets.sft import (
    DEFAULT_HOLDOUT,
    DEFAULT_MAX_TOKENS,
    SftBuildStats,
    build_sft_files,
    validate_sft_file,
)
from langchain_perceived_error.fireworks.jobs import (
    FireworksApiError,
    FireworksConfigError,
    JobConflictError,
    JobStatus,
    PollPolicy,
    SftJobSpec,
    SftValidationError,
    UploadResult,
    check_base_model,
    create_or_reuse_sft_job,
    default_eval_dataset,
    fireworks_client,
    get_job_status,
    job_status,
    serving_instructions,
    upload_sft_dir,
    wait_for_job,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "NOT_FINISHED_EXIT_CODE",
    "AccountOption",
    "BaseUrlOption",
    "PollOption",
    "follow_job",
    "make_client",
    "sft_app",
]

sft_app = typer.Typer(
    name="sft",
    help="Fireworks SFT files, uploads and LoRA fine-tuning jobs.",
    no_args_is_help=True,
)
app.add_typer(sft_app, name="sft")

AccountOption = Annotated[
    str | None,
    typer.Option(
        "--account-id",
        envvar="FIREWORKS_ACCOUNT_ID",
        show_default=False,
        help="Fireworks account id (default: $FIREWORKS_ACCOUNT_ID).",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar="FIREWORKS_BASE_URL",
        show_default=False,
        help="Fireworks API URL (default: $FIREWORKS_BASE_URL, else api.fireworks.ai).",
    ),
]
PollOption = Annotated[
    float,
    typer.Option(
        "--poll-interval",
        min=0,
        help="Seconds between status checks at first; grows 1.5x up to 60 s.",
    ),
]


NOT_FINISHED_EXIT_CODE = 3  # in cli.errors.EXIT_CODES
"""Exit code for a job that is not finished: ``sft status`` for a stalled job (PAUSED, being
deleted, an unknown state: it does not move on by itself), ``batch collect`` for any unfinished
one. A job that ended without results (FAILED, CANCELLED, EXPIRED) exits 1."""


def make_client(account_id: str | None, base_url: str | None, timeout: float) -> Fireworks:
    """The Fireworks client for these options (``timeout``: seconds a request may take), closed
    when the command ends.

    Exits 2 with the reason when it cannot be built.
    """
    try:
        client = fireworks_client(account_id=account_id, base_url=base_url, timeout=timeout)
    except FireworksConfigError as e:
        exit_with(e, 2)
    return close_at_exit(client)


def _describe(status: JobStatus) -> str:
    parts = [status.state]
    if status.percent is not None:
        parts.append(f"{status.percent}%")
    if status.estimated_cost:
        parts.append(f"est. {status.estimated_cost}")
    if status.message:
        parts.append(status.message)
    if status.meaning:
        parts.append(status.meaning)
    return ", ".join(parts)


def follow_job(fetch: Callable[[], JobStatus], poll_interval: float, label: str) -> JobStatus:
    """Poll a job to its end with a progress bar (on a terminal) and a line per state change."""
    last: list[str] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=100)

        def update(status: JobStatus) -> None:
            progress.update(
                task, completed=status.percent or 0, description=f"{label}: {_describe(status)}"
            )
            line = _describe(status)
            if not last or last[-1] != line:
                last.append(line)
                say(f"{label}: {line}")

        return wait_for_job(fetch, poll=PollPolicy(interval_s=poll_interval), on_update=update)


# -- build and validate ----------------------------------------------------------------------------


def _stats_table(stats: SftBuildStats) -> Table:
    table = Table(title="SFT files")
    for column in ("split", "examples", "conversations", "true", "false", "tokens min/mean/max"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split in (stats.train, stats.holdout):
        tokens = split.tokens
        table.add_row(
            split.file,
            str(split.examples),
            str(split.conversations),
            str(split.labels["true"]),
            str(split.labels["false"]),
            f"{tokens.min} / {tokens.mean:g} / {tokens.max}",
        )
    return table


@sft_app.command("build")
def build_command(
    labelled: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="JSONL of LabelledRecord lines."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the files.")],
    holdout: Annotated[
        float, typer.Option("--holdout", min=0.0, max=0.95, help="Share held out.")
    ] = DEFAULT_HOLDOUT,
    seed: Annotated[int, typer.Option("--seed", help="Split seed.")] = 0,
    max_tokens: Annotated[
        int,
        typer.Option("--max-tokens", min=1, help="Drop (and count) longer examples."),
    ] = DEFAULT_MAX_TOKENS,
    balance: Annotated[
        bool,
        typer.Option("--balance", help="Add per-sample weights so both classes weigh the same."),
    ] = False,
    token_counter: Annotated[
        str,
        typer.Option(
            "--token-counter", help="auto | chars (estimate) | tiktoken (cached cl100k only)."
        ),
    ] = "auto",
    prompt: PromptOption = "full",
) -> None:
    """Build train.jsonl, holdout.jsonl and stats.json from labelled records."""
    prepare_report_dir(out, inputs=[labelled])
    try:
        counter = resolve_token_counter(_counter_name(token_counter))
        with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as scratch:
            stats = build_sft_files(
                read_labelled(labelled),
                Path(scratch),
                holdout=holdout,
                seed=seed,
                max_tokens=max_tokens,
                balance=balance,
                counter=counter,
                prompt=prompt,
            )
            for built in sorted(Path(scratch).iterdir()):  # each file whole, or the old one kept
                built.replace(out / built.name)
    except LabelFileError as e:
        exit_with(e)
    except ValueError as e:  # a bad --token-counter
        exit_with(e, 2)
    stderr.print(_stats_table(stats))
    dropped = ", ".join(f"{k} {v}" for k, v in stats.dropped.items())
    say(f"input records: {stats.input_records}; dropped: {dropped}")
    say(f"token counter: {stats.token_counter['description']}")
    if stats.weights:
        say(f"train weights: {stats.weights}")
    for warning in stats.warnings:
        say(f"warning: {warning}")
    typer.echo(f"wrote {out / 'train.jsonl'}, {out / 'holdout.jsonl'}, {out / 'stats.json'}")


def _counter_name(name: str) -> CounterName:
    if name not in ("auto", "chars", "tiktoken"):
        msg = f"--token-counter must be auto, chars or tiktoken, got {name!r}"
        raise ValueError(msg)
    return name  # type: ignore[return-value]


@sft_app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="SFT .jsonl files to check.")],
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", min=1, help="Also warn about rows estimated longer."),
    ] = None,
) -> None:
    """Check SFT files line by line; exit 1 when any has an error."""
    failed = False
    for file in files:
        report = validate_sft_file(file, max_tokens=max_tokens)
        for line in report.lines():
            say(line)
        verdict = "ok" if report.ok else f"{len(report.errors)} error(s)"
        typer.echo(f"{file}: {report.rows} rows, {verdict}, {len(report.warnings)} warning(s)")
        failed = failed or not report.ok
    if failed:
        raise typer.Exit(1)


# -- upload, train, status -----------------------------------------------------------------------


def _upload_line(kind: str, result: UploadResult) -> str:
    action = (
        "created and uploaded"
        if result.created
        else ("uploaded" if result.uploaded else "already there with the same file: reused")
    )
    sharded = " (sharded)" if result.sharded else ""
    return (
        f"{kind}: {result.name}: {action}{sharded}, {result.example_count} examples, "
        f"state {result.state}"
    )


@sft_app.command("upload")
def upload_command(
    directory: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="Output of `sft build`.")
    ],
    dataset_id: Annotated[str, typer.Option("--dataset-id", help="Train dataset id.")],
    account_id: AccountOption = None,
    base_url: BaseUrlOption = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for READY.")] = True,
    poll_interval: PollOption = 2.0,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Validate, then upload train.jsonl as ID and holdout.jsonl as ID-holdout."""
    client = make_client(account_id, base_url, timeout)
    seen: set[str | None] = set()

    def on_state(state: str | None) -> None:
        if state not in seen:
            seen.add(state)
            say(f"dataset state: {state}")

    try:
        upload = upload_sft_dir(
            client,
            directory,
            dataset_id,
            wait=wait,
            poll=PollPolicy(interval_s=poll_interval, max_s=30.0),
            on_state=on_state,
        )
    except SftValidationError as e:
        for line in e.report.lines():
            say(line)
        exit_with(f"{e.report.path} is not a valid SFT file: nothing was uploaded")
    except (FireworksApiError, JobConflictError, FireworksConfigError, TimeoutError) as e:
        exit_with(e)
    typer.echo(_upload_line("train", upload.train))
    if upload.holdout is not None:
        typer.echo(_upload_line("holdout", upload.holdout))
    for note in upload.notes:
        say(f"note: {note}")


@sft_app.command("train")
def train_command(
    dataset_id: Annotated[str, typer.Option("--dataset-id", help="Train dataset id.")],
    output_model: Annotated[
        str, typer.Option("--output-model", help="Name (or accounts/.../models/...) to create.")
    ],
    base_model: Annotated[
        str, typer.Option("--base-model", help="Model to fine-tune.")
    ] = DEFAULT_FIREWORKS_MODEL,
    eval_dataset_id: Annotated[
        str | None,
        typer.Option(
            "--eval-dataset-id",
            show_default=False,
            help="Evaluation dataset (default: ID-holdout when it exists).",
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1)] = None,
    learning_rate: Annotated[float | None, typer.Option("--learning-rate")] = None,
    lora_rank: Annotated[
        int | None, typer.Option("--lora-rank", help="Power of 2 up to 32 (Fireworks: 8).")
    ] = None,
    max_context_length: Annotated[int | None, typer.Option("--max-context-length", min=1)] = None,
    job_id: Annotated[
        str | None, typer.Option("--job-id", show_default=False, help="Job id (reused if taken).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job to its end.")] = False,
    account_id: AccountOption = None,
    base_url: BaseUrlOption = None,
    poll_interval: PollOption = 30.0,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Create the LoRA SFT job, or reuse the one it would duplicate; refuse a conflicting one."""
    client = make_client(account_id, base_url, timeout)
    try:
        evaluation = eval_dataset_id or default_eval_dataset(client, dataset_id)
        spec = SftJobSpec(
            dataset_id=dataset_id,
            output_model=output_model,
            base_model=base_model,
            eval_dataset_id=evaluation,
            epochs=epochs,
            learning_rate=learning_rate,
            lora_rank=lora_rank,
            max_context_length=max_context_length,
            job_id=job_id,
        )
        for warning in check_base_model(client, base_model):
            say(f"warning: {warning}")
        outcome = create_or_reuse_sft_job(client, spec)
    except ValidationError as e:
        exit_with(f"invalid option: {e.errors()[0]['msg']}", 2)
    except (FireworksApiError, FireworksConfigError) as e:
        exit_with(e, 2 if isinstance(e, FireworksConfigError) else 1)
    except JobConflictError as e:
        exit_with(e)
    if evaluation is None:
        say(
            "note: no evaluation dataset (no READY ID-holdout found)",
        )
    for note in outcome.notes:
        say(f"note: {note}")
    status = job_status(outcome.job)
    verb = "created" if outcome.action == "created" else "reused (nothing created)"
    typer.echo(f"job {status.name}: {verb}; {_describe(status)}")
    typer.echo(f"output model: {status.output_model}")
    if wait:
        _finish(client, status.name, poll_interval)


def _finish(client: Fireworks, job: str, poll_interval: float) -> None:
    try:
        status = follow_job(lambda: get_job_status(client, job), poll_interval, "fine-tuning")
    except (FireworksApiError, TimeoutError) as e:
        exit_with(e)
    _report_end(status)


def _report_end(status: JobStatus) -> None:
    """Print the job's state; exit 1 when it ended without a model, 3 when it is stalled."""
    typer.echo(f"job {status.name}: {_describe(status)}")
    if status.succeeded and status.output_model:
        typer.echo(serving_instructions(status.output_model))
    elif status.terminal:
        raise typer.Exit(1)
    elif status.stalled:
        raise typer.Exit(NOT_FINISHED_EXIT_CODE)


@sft_app.command("status")
def status_command(
    job: Annotated[str, typer.Argument(help="Job id or accounts/.../supervisedFineTuningJobs/...")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job to its end.")] = False,
    account_id: AccountOption = None,
    base_url: BaseUrlOption = None,
    poll_interval: PollOption = 30.0,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Show a fine-tuning job's state; at COMPLETED, the output model and how to serve it."""
    client = make_client(account_id, base_url, timeout)
    if wait:
        _finish(client, job, poll_interval)
        return
    try:
        status = get_job_status(client, job)
    except FireworksApiError as e:
        exit_with(e)
    _report_end(status)
