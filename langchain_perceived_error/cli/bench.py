"""``perceived-error bench``: judge a labelled set with each model; one row per model, reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langchain_perceived_error.bench.data import (
    BenchDataError,
    FieldMapping,
    load_labelled,
    parse_slices,
)
from langchain_perceived_error.bench.metrics import DEFAULT_RESAMPLES, DEFAULT_SEED
from langchain_perceived_error.bench.report import DEFINITIONS, BenchReport, bench_table
from langchain_perceived_error.bench.report import write_report as _write_report
from langchain_perceived_error.bench.runner import BenchSettings, build_judges, run_benchmark
from langchain_perceived_error.bench.scoring import score_run
from langchain_perceived_error.cache import CacheError, DiskCache
from langchain_perceived_error.cli.app import app, stderr
from langchain_perceived_error.cli.options import RedactOption
from langchain_perceived_error.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge import DEFAULT_CONCURRENCY
from langchain_perceived_error.models import ModelSpecError
from langchain_perceived_error.pricing import PRICES_ENV_VAR, PriceFileError, price_table

__all__ = ["bench_command", "result_console"]


def result_console() -> Console:
    """A stdout console; wide when stdout is not a terminal, so table rows are not wrapped."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 240)


def _fail(message: str, code: int) -> typer.Exit:
    stderr.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command("bench")
def bench_command(
    data: Annotated[
        Path, typer.Argument(help="Labelled conversations: .jsonl, one record a line.")
    ],
    model: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            help="Judge to measure (repeat for several): rules | fireworks:<id> "
            "| <provider>:<model>.",
            show_default=False,
        ),
    ],
    label_field: Annotated[
        str, typer.Option(help="Boolean label field (null = ambiguous: dropped); dots nest.")
    ] = "perceived_error",
    messages_field: Annotated[
        str, typer.Option(help="Conversation field (any shape the judge reads).")
    ] = "messages",
    id_field: Annotated[str, typer.Option(help="Id field (else file:line).")] = "id",
    report: Annotated[
        Path | None,
        typer.Option(help="Write report.json, report.md, predictions.jsonl and PNG charts here."),
    ] = None,
    redact: RedactOption = False,
    cache: Annotated[
        Path | None,
        typer.Option(help="On-disk cache of model calls: a re-run makes no model calls."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use the first N labelled records.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Judgements at once.")
    ] = DEFAULT_CONCURRENCY,
    slice_: Annotated[
        list[str] | None,
        typer.Option(
            "--slice", help="Keep records whose FIELD equals VALUE (FIELD=VALUE; repeatable)."
        ),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(help=f"Price overrides (JSON/TOML; also ${PRICES_ENV_VAR})."),
    ] = None,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Model calls per record, format retries included.")
    ] = DEFAULT_MAX_ATTEMPTS,
    resamples: Annotated[
        int, typer.Option(min=1, help="Bootstrap resamples for the 95% intervals.")
    ] = DEFAULT_RESAMPLES,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = DEFAULT_SEED,
) -> None:
    """Judge a labelled set with each model and compare accuracy, cost and latency."""
    settings = BenchSettings(
        concurrency=concurrency, max_attempts=max_attempts, resamples=resamples, seed=seed
    )
    try:
        table_of_prices = price_table(prices)
        slices = parse_slices(slice_ or [])
    except (PriceFileError, BenchDataError) as e:
        raise _fail(str(e), 2) from e
    mapping = FieldMapping(messages_field, label_field, id_field)
    try:
        items, summary = load_labelled(data, mapping, slices=slices, limit=limit)
    except BenchDataError as e:
        raise _fail(str(e), 1) from e
    if not items:
        msg = (
            f"no labelled records in {data} ({summary.records} read, {summary.outside_slice} "
            f"outside the slice, {summary.null_label} with a null {label_field!r})"
        )
        raise _fail(msg, 1)
    try:
        disk_cache = DiskCache(cache) if cache is not None else None
        judges = build_judges(model, cache=disk_cache, settings=settings, redact=redact)
    except (CacheError, ModelSpecError) as e:
        raise _fail(str(e), 2) from e

    progress = Progress(
        TextColumn("judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task("bench", total=len(items) * len(judges))
        runs = run_benchmark(
            items, judges, settings=settings, on_outcome=lambda _: progress.advance(task)
        )
    scores = [score_run(run, prices=table_of_prices, settings=settings) for run in runs]

    out = result_console()
    title = (
        f"perceived-error bench: {summary.used} labelled records of {data.name} "
        f"(label {label_field}"
        + "".join(f", {k}={'|'.join(v)}" for k, v in slices.items())
        + f"; {summary.null_label} null dropped)"
    )
    out.print(bench_table(scores, title=title))
    for name, text in DEFINITIONS.items():
        out.print(f"  {name}: {text}", highlight=False)
    if disk_cache is not None:
        out.print(
            f"  cache: {disk_cache.path} ({disk_cache.hits} hits, {disk_cache.misses} misses)"
        )
    if report is not None:
        bench_report = BenchReport(data=summary, settings=settings, runs=runs, scores=scores)
        written, charts_skipped = _write_report(bench_report, report)
        stderr.print("report: " + ", ".join(str(p) for p in written))
        if charts_skipped:
            stderr.print(f"[yellow]charts skipped:[/yellow] {charts_skipped}")
