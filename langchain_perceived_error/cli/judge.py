"""``perceived-error judge``: judge traces from files or stdin, one JSON line per record."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langchain_perceived_error.cli.app import app, stderr
from langchain_perceived_error.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge import DEFAULT_CONCURRENCY, PerceivedErrorJudge
from langchain_perceived_error.models import ModelSpecError
from langchain_perceived_error.records import ReadReport, SourcedRecord, count_records, read_records
from langchain_perceived_error.schemas import JudgeResult
from langchain_perceived_error.summary import RunSummary

__all__ = ["judge_command"]


def _progress() -> Progress:
    return Progress(
        TextColumn("judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
        transient=True,
    )


async def _judge_stream(
    judge: PerceivedErrorJudge, records: Iterator[SourcedRecord], concurrency: int
) -> AsyncIterator[JudgeResult]:
    """Judge in input order; a record without an id gets its ``file:line`` as id."""
    sources: deque[str] = deque()

    def payloads() -> Iterator[Any]:
        for record in records:
            sources.append(record.source)
            yield record.payload

    async for result in judge.ajudge_many(payloads(), concurrency=concurrency):
        source = sources.popleft()
        yield result if result.id is not None else result.model_copy(update={"id": source})


async def _run_judge(
    judge: PerceivedErrorJudge,
    inputs: list[str],
    out: TextIO,
    concurrency: int,
    report: ReadReport,
) -> RunSummary:
    summary = RunSummary(model=judge.model_name)
    total = count_records(inputs)
    with _progress() as progress:
        task = progress.add_task("judge", total=total)
        async for result in _judge_stream(judge, read_records(inputs, report), concurrency):
            out.write(json.dumps(result.to_record(), ensure_ascii=False) + "\n")
            out.flush()
            summary.add(result)
            progress.advance(task)
    return summary


@app.command("judge")
def judge_command(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Files of traces: .jsonl (one record a line) or .json (one record); '-' = stdin.",
            show_default=False,
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="rules | fireworks:<model id> | <provider>:<model>. Default: "
            "$PERCEIVED_ERROR_MODEL, else Fireworks Qwen 3.5 35B-A3B, else 'rules' when "
            "FIREWORKS_API_KEY is unset.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Judgements at once.")
    ] = DEFAULT_CONCURRENCY,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write result lines here instead of stdout."),
    ] = None,
    max_attempts: Annotated[
        int,
        typer.Option(
            "--max-attempts", min=1, help="Model calls per trace, format retries included."
        ),
    ] = DEFAULT_MAX_ATTEMPTS,
    include_tools: Annotated[
        bool,
        typer.Option("--include-tools", help="Show tool calls and results to the judge as text."),
    ] = False,
    max_rps: Annotated[
        float | None,
        typer.Option(
            "--max-rps",
            min=0.001,
            help="Cap on model requests per second (default: no cap; the limiter adapts to "
            "429s and Retry-After by itself).",
            show_default=False,
        ),
    ] = None,
    rate_limit: Annotated[
        bool,
        typer.Option(
            "--rate-limit/--no-rate-limit",
            help="Adaptive client-side rate limiting (slows down on 429/503, honours "
            "Retry-After and X-Ratelimit headers).",
        ),
    ] = True,
) -> None:
    """Judge every trace and write one JSON line per input record, in input order."""
    if max_rps is not None and not rate_limit:
        stderr.print("[red]error:[/red] --max-rps needs the rate limiter; drop --no-rate-limit")
        raise typer.Exit(2)
    try:
        judge = PerceivedErrorJudge(
            model,
            max_attempts=max_attempts,
            include_tools=include_tools,
            rate_limiter="adaptive" if rate_limit else None,
            max_rps=max_rps,
        )
    except ModelSpecError as e:
        stderr.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    report = ReadReport()
    with ExitStack() as stack:
        out = (
            sys.stdout
            if output is None
            else stack.enter_context(output.open("w", encoding="utf-8"))
        )
        summary = asyncio.run(_run_judge(judge, inputs, out, concurrency, report))
    for problem in report.unreadable_sources:
        stderr.print(f"[red]could not read[/red] {problem}")
    if report.records == 0:
        stderr.print("[red]error:[/red] no input records could be read")
        raise typer.Exit(1)
    stderr.print(summary.table())
    if output is not None:
        stderr.print(f"results: {output}")
