"""Judge at scale on Fireworks' batch engine: submit requests, collect verdicts.

**Submit** reads the same inputs as ``perceived-error judge`` and writes one request per eligible
record, ``{"custom_id": <record id>, "body": {"messages": [...], "max_tokens": 512,
"temperature": 0}}``, whose messages are :func:`~langchain_perceived_error.datasets.sft.
judge_messages_as_dicts`, the judge's own prompt and rendering, of the transcript prepared as the
live judge prepares it (:func:`~langchain_perceived_error.core.preparation.prepare_turns`: masked
with ``redact``, then cut to the token budget). Thinking is switched off for the
whole job with ``inference_parameters.extra_body = {"reasoning_effort": "none"}`` (the SDK types
``extra_body`` as a JSON string), as the live judge does. Records that are not sent (no user turn
after an assistant turn, or unreadable) are written straight away, as the judge would report them,
to a "not sent" file beside the requests. A record id that repeats gets ``#2``, ``#3``... in its
``custom_id`` (Fireworks needs them unique); the output keeps the original id.

The job id defaults to a digest of the requests, the model and the parameters, so submitting the
same input twice finds the first job instead of paying twice; a job with the same id but another
model or input is refused.

**Collect** downloads the output dataset through ``datasets.get_download_endpoint`` (signed URLs,
fetched with a plain HTTP client that carries no Fireworks key). Every line of every file is read:
a row with a ``response`` holds a chat completion (or ``{"status_code", "body"}``); a row with an
``error`` is a failed request. Each answer goes through
:func:`~langchain_perceived_error.parse_verdict`; anything else becomes a ``failed`` result with
the error and the raw output. With the original input (``--input``) the results come out in input
order, the not-sent records in their place and a record missing from the output as failed
``no result``; without it, in the output's order. The output lines are
``JudgeResult.to_record()``, the same as ``perceived-error judge`` writes.

The batch engine makes one call per record: there is no format retry as in the live judge, so a
bad answer is a ``failed`` line (judge those again with ``perceived-error judge``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from fireworks import Fireworks

from langchain_perceived_error.core.budget import DEFAULT_MAX_INPUT_TOKENS, budget_for_model
from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.core.preparation import prepare_turns
from langchain_perceived_error.core.prompts import PromptStyle
from langchain_perceived_error.core.records import ReadReport, UnreadableRecord, read_records
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Turn
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript
from langchain_perceived_error.datasets.sft import judge_messages_as_dicts
from langchain_perceived_error.fireworks.jobs import (
    FireworksApiError,
    FireworksConfigError,
    JobConflictError,
    JobStatus,
    PollPolicy,
    call,
    check_resource_id,
    dataset_name,
    get_or_none,
    job_status,
    short_id,
    upload_dataset,
    wait_for_job,
)
from langchain_perceived_error.judge.models import (
    FIREWORKS_PREFIX,
    JUDGE_MAX_TOKENS,
    ModelSpecError,
    resolve_model,
)
from langchain_perceived_error.judge.runner import record_id_of
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "NO_RESULT_ERROR",
    "BatchNotReadyError",
    "BatchSubmission",
    "CollectReport",
    "PlannedRecord",
    "PrepareReport",
    "batch_input_budget",
    "batch_model_id",
    "batch_request_row",
    "collect_batch_results",
    "default_batch_job_id",
    "download_dataset_files",
    "get_batch_status",
    "plan_records",
    "prepare_batch_requests",
    "submit_batch_job",
]

NO_RESULT_ERROR = "no result: the record is missing from the batch output"
_THINKING_OFF = json.dumps({"reasoning_effort": "none"})


class BatchNotReadyError(RuntimeError):
    """The batch job has not finished (or ended without output); the message says which."""

    def __init__(self, message: str, status: JobStatus) -> None:
        """Keep the job's status beside the message (``status.terminal``: it will not finish)."""
        super().__init__(message)
        self.status = status


def batch_model_id(spec: str) -> str:
    """The Fireworks model id of ``fireworks:<id>`` or ``accounts/...`` (batch runs on Fireworks).

    Raises:
        FireworksConfigError: for other specs, or a ``#deployment`` suffix (batch jobs take a
            model, not a deployment).

    """
    model = spec.strip().removeprefix(FIREWORKS_PREFIX).strip()
    if "#" in model:
        msg = f"batch inference takes a model, not a deployment: drop the '#...' from {spec!r}"
        raise FireworksConfigError(msg)
    if not model.startswith("accounts/") or "/models/" not in model:
        msg = (
            f"batch inference runs on Fireworks: --model must be fireworks:accounts/<a>/models/<m>"
            f", got {spec!r}"
        )
        raise FireworksConfigError(msg)
    return model


def batch_request_row(
    custom_id: str,
    turns: Sequence[Turn],
    *,
    max_tokens: int = JUDGE_MAX_TOKENS,
    prompt: PromptStyle = "full",
) -> dict[str, Any]:
    """One batch input row: the judge's exact messages for ``turns`` (with the ``prompt`` style
    the live judge would send), temperature 0."""
    return {
        "custom_id": custom_id,
        "body": {
            "messages": judge_messages_as_dicts(turns, prompt),
            "max_tokens": max_tokens,
            "temperature": 0,
        },
    }


# -- planning: the same walk over the input at submit and at collect ----------------------------


@dataclass(frozen=True)
class PlannedRecord:
    """One input record: sent (``turns``) or answered locally (``local``)."""

    custom_id: str
    record_id: str
    turns: list[Turn] | None = None
    local: JudgeResult | None = None


def _local(record_id: str, status: JudgeStatus, reason: str) -> JudgeResult:
    if status is JudgeStatus.SKIPPED:
        return JudgeResult(id=record_id, status=status, skip_reason=reason)
    return JudgeResult(id=record_id, status=status, error=reason)


def plan_records(
    paths: Sequence[str], *, include_tools: bool = False, report: ReadReport | None = None
) -> Iterator[PlannedRecord]:
    """Walk the input as ``perceived-error judge`` reads it, deciding what is sent.

    Deterministic, so :func:`collect_batch_results` can walk it again to restore input order.
    """
    seen: dict[str, int] = {}
    for sourced in read_records(paths, report or ReadReport()):
        record_id = record_id_of(sourced.payload) or sourced.source
        seen[record_id] = seen.get(record_id, 0) + 1
        custom_id = record_id if seen[record_id] == 1 else f"{record_id}#{seen[record_id]}"
        if isinstance(sourced.payload, UnreadableRecord):
            local = _local(
                record_id, JudgeStatus.FAILED, f"unreadable trace: {sourced.payload.error}"
            )
            yield PlannedRecord(custom_id, record_id, local=local)
            continue
        try:
            turns = extract_transcript(sourced.payload, include_tools=include_tools)
        except TranscriptError as e:
            local = _local(record_id, JudgeStatus.FAILED, f"unreadable trace: {e}")
            yield PlannedRecord(custom_id, record_id, local=local)
            continue
        reason = skip_reason(turns)
        if reason is not None:
            yield PlannedRecord(
                custom_id, record_id, local=_local(record_id, JudgeStatus.SKIPPED, reason)
            )
        else:
            yield PlannedRecord(custom_id, record_id, turns=turns)


@dataclass
class PrepareReport:
    """What :func:`prepare_batch_requests` wrote, and what it did to the transcripts sent."""

    requests: int = 0
    not_sent: int = 0
    read: ReadReport = field(default_factory=ReadReport)
    budget_cuts: int = 0
    """Requests whose transcript was cut to the token budget (marked in the text sent)."""
    redactions: Counter[str] = field(default_factory=Counter)
    """Items masked by ``redact``, by kind."""


def batch_input_budget(model_id: str) -> int:
    """The live judge's default transcript budget for ``model_id`` (see ``budget_for_model``)."""
    try:
        return budget_for_model(resolve_model(FIREWORKS_PREFIX + model_id))
    except ModelSpecError:  # no key to build the client with: the model-independent default
        return DEFAULT_MAX_INPUT_TOKENS


def prepare_batch_requests(
    paths: Sequence[str],
    requests_path: str | Path,
    not_sent_path: str | Path,
    *,
    max_tokens: int = JUDGE_MAX_TOKENS,
    include_tools: bool = False,
    redact: bool = False,
    max_input_tokens: int | None = DEFAULT_MAX_INPUT_TOKENS,
    prompt: PromptStyle = "full",
) -> PrepareReport:
    """Write the batch input rows and the not-sent records' result lines (module doc).

    Each transcript is prepared as the live judge prepares it
    (:func:`~langchain_perceived_error.core.preparation.prepare_turns`): masked when ``redact``,
    then cut to ``max_input_tokens`` (``None``: sent whole), and sent with the ``prompt`` style
    (``"compact"`` only for a model fine-tuned on it).
    """
    report = PrepareReport()
    with (
        Path(requests_path).open("w", encoding="utf-8") as requests,
        Path(not_sent_path).open("w", encoding="utf-8") as not_sent,
    ):
        for planned in plan_records(paths, include_tools=include_tools, report=report.read):
            if planned.local is not None:
                not_sent.write(json.dumps(planned.local.to_record(), ensure_ascii=False) + "\n")
                report.not_sent += 1
                continue
            assert planned.turns is not None
            prepared = prepare_turns(
                planned.turns, redact=redact, max_input_tokens=max_input_tokens
            )
            report.budget_cuts += prepared.budget_cut is not None
            report.redactions.update(prepared.redactions or {})
            row = batch_request_row(
                planned.custom_id, prepared.turns, max_tokens=max_tokens, prompt=prompt
            )
            requests.write(json.dumps(row, ensure_ascii=False) + "\n")
            report.requests += 1
    return report


# -- submit ----------------------------------------------------------------------------------------


def default_batch_job_id(requests_path: str | Path, model: str, max_tokens: int) -> str:
    """``pe-batch-<digest>`` of the requests, model and parameters: a resubmit finds its job."""
    digest = hashlib.sha256(f"{model}\x00{max_tokens}\x00".encode())
    with Path(requests_path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return f"pe-batch-{digest.hexdigest()[:12]}"


@dataclass
class BatchSubmission:
    """The job :func:`submit_batch_job` created or found."""

    job_id: str
    status: JobStatus
    model: str
    input_dataset_id: str
    output_dataset_id: str
    action: Literal["created", "reused"]


def submit_batch_job(
    client: Fireworks,
    requests_path: str | Path,
    *,
    model: str,
    job_id: str | None = None,
    dataset_id: str | None = None,
    max_tokens: int = JUDGE_MAX_TOKENS,
    poll: PollPolicy | None = None,
) -> BatchSubmission:
    """Upload ``requests_path`` as a dataset and create the batch job (or find it).

    ``job_id`` defaults to :func:`default_batch_job_id`; the input dataset to ``<job>-input`` and
    the output dataset is ``<job>-output``.

    Raises:
        JobConflictError: a job with this id exists for another model or input dataset, or
            ended without results (FAILED, CANCELLED, EXPIRED).
        FireworksApiError: Fireworks refused a call.

    """
    model_id = batch_model_id(model)
    job_id = check_resource_id(
        "job id", job_id or default_batch_job_id(requests_path, model_id, max_tokens)
    )
    input_id = check_resource_id("dataset id", dataset_id or f"{job_id}-input")
    output_id = check_resource_id("dataset id", f"{job_id}-output")
    account = str(client.account_id)
    jobs = client.batch_inference_jobs
    existing = get_or_none(f"get batch job {job_id}", lambda: jobs.get(job_id))
    if existing is not None:
        wanted = {"model": model_id, "input_dataset_id": dataset_name(account, input_id)}
        have = {
            "model": existing.model,
            "input_dataset_id": dataset_name(account, existing.input_dataset_id or ""),
        }
        if have != wanted:
            msg = (
                f"batch job {job_id} exists for {have}, not {wanted}: nothing was submitted; "
                "use another --job-id"
            )
            raise JobConflictError(msg)
        status = job_status(existing)
        if status.terminal and not status.succeeded:
            msg = (
                f"batch job {job_id} exists and ended {status.state} "
                f"({status.meaning or status.message or 'no output'}): nothing was submitted; "
                "use another --job-id to run these requests again"
            )
            raise JobConflictError(msg)
        return BatchSubmission(
            job_id,
            status,
            model_id,
            input_id,
            short_id(existing.output_dataset_id or output_id),
            "reused",
        )
    upload_dataset(client, requests_path, input_id, dataset_format=None, poll=poll)
    created = call(
        f"create batch job {job_id}",
        lambda: jobs.create(
            batch_inference_job_id=job_id,
            model=model_id,
            input_dataset_id=dataset_name(account, input_id),
            output_dataset_id=dataset_name(account, output_id),
            inference_parameters={
                "max_tokens": max_tokens,
                "temperature": 0.0,
                "extra_body": _THINKING_OFF,
            },
            display_name=f"perceived-error judge {job_id}",
        ),
    )
    return BatchSubmission(job_id, job_status(created), model_id, input_id, output_id, "created")


def get_batch_status(client: Fireworks, job_id: str) -> JobStatus:
    """The current status of batch job ``job_id``."""
    key = short_id(job_id)
    return job_status(call(f"get batch job {key}", lambda: client.batch_inference_jobs.get(key)))


# -- collect ---------------------------------------------------------------------------------------


def download_dataset_files(client: Fireworks, dataset_id: str, directory: str | Path) -> list[Path]:
    """Download every file of a dataset through its signed URLs; returns the local paths.

    Raises:
        FireworksApiError: the endpoint call or a download failed.

    """
    key = short_id(dataset_id)
    endpoint = call(
        f"get download endpoint of {key}",
        lambda: client.datasets.get_download_endpoint(key),
    )
    urls = endpoint.filename_to_signed_urls or {}
    if not urls:
        msg = f"dataset {key} has no files to download"
        raise FireworksApiError(msg)
    paths: list[Path] = []
    # no Fireworks key here; the client's request timeout (connect, and between bytes) bounds it
    timeout = DEFAULT_REQUEST_TIMEOUT_S if client.timeout is None else client.timeout
    with httpx.Client(timeout=timeout) as http:
        for name, url in sorted(urls.items()):
            target = Path(directory) / Path(name).name
            try:
                with http.stream("GET", url) as response:
                    response.raise_for_status()
                    with target.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
            except httpx.HTTPError as e:
                msg = f"download of {Path(name).name} from dataset {key} failed: {e}"
                raise FireworksApiError(msg) from e
            paths.append(target)
    return paths


@dataclass
class CollectReport:
    """What :func:`collect_batch_results` found."""

    status: JobStatus | None = None
    files: list[str] = field(default_factory=list)
    output_rows: int = 0
    unreadable_rows: int = 0
    missing: int = 0
    unexpected: int = 0
    """Output rows whose custom_id is not in the input (only counted with ``input_paths``)."""


def _completion(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The chat completion in an output row, or the error that replaced it."""
    if row.get("error"):
        return None, f"provider error: {json.dumps(row['error'], ensure_ascii=False)[:500]}"
    response = row.get("response")
    if isinstance(response, dict) and "body" in response and "choices" not in response:
        status = response.get("status_code")
        body = response.get("body")
        if isinstance(status, int) and status >= 400:
            return None, f"provider error: HTTP {status}: {json.dumps(body)[:500]}"
        response = body
    if not isinstance(response, dict) or not response.get("choices"):
        return None, "the output row holds no chat completion"
    return response, None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    """A token count from an output row: a non-negative int, else None (never a crash)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _result_from_row(row: dict[str, Any], record_id: str, model: str | None) -> JudgeResult:
    completion, error = _completion(row)
    if completion is None:
        return JudgeResult(
            id=record_id, status=JudgeStatus.FAILED, error=error, model=model, attempts=1
        )
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    content = message.get("content")
    raw = content if isinstance(content, str) else ""
    usage = _mapping(completion.get("usage"))
    common: dict[str, Any] = {
        "id": record_id,
        "model": completion.get("model") or model,
        "attempts": 1,
        "input_tokens": _count(usage.get("prompt_tokens")),
        "output_tokens": _count(usage.get("completion_tokens")),
        "cached_input_tokens": _count(
            _mapping(usage.get("prompt_tokens_details")).get("cached_tokens")
        ),
    }
    try:
        verdict = parse_verdict(raw)
    except VerdictParseError as e:
        reason = str(e)
        if choice.get("finish_reason") == "length":
            reason = f"the reply was cut off at the token limit; {reason}"
        return JudgeResult(
            status=JudgeStatus.FAILED, error=f"no valid verdict: {reason}", raw_output=raw, **common
        )
    return JudgeResult(status=JudgeStatus.JUDGED, verdict=verdict, **common)


def _rows(
    paths: Sequence[Path], report: CollectReport
) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """(file, byte offset, row) of every output row that names a custom_id."""
    for path in paths:
        with path.open("rb") as lines:
            offset = 0
            for line in lines:
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    report.unreadable_rows += 1
                    continue
                if not isinstance(row, dict) or row.get("custom_id") is None:
                    report.unreadable_rows += 1
                    continue
                report.output_rows += 1
                yield path, start, row


def _read_row(path: Path, offset: int) -> dict[str, Any]:
    with path.open("rb") as stream:
        stream.seek(offset)
        row: dict[str, Any] = json.loads(stream.readline())
        return row


def _in_input_order(
    paths: Sequence[Path],
    input_paths: Sequence[str],
    model: str | None,
    report: CollectReport,
    include_tools: bool,
) -> Iterator[JudgeResult]:
    # Only (file, offset) per custom_id stays in memory: millions of rows fit.
    index = {str(row["custom_id"]): (path, start) for path, start, row in _rows(paths, report)}
    for planned in plan_records(input_paths, include_tools=include_tools):
        if planned.local is not None:
            yield planned.local
            continue
        where = index.pop(planned.custom_id, None)
        if where is None:
            report.missing += 1
            yield JudgeResult(
                id=planned.record_id, status=JudgeStatus.FAILED, error=NO_RESULT_ERROR, model=model
            )
        else:
            yield _result_from_row(_read_row(*where), planned.record_id, model)
    report.unexpected = len(index)


def collect_batch_results(
    client: Fireworks,
    job_id: str,
    *,
    input_paths: Sequence[str] | None = None,
    include_tools: bool = False,
    report: CollectReport | None = None,
    wait: bool = False,
    poll: PollPolicy | None = None,
) -> Iterator[JudgeResult]:
    """Yield one ``JudgeResult`` per record of batch job ``job_id`` (module doc).

    Raises:
        BatchNotReadyError: the job is still running (without ``wait``), or ended without output.
        FireworksApiError: Fireworks refused a call or a download failed.

    """
    report = report if report is not None else CollectReport()
    status = get_batch_status(client, job_id)
    if wait and not status.terminal:
        status = wait_for_job(lambda: get_batch_status(client, job_id), poll=poll)
    report.status = status
    key = short_id(job_id)
    if status.stalled:
        msg = f"batch job {key} is {status.state}: {status.meaning}; nothing to collect yet"
        raise BatchNotReadyError(msg, status)
    if not status.terminal:
        percent = f", {status.percent}%" if status.percent is not None else ""
        meaning = f" ({status.meaning})" if status.meaning else ""
        msg = f"batch job {key} is {status.state}{percent}{meaning}: collect later or pass --wait"
        raise BatchNotReadyError(msg, status)
    if not status.succeeded or not status.output_dataset:
        why = "; ".join(filter(None, [status.meaning, status.message])) or "no output"
        msg = (
            f"batch job {key} ended {status.state}: {why}. Judge its records again: "
            "`perceived-error batch submit` with a new --job-id, or `perceived-error judge`"
        )
        raise BatchNotReadyError(msg, status)
    model = status.model
    with tempfile.TemporaryDirectory(prefix="pe-batch-") as directory:
        paths = download_dataset_files(client, status.output_dataset, directory)
        report.files = [p.name for p in paths]
        if input_paths:
            yield from _in_input_order(paths, input_paths, model, report, include_tools)
        else:
            for _, _, row in _rows(paths, report):
                yield _result_from_row(row, str(row["custom_id"]), model)
