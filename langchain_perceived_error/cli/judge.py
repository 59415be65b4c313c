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

from langchain_perceived_error.cli.app import app, progress_bar, stderr
from langchain_perceived_error.cli.options import MaxInputTokensOption, RedactOption
from langchain_perceived_error.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge import DEFAULT_CONCURRENCY, PerceivedErrorJudge, record_id_of
from langchain_perceived_error.models import ModelSpecError
from langchain_perceived_error.records import ReadReport, SourcedRecord, count_records, read_records
from langchain_perceived_error.schemas import JudgeResult
from langchain_perceived_error.summary import RunSummary

__all__ = ["judge_command"]


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


class ResumeMismatchError(ValueError):
    """The output file of ``--resume`` was not written from these inputs."""


def _resume_point(output: Path) -> tuple[int, str | None]:
    """Drop a half-written last line of ``output``; return its complete lines and the last id."""
    if not output.exists():
        return 0, None
    with output.open("rb+") as stream:
        data_end = stream.seek(0, 2)
        stream.seek(0)
        done, last_id, kept = 0, None, 0
        for line in stream:
            if not line.endswith(b"\n"):
                break  # killed mid-write: this line is redone
            done, kept = done + 1, kept + len(line)
            last_id = json.loads(line).get("id")
        if kept < data_end:
            stream.truncate(kept)
    return done, last_id


def _skip_done(
    records: Iterator[SourcedRecord], done: int, last_id: str | None
) -> Iterator[SourcedRecord]:
    """Skip the ``done`` records already judged, checking the last one is the output's last."""
    for index, record in enumerate(records):
        if index >= done:
            yield record
        elif index == done - 1:
            found = record_id_of(record.payload) or record.source
            if found != last_id:
                msg = (
                    f"the output's last line is record {last_id!r}, but input record {done} is "
                    f"{found!r}: resume with the same inputs, or drop --resume"
                )
                raise ResumeMismatchError(msg)


async def _run_judge(
    judge: PerceivedErrorJudge,
    records: Iterator[SourcedRecord],
    total: int | None,
    out: TextIO,
    concurrency: int,
) -> RunSummary:
    summary = RunSummary(model=judge.model_name)
    try:
        with progress_bar("judging") as progress:
            task = progress.add_task("judge", total=total)
            async for result in _judge_stream(judge, records, concurrency):
                out.write(json.dumps(result.to_record(), ensure_ascii=False) + "\n")
                out.flush()
                summary.add(result)
                progress.advance(task)
    finally:
        await judge.aclose()
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
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an --output file after a crash: keep its complete lines, redo the rest.",
        ),
    ] = False,
    redact: RedactOption = False,
    max_input_tokens: MaxInputTokensOption = None,
) -> None:
    """Judge every trace and write one JSON line per input record, in input order."""
    if max_rps is not None and not rate_limit:
        stderr.print("[red]error:[/red] --max-rps needs the rate limiter; drop --no-rate-limit")
        raise typer.Exit(2)
    if resume and output is None:
        stderr.print("[red]error:[/red] --resume needs --output FILE")
        raise typer.Exit(2)
    try:
        judge = PerceivedErrorJudge(
            model,
            max_attempts=max_attempts,
            include_tools=include_tools,
            rate_limiter="adaptive" if rate_limit else None,
            max_rps=max_rps,
            max_input_tokens="auto" if max_input_tokens is None else max_input_tokens,
            redact=redact,
        )
    except ModelSpecError as e:
        stderr.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    report = ReadReport()
    done, last_id = _resume_point(output) if resume and output is not None else (0, None)
    records = _skip_done(read_records(inputs, report), done, last_id)
    total = count_records(inputs)
    with ExitStack() as stack:
        out = (
            sys.stdout
            if output is None
            else stack.enter_context(output.open("a" if resume else "w", encoding="utf-8"))
        )
        try:
            summary = asyncio.run(
                _run_judge(
                    judge, records, None if total is None else total - done, out, concurrency
                )
            )
        except ResumeMismatchError as e:
            stderr.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from e
    if done:
        stderr.print(f"resumed: {done} records already in {output} were kept")
    for problem in report.unreadable_sources:
        stderr.print(f"[red]could not read[/red] {problem}")
    if report.records == 0:
        stderr.print("[red]error:[/red] no input records could be read")
        raise typer.Exit(1)
    stderr.print(summary.table())
    if output is not None:
        stderr.print(f"results: {output}")
