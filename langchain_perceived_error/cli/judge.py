"""``perceived-error judge``: judge traces from files or stdin, one JSON line per record."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal, NoReturn, TextIO

import typer

from langchain_perceived_error.cli.app import app, progress_bar, say, stderr
from langchain_perceived_error.cli.cascade import (
    CascadeOption,
    CascadeThresholdsOption,
    cascade_judge,
    check_cascade_options,
)
from langchain_perceived_error.cli.errors import Terminated, UsageError, run_interruptibly
from langchain_perceived_error.cli.options import (
    MaxInputTokensOption,
    PromptOption,
    RedactOption,
    TimeoutOption,
)
from langchain_perceived_error.cli.paths import check_paths
from langchain_perceived_error.cli.summary import RunSummary
from langchain_perceived_error.core.files import FileReadError, decode_line, parse_json
from langchain_perceived_error.core.records import (
    ReadReport,
    SourcedRecord,
    count_records,
    read_records,
)
from langchain_perceived_error.core.schemas import JudgeResult
from langchain_perceived_error.judge.batching import batch_plan
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import resolve_model
from langchain_perceived_error.judge.runner import (
    DEFAULT_CONCURRENCY,
    PerceivedErrorJudge,
    record_id_of,
)
from langchain_perceived_error.transport.ordered import WINDOW_PER_SLOT, in_index_order_async
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S
from langchain_perceived_error.transport.threaded import aiter_in_thread

__all__ = ["judge_command"]

Order = Literal["input", "completion"]


async def _judge_stream(
    judge: PerceivedErrorJudge,
    records: Iterator[SourcedRecord],
    concurrency: int,
    order: Order,
    *,
    streamed: bool = False,
) -> AsyncIterator[tuple[int, JudgeResult]]:
    """``(input index, result)`` in ``order``; a record without an id gets its ``file:line``.

    ``streamed``: the records come from standard input or a FIFO, whose reads may wait for a
    writer; they are read on a thread of their own, so the records already read are judged and
    written meanwhile.
    """
    sources: dict[int, str] = {}  # the records in flight

    def payloads() -> Iterator[Any]:
        for index, record in enumerate(records):
            sources[index] = record.source
            yield record.payload

    read: Iterable[Any] | AsyncIterable[Any] = payloads()
    if streamed:
        read = aiter_in_thread(payloads(), ahead=batch_plan(concurrency).largest)

    async def completed() -> AsyncIterator[tuple[int, tuple[int, JudgeResult]]]:
        async for index, result in judge.ajudge_as_completed(read, concurrency=concurrency):
            source = sources.pop(index)
            if result.id is None:
                result = result.model_copy(update={"id": source})
            yield index, (index, result)

    if order == "completion":
        async for _, pair in completed():
            yield pair
    else:
        async for pair in in_index_order_async(completed(), window=WINDOW_PER_SLOT * concurrency):
            yield pair


class ResumeMismatchError(ValueError):
    """The output file of ``--resume`` was not written from these inputs."""


def partial_path(output: Path) -> Path:
    """Where ``judge -o FILE`` writes while it runs; renamed to FILE at the end."""
    return output.with_name(output.name + ".partial")


def _refuse_to_drop_partial(partial: Path) -> None:
    """A run without ``--resume`` would start ``partial`` again: refuse while it holds results."""
    if partial.is_file() and partial.stat().st_size > 0:
        msg = f"{partial} holds the results of an interrupted run"
        raise UsageError(msg, f"add --resume to continue it, or delete {partial} to start again")


def _writing_target(output: Path, resume: bool) -> Path:
    """The file to write: ``FILE.partial``, or with ``--resume`` an output written without one."""
    partial = partial_path(output)
    return output if resume and not partial.exists() and output.exists() else partial


def _kept_ids(partial: Path) -> list[str | None]:
    """Drop a half-written last line of ``partial``; return the ids of its complete lines."""
    ids: list[str | None] = []
    if not partial.exists():
        return ids
    with partial.open("rb+") as stream:
        data_end, kept = stream.seek(0, 2), 0
        stream.seek(0)
        for number, line in enumerate(stream, start=1):
            if not line.endswith(b"\n"):
                break  # killed mid-write: this line is redone
            try:
                ids.append(parse_json(decode_line(line, str(partial)), str(partial)).get("id"))
            except (FileReadError, AttributeError) as e:
                msg = f"line {number} of {partial} is not a result line of `perceived-error judge`"
                raise ResumeMismatchError(msg) from e
            kept += len(line)
        if kept < data_end:
            stream.truncate(kept)
    return ids


def _skip_done(records: Iterator[SourcedRecord], kept: list[str | None]) -> Iterator[SourcedRecord]:
    """Skip the records already judged, checking each one's id against the kept line's."""
    index = -1
    for index, record in enumerate(records):
        if index >= len(kept):
            yield record
            continue
        found = record_id_of(record.payload) or record.source
        if found != kept[index]:
            msg = (
                f"line {index + 1} of the output is record {kept[index]!r}, but input record "
                f"{index + 1} is {found!r}: resume with the same inputs, or drop --resume"
            )
            raise ResumeMismatchError(msg)
    if index + 1 < len(kept):
        msg = (
            f"the output already holds {len(kept)} lines but the inputs hold {index + 1} records: "
            "resume with the same inputs, or drop --resume"
        )
        raise ResumeMismatchError(msg)


async def _run_judge(
    judge: PerceivedErrorJudge,
    records: Iterator[SourcedRecord],
    total: int | None,
    out: TextIO,
    concurrency: int,
    summary: RunSummary,
    order: Order = "input",
) -> None:
    try:
        with progress_bar("judging") as progress:
            task = progress.add_task("judge", total=total)
            stream = _judge_stream(judge, records, concurrency, order, streamed=total is None)
            async for index, result in stream:
                line = result.to_record()
                if order == "completion":
                    line["index"] = index
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
                summary.add(result)
                progress.advance(task)
    finally:
        await judge.aclose()


def _own_stdin(total: int | None) -> BinaryIO | None:
    """For a streamed input (``total`` unknown), a file object of its own on stdin's descriptor.

    A stream is read on a thread that may still be blocked in a read when the run ends (Ctrl-C,
    a writer that never closes). The interpreter, closing ``sys.stdin`` at exit while that thread
    holds its lock, would abort the process; this object is never closed (its descriptor is
    stdin's, left open), so nothing waits for the blocked read.
    """
    if total is not None:
        return None
    return open(sys.stdin.fileno(), "rb", closefd=False)


def _resume_command() -> str:
    """The command line of this run, with ``--resume`` (added once)."""
    args = [shlex.quote(a) for a in sys.argv[1:]]
    if "--resume" not in args:
        args.append("--resume")
    return " ".join(["perceived-error", *args])


def _complete_lines(path: Path) -> int:
    """How many complete (newline-ended) lines ``path`` holds."""
    count = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _interrupted(
    error: KeyboardInterrupt, summary: RunSummary, target: Path | None, order: Order, kept: int
) -> NoReturn:
    code = 143 if isinstance(error, Terminated) else 130
    what = "terminated" if code == 143 else "interrupted"
    # The file, not the summary, says what was written: the signal may land between a line's
    # write and its count.
    written = summary.total if target is None else _complete_lines(target) - kept
    if target is not None and order != "input":
        say(
            f"{what}: {written} result lines written this run to {target}; a run in "
            "completion order cannot be resumed: move or delete that file and run it again "
            "(with --order input to be able to resume)"
        )
    elif target is None:
        say(
            f"{what}: {summary.total} result lines were written to stdout; "
            "use -o FILE to be able to resume"
        )
    else:
        say(
            f"{what}: {written} result lines written this run to {target} "
            f"(kept for --resume); resume with: {_resume_command()}"
        )
    raise typer.Exit(code) from None


def _exit_code(summary: RunSummary, report: ReadReport) -> int:
    """0 when every input was read and some record got a verdict or a skip; else 1."""
    for problem in report.unreadable_sources:
        say(f"could not read {problem}")
    if report.records == 0 and summary.total == 0:
        say("error: no input records could be read")
        return 1
    if summary.settled == 0 and summary.total > 0:
        say(f"error: none of the {summary.total} records could be judged (see the error field)")
        return 1
    return 1 if report.unreadable_sources else 0


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
    prompt: PromptOption = "full",
    order: Annotated[
        Order,
        typer.Option(
            "--order",
            help="input: lines in input order. completion: each line as soon as its record is "
            "judged, with the record's 0-based input 'index'.",
        ),
    ] = "input",
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
    cascade: CascadeOption = None,
    cascade_thresholds: CascadeThresholdsOption = None,
) -> None:
    """Judge every trace and write one JSON line per input record (in input order by default)."""
    check_cascade_options(cascade, cascade_thresholds, model)
    if max_rps is not None and not rate_limit:
        msg = "--max-rps needs the rate limiter"
        raise UsageError(msg, "drop --no-rate-limit")
    if resume and output is None:
        msg = "--resume needs --output FILE"
        raise UsageError(msg)
    if resume and order != "input":
        msg = "--resume needs --order input"
        raise UsageError(msg)
    check_paths(inputs, [output, None if output is None else partial_path(output)])
    if output is not None and not resume:
        _refuse_to_drop_partial(partial_path(output))

    def build(spec: str | None) -> PerceivedErrorJudge:
        return PerceivedErrorJudge(
            resolve_model(spec, timeout=timeout),
            max_attempts=max_attempts,
            include_tools=include_tools,
            rate_limiter="adaptive" if rate_limit else None,
            max_rps=max_rps,
            max_input_tokens="auto" if max_input_tokens is None else max_input_tokens,
            redact=redact,
            prompt=prompt,
        )

    judge = (
        build(model)
        if cascade is None
        else cascade_judge(cascade, cascade_thresholds, build, prompt)
    )
    summary, report = RunSummary(model=judge.model_name), ReadReport()
    kept: list[str | None] = []
    target = None if output is None else _writing_target(output, resume)
    if resume and target is not None:
        kept = _kept_ids(target)
    total = count_records(inputs)
    with ExitStack() as stack:
        records = _skip_done(read_records(inputs, report, _own_stdin(total)), kept)
        out = (
            sys.stdout
            if target is None
            else stack.enter_context(target.open("a" if resume else "w", encoding="utf-8"))
        )
        try:
            run_interruptibly(
                _run_judge(
                    judge,
                    records,
                    None if total is None else total - len(kept),
                    out,
                    concurrency,
                    summary,
                    order,
                )
            )
        except KeyboardInterrupt as e:
            stack.close()
            _interrupted(e, summary, target, order, len(kept))
    if output is not None and target is not None and target != output:
        target.replace(output)
    if kept:
        say(f"resumed: {len(kept)} records already in {output} were kept")
    if summary.total:
        stderr.print(summary.table())
    code = _exit_code(summary, report)
    if output is not None:
        say(f"results: {output}")
    if code:
        raise typer.Exit(code)
