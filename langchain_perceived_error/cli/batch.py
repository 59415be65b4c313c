"""``perceived-error batch submit|collect``: judge at scale on Fireworks' batch engine.

- ``submit INPUT... --model fireworks:<model>``: writes ``<work-dir>/<job>.requests.jsonl`` (one
  request per eligible record, the judge's exact prompt) and ``<work-dir>/<job>.not-sent.jsonl``
  (the records that are not sent, as ``judge`` reports them: skipped or unreadable), uploads the
  requests and creates the job. Submitting the same input and model again finds the same job.
- ``collect JOB --output FILE [--input INPUT...]``: downloads the results and writes the same
  JSONL as ``perceived-error judge``; exit 3 (nothing written) while the job is not finished
  (running, or stalled: PAUSED...), 1 when it ended without results (FAILED, CANCELLED, EXPIRED).
  With ``--input`` (the inputs given to ``submit``) the lines follow the input order and include
  the records that were not sent; without it only the job's results are written, and the not-sent
  file from ``submit`` holds the rest.

See :mod:`langchain_perceived_error.fireworks.batch` for the formats.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from langchain_perceived_error.bench.pricing import estimate_cost
from langchain_perceived_error.cli.app import app, say, stderr
from langchain_perceived_error.cli.errors import InputError, UsageError
from langchain_perceived_error.cli.options import (
    MaxInputTokensOption,
    PromptOption,
    RedactOption,
    TimeoutOption,
    exit_with,
)
from langchain_perceived_error.cli.paths import atomic_write, check_paths
from langchain_perceived_error.cli.sft import (
    NOT_FINISHED_EXIT_CODE,
    AccountOption,
    BaseUrlOption,
    PollOption,
    follow_job,
    make_client,
)
from langchain_perceived_error.cli.summary import RunSummary
from langchain_perceived_error.core.tokens import estimate_tokens
from langchain_perceived_error.fireworks.batch import (
    BatchNotReadyError,
    CollectReport,
    batch_input_budget,
    batch_model_id,
    collect_batch_results,
    default_batch_job_id,
    get_batch_status,
    prepare_batch_requests,
    submit_batch_job,
)
from langchain_perceived_error.fireworks.jobs import (
    FireworksApiError,
    FireworksConfigError,
    JobConflictError,
    PollPolicy,
)
from langchain_perceived_error.judge.models import JUDGE_MAX_TOKENS
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = ["batch_app"]

batch_app = typer.Typer(
    name="batch",
    help="Judge many traces on Fireworks' batch engine (about half the serverless price).",
    no_args_is_help=True,
)
app.add_typer(batch_app, name="batch")


TYPICAL_VERDICT_TOKENS = 40
"""Output tokens assumed per request by ``--dry-run``: a verdict's JSON with a one-sentence reason
(the judge's answers on the bundled sample are 25-45 tokens)."""


@batch_app.command("submit")
def submit_command(
    inputs: Annotated[
        list[str], typer.Argument(help="Traces, as for `judge`: .jsonl / .json files, '-'.")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="fireworks:accounts/<a>/models/<m>")],
    job_id: Annotated[
        str | None,
        typer.Option("--job-id", show_default=False, help="Default: a digest of the requests."),
    ] = None,
    dataset_id: Annotated[
        str | None,
        typer.Option("--dataset-id", show_default=False, help="Input dataset (JOB-input)."),
    ] = None,
    work_dir: Annotated[
        Path, typer.Option("--work-dir", help="Where the requests and not-sent files go.")
    ] = Path("."),
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=16)] = JUDGE_MAX_TOKENS,
    include_tools: Annotated[bool, typer.Option("--include-tools")] = False,
    redact: RedactOption = False,
    max_input_tokens: MaxInputTokensOption = None,
    prompt: PromptOption = "full",
    account_id: AccountOption = None,
    base_url: BaseUrlOption = None,
    poll_interval: PollOption = 2.0,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Write and name the request file, print counts and the estimated cost; "
            "send nothing (no key needed).",
        ),
    ] = False,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Write the judge's requests, upload them and create a batch inference job."""
    try:
        model_id = batch_model_id(model)
    except FireworksConfigError as e:
        exit_with(e, 2)
    if work_dir.exists() and not work_dir.is_dir():
        msg = f"--work-dir {work_dir} is a file"
        raise UsageError(msg, "give a folder")
    check_paths(inputs, [work_dir / "requests.jsonl"] if work_dir.exists() else [work_dir])
    client = None if dry_run else make_client(account_id, base_url, timeout)
    work_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        requests, not_sent = Path(scratch) / "requests.jsonl", Path(scratch) / "not-sent.jsonl"
        report = prepare_batch_requests(
            inputs,
            requests,
            not_sent,
            max_tokens=max_tokens,
            include_tools=include_tools,
            redact=redact,
            max_input_tokens=max_input_tokens or batch_input_budget(model_id),
            prompt=prompt,
        )
        for problem in report.read.unreadable_sources:
            say(f"could not read {problem}")
        if report.requests == 0:
            exit_with(f"nothing to send: {report.not_sent} records were skipped or unreadable")
        job = job_id or default_batch_job_id(requests, model_id, max_tokens)
        final_requests = work_dir / f"{job}.requests.jsonl"
        final_not_sent = work_dir / f"{job}.not-sent.jsonl"
        requests.replace(final_requests)
        not_sent.replace(final_not_sent)
    say(
        f"wrote {report.requests} requests to {final_requests} and {report.not_sent} records not "
        f"sent (skipped or unreadable) to {final_not_sent}"
    )
    if client is None:
        _print_dry_run(final_requests, model_id, report.requests)
        return
    try:
        submission = submit_batch_job(
            client,
            final_requests,
            model=model_id,
            job_id=job,
            dataset_id=dataset_id,
            max_tokens=max_tokens,
            poll=PollPolicy(interval_s=poll_interval, max_s=30.0),
        )
    except (FireworksApiError, JobConflictError, FireworksConfigError, TimeoutError) as e:
        exit_with(e)
    verb = "created" if submission.action == "created" else "already submitted: reused"
    typer.echo(f"batch job {submission.job_id}: {verb}; {submission.status.state}")
    typer.echo(
        f"requests: {report.requests} ({final_requests}); not sent: {report.not_sent} "
        f"({final_not_sent})"
    )
    if report.budget_cuts:
        typer.echo(f"cut to the token budget: {report.budget_cuts} (marked in the text)")
    if redact:
        masked = ", ".join(f"{n} {kind}" for kind, n in sorted(report.redactions.items()))
        typer.echo(f"redacted: {masked or 'nothing found to mask'}")
    typer.echo(
        f"collect with: perceived-error batch collect {submission.job_id} --output results.jsonl "
        f"--input {' '.join(inputs)}"
    )


def _print_dry_run(requests: Path, model_id: str, count: int) -> None:
    """Counts and the estimated cost of the request file; nothing is sent."""
    input_tokens = 0
    with requests.open(encoding="utf-8") as lines:
        for line in lines:
            body = json.loads(line)["body"]
            input_tokens += estimate_tokens(body["messages"])
    output_tokens = count * TYPICAL_VERDICT_TOKENS
    cost = estimate_cost(model_id, input_tokens, output_tokens, batch=True)
    price = "n/a (no known batch price)" if cost is None else f"${cost:.4f}"
    typer.echo(
        f"dry run: nothing was sent. {count} requests, about {input_tokens:,} input tokens "
        f"(estimated) and {output_tokens:,} output tokens ({TYPICAL_VERDICT_TOKENS} a "
        f"verdict); estimated batch cost: {price}"
    )
    typer.echo(f"submit with the same command without --dry-run (requests: {requests})")


@batch_app.command("collect")
def collect_command(
    job: Annotated[str, typer.Argument(help="The batch job id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where result lines go.")],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", "-i", help="The inputs given to submit: input order, not-sent records."
        ),
    ] = None,
    include_tools: Annotated[bool, typer.Option("--include-tools")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job to finish.")] = False,
    account_id: AccountOption = None,
    base_url: BaseUrlOption = None,
    poll_interval: PollOption = 30.0,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Download a batch job's results as `perceived-error judge` lines."""
    check_paths(inputs or [], [output])
    client = make_client(account_id, base_url, timeout)
    if wait:
        try:
            follow_job(lambda: get_batch_status(client, job), poll_interval, "batch")
        except (FireworksApiError, TimeoutError) as e:
            exit_with(e)
    report = CollectReport()
    summary: RunSummary | None = None
    try:
        with atomic_write(output) as out:
            for result in collect_batch_results(
                client, job, input_paths=inputs or None, include_tools=include_tools, report=report
            ):
                if summary is None:
                    status = report.status
                    summary = RunSummary(model=(status.model if status else None) or "batch")
                out.write(json.dumps(result.to_record(), ensure_ascii=False) + "\n")
                summary.add(result)
    except BatchNotReadyError as e:
        exit_with(e, 1 if e.status.terminal else NOT_FINISHED_EXIT_CODE)
    except FireworksApiError as e:
        exit_with(e)
    if summary is not None:
        stderr.print(summary.table())
    say(
        "batch inference is billed at about half the serverless price: halve the estimate",
    )
    say(
        f"output rows: {report.output_rows} from {', '.join(report.files)}; unreadable rows: "
        f"{report.unreadable_rows}; missing from the output: {report.missing}; not in the "
        f"input: {report.unexpected}",
    )
    typer.echo(f"results: {output}")
    if summary is None or summary.settled == 0:
        msg = "no record of the batch got a verdict or a skip"
        raise InputError(msg, "see the error field of the result lines")
