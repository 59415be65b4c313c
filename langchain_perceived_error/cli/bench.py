"""``perceived-error bench``: judge a labelled set with each model; one row per model, reports."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from langchain_perceived_error.bench.cache import DiskCache
from langchain_perceived_error.bench.cascade import (
    CASCADE_DEFINITIONS,
    DEFAULT_CALIBRATION_SHARE,
    CascadeComparison,
    cascade_markdown,
    cascade_table,
    compare_cascade,
    write_cascade_files,
)
from langchain_perceived_error.bench.data import (
    BenchDataError,
    FieldMapping,
    load_labelled,
    parse_slices,
)
from langchain_perceived_error.bench.pricing import PRICES_ENV_VAR, price_table
from langchain_perceived_error.bench.report import (
    DEFINITIONS,
    BenchReport,
    bench_table,
    prompt_summary,
    render_markdown,
    report_dict,
)
from langchain_perceived_error.bench.report import write_report as _write_report
from langchain_perceived_error.bench.runner import BenchSettings, build_judges, run_benchmark
from langchain_perceived_error.bench.scoring import score_run
from langchain_perceived_error.cli.app import app, progress_bar, say
from langchain_perceived_error.cli.cascade import (
    CascadeThresholdsOption,
    load_thresholds,
    parse_cascade,
)
from langchain_perceived_error.cli.errors import InputError, Terminated, UsageError
from langchain_perceived_error.cli.options import PromptOption, RedactOption, TimeoutOption
from langchain_perceived_error.cli.paths import check_not_input, check_paths, prepare_report_dir
from langchain_perceived_error.core.metrics import DEFAULT_RESAMPLES, DEFAULT_SEED
from langchain_perceived_error.core.prompts import PROMPT_VERSIONS
from langchain_perceived_error.judge.cascade import DEFAULT_MIN_SETTLED, DEFAULT_TARGET_ACCURACY
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.runner import DEFAULT_CONCURRENCY
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = ["DEFAULT_TARGET_PRECISION", "bench_command", "result_console"]

DEFAULT_TARGET_PRECISION = 0.9
"""``--target-precision``: the precision the reported confidence threshold must reach."""


def result_console() -> Console:
    """A stdout console; wide when stdout is not a terminal, so table rows are not wrapped."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 240)


class OutputFormat(str, Enum):
    """How ``bench`` prints its results on stdout."""

    TABLE = "table"
    JSON = "json"
    MD = "md"


@app.command("bench")
def bench_command(
    data: Annotated[
        Path, typer.Argument(help="Labelled conversations: .jsonl, one record a line.")
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Judge to measure (repeat for several): rules | fireworks:<id> "
            "| <provider>:<model>.",
            show_default=False,
        ),
    ] = None,
    label_field: Annotated[
        str, typer.Option(help="Boolean label field (null = ambiguous: dropped); dots nest.")
    ] = "perceived_error",
    messages_field: Annotated[
        str | None,
        typer.Option(
            help="Conversation field (any shape the judge reads). Default: 'messages' when a "
            "record has it, else the whole record (a run, a thread).",
            show_default=False,
        ),
    ] = None,
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
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="table (for people), json (report.json's content) or md (report.md's)."
        ),
    ] = OutputFormat.TABLE,
    target_precision: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Calibration: report the lowest confidence threshold whose precision reaches "
            "this (judges that give a confidence).",
        ),
    ] = DEFAULT_TARGET_PRECISION,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
    prompt: PromptOption = "full",
    cascade: Annotated[
        str | None,
        typer.Option(
            "--cascade",
            help="CHEAP,EXPENSIVE: also compare the cascade (the cheap judge settles what it is "
            "confident about, the expensive one the rest) with each judge alone, on the records "
            "the thresholds were not chosen on.",
            show_default=False,
        ),
    ] = None,
    cascade_thresholds: CascadeThresholdsOption = None,
    cascade_target_accuracy: Annotated[
        float,
        typer.Option(
            min=0.5,
            max=1.0,
            help="--cascade: accuracy the cheap judge's settled records must reach on the "
            "calibration records.",
        ),
    ] = DEFAULT_TARGET_ACCURACY,
    cascade_calibration_share: Annotated[
        float,
        typer.Option(
            min=0.05,
            max=0.95,
            help="--cascade: share of records (by a hash of the id) that choose the thresholds.",
        ),
    ] = DEFAULT_CALIBRATION_SHARE,
    cascade_min_settled: Annotated[
        int,
        typer.Option(min=1, help="--cascade: labelled records a threshold needs behind it."),
    ] = DEFAULT_MIN_SETTLED,
) -> None:
    """Judge a labelled set with each model and compare accuracy, calibration, cost and
    latency.

    Every model judge (both judges of --cascade too) is sent the --prompt; the report records it
    and its version. The rules judge reads only the transcript, whatever the prompt.
    """
    model = list(model or [])
    pair = parse_cascade(cascade) if cascade is not None else None
    if pair is None and cascade_thresholds is not None:
        msg = "--cascade-thresholds needs --cascade CHEAP,EXPENSIVE"
        raise UsageError(msg)
    if not model and pair is None:
        msg = "give at least one --model (or --cascade CHEAP,EXPENSIVE)"
        raise UsageError(msg)
    given = (
        load_thresholds(cascade_thresholds, *pair, prompt) if pair and cascade_thresholds else None
    )
    repeated = sorted({spec for spec in model if model.count(spec) > 1})
    if repeated:
        msg = f"--model {', '.join(repeated)} is given more than once"
        raise UsageError(msg, "give each judge once")
    if target_precision <= 0.0:
        msg = f"--target-precision must be above 0, got {target_precision}"
        raise UsageError(msg, "give a precision in (0, 1], e.g. 0.9")
    check_paths([data, *([prices] if prices else [])], [])
    if report is not None:
        prepare_report_dir(report, inputs=[data])
    check_not_input(cache, [data])  # a cache is a folder
    settings = BenchSettings(
        concurrency=concurrency,
        max_attempts=max_attempts,
        resamples=resamples,
        seed=seed,
        target_precision=target_precision,
        prompt=prompt,
    )
    try:
        table_of_prices = price_table(prices)
        slices = parse_slices(slice_ or [])
    except BenchDataError as e:
        raise UsageError(str(e)) from e
    mapping = FieldMapping(messages_field, label_field, id_field)
    items, summary = load_labelled(data, mapping, slices=slices, limit=limit)
    if not items:
        msg = (
            f"no labelled records in {data} ({summary.records} read, {summary.outside_slice} "
            f"outside the slice, {summary.null_label} with a null {label_field!r})"
        )
        raise InputError(msg)
    disk_cache = DiskCache(cache) if cache is not None else None
    specs = [*model, *(spec for spec in (pair or ()) if spec not in model)]
    judges = build_judges(
        specs, cache=disk_cache, settings=settings, timeout=timeout, redact=redact
    )
    with progress_bar("judging") as progress:
        task = progress.add_task("bench", total=len(items) * len(judges))
        try:
            runs = run_benchmark(
                items, judges, settings=settings, on_outcome=lambda _: progress.advance(task)
            )
        except KeyboardInterrupt as e:
            kept = f"; the model calls made so far are in {cache}" if cache else ""
            hint = "re-run the same command" + (" (cached calls are not repeated)" if cache else "")
            say(
                f"{'terminated' if isinstance(e, Terminated) else 'interrupted'}: no report was "
                f"written{kept}; {hint}"
            )
            raise typer.Exit(143 if isinstance(e, Terminated) else 130) from None
    scores = [score_run(run, prices=table_of_prices, settings=settings) for run in runs]
    bench_report = BenchReport(data=summary, settings=settings, runs=runs, scores=scores)
    comparison = None
    if pair is not None:
        by_spec = {run.spec: run for run in runs}
        comparison = compare_cascade(
            by_spec[pair[0]],
            by_spec[pair[1]],
            thresholds=given,
            target_accuracy=cascade_target_accuracy,
            min_settled=cascade_min_settled,
            calibration_share=cascade_calibration_share,
            prices=table_of_prices,
            settings=settings,
            chosen_on={
                "data": str(data),
                "label_field": label_field,
                "records": len(items),
                "prompt_version": PROMPT_VERSIONS[prompt],
            },
        )
    _print_results(bench_report, output_format, label_field, disk_cache, comparison)
    if report is not None:
        written, charts_skipped = _write_report(bench_report, report)
        if comparison is not None:
            written += write_cascade_files(comparison, report)
        say("report: " + ", ".join(str(p) for p in written))
        if charts_skipped:
            say(f"charts skipped: {charts_skipped}")
    if all(score.judged + score.skipped == 0 for score in scores):
        msg = "no record could be judged by any model"
        raise InputError(msg, "see the failed counts and predictions")


def _print_results(
    report: BenchReport,
    output_format: OutputFormat,
    label_field: str,
    disk_cache: DiskCache | None,
    comparison: CascadeComparison | None,
) -> None:
    out = result_console()
    if output_format is OutputFormat.JSON:
        extra = {} if comparison is None else {"cascade": comparison.to_dict()}
        out.print_json(data={**report_dict(report), **extra})
        return
    if output_format is OutputFormat.MD:
        text = render_markdown(report)
        if comparison is not None:
            text += "\n\n" + cascade_markdown(comparison)
        out.print(text, markup=False, highlight=False, soft_wrap=True)  # Markdown: never wrapped
        return
    summary = report.data
    out.print(
        f"perceived-error bench: {summary.used} labelled records of {Path(summary.path).name} "
        f"(label {label_field}"
        + "".join(f", {k}={'|'.join(v)}" for k, v in summary.slices.items())
        + f"; {summary.null_label} null dropped)",
        highlight=False,
        markup=False,
    )
    out.print(f"  {prompt_summary(report.settings.prompt)}", highlight=False, markup=False)
    out.print(bench_table(report.scores))
    for name, text in DEFINITIONS.items():
        out.print(f"  {name}: {text}", highlight=False, markup=False, soft_wrap=True)
    if disk_cache is not None:
        out.print(
            f"  cache: {disk_cache.path} ({disk_cache.hits} hits, {disk_cache.misses} misses)",
            highlight=False,
            markup=False,
        )
    if comparison is not None:
        out.print(cascade_table(comparison))
        for name, text in CASCADE_DEFINITIONS.items():
            out.print(f"  {name}: {text}", highlight=False, markup=False, soft_wrap=True)
