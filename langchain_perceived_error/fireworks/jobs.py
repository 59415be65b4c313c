"""Fireworks datasets and supervised fine-tuning jobs through the official ``fireworks`` SDK.

- :func:`fireworks_client` builds ``fireworks.Fireworks`` from ``FIREWORKS_API_KEY`` and an account
  id (``FIREWORKS_ACCOUNT_ID``); the key is never printed or put in an error.
- Retries are the SDK's own (``max_retries``, :data:`MAX_RETRIES` by default: 6 calls in all):
  it retries 408, 409, 429, 5xx, timeouts and dropped connections with exponential backoff
  (0.5 s doubling to 8 s, with jitter), honouring ``Retry-After`` / ``retry-after-ms`` up to 60 s
  and a server's ``x-should-retry``. It retries POSTs too, and this client sends no idempotency
  key, so they are switched off (``with_options(max_retries=0)``) where a retry would be wrong: a
  fine-tuning job created without ``job_id`` is named by Fireworks, and a retry after a lost
  answer would start a second, billed job (run the command again instead: the job is then found
  by its output model and reused). A create with a chosen id keeps its retries: a repeat cannot
  duplicate it, it answers 409 (which the SDK also retries, so a create that races another one
  waits out the backoff, about 15 s, before the existing resource is compared and reused).
- Every call goes through :func:`call`, which turns the SDK's last error into a one-line
  :class:`FireworksApiError` naming the operation, the status and Fireworks' message.
- :func:`upload_dataset` creates a dataset and uploads one ``.jsonl`` file: directly up to 150 MB,
  above that as shards of at most 100 MB through the SDK's signed-URL helper
  ``fireworks.lib.dataset_upload.upload_dataset_shards``; then it waits for ``READY``. A dataset
  that already exists is reused when it holds the same file (a content digest is kept in its
  display name) and refused when it does not.
- :func:`create_or_reuse_sft_job` never creates a duplicate job by accident: a job with the same
  id, or an active or completed job for the same output model, is reused when its settings match
  and refused (:class:`JobConflictError`, listing the differences) when they do not.
- :func:`wait_for_job` polls a job with backoff; :func:`serving_instructions` says how to serve
  the LoRA that comes out (on-demand deployment or batch inference: not serverless).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from fireworks import (
    APIConnectionError,
    APIStatusError,
    Fireworks,
    FireworksError,
)
from fireworks.lib.dataset_upload import upload_dataset_shards
from pydantic import BaseModel, ConfigDict, field_validator

from langchain_perceived_error.datasets.sft import (
    HOLDOUT_FILE,
    MIN_ROWS,
    TRAIN_FILE,
    ValidationReport,
    validate_sft_file,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "ACCOUNT_ENV",
    "DIRECT_UPLOAD_LIMIT",
    "KEY_ENV",
    "MAX_RETRIES",
    "SHARD_BYTES",
    "FireworksApiError",
    "FireworksConfigError",
    "JobConflictError",
    "JobOutcome",
    "JobStatus",
    "PollPolicy",
    "SftJobSpec",
    "SftUpload",
    "SftValidationError",
    "UploadResult",
    "call",
    "check_base_model",
    "check_resource_id",
    "create_or_reuse_sft_job",
    "dataset_name",
    "default_eval_dataset",
    "fireworks_client",
    "get_job_status",
    "get_or_none",
    "holdout_dataset_id",
    "job_status",
    "model_resource",
    "serving_instructions",
    "short_id",
    "upload_dataset",
    "upload_sft_dir",
    "wait_for_dataset",
    "wait_for_job",
]

T = TypeVar("T")

KEY_ENV = "FIREWORKS_API_KEY"
ACCOUNT_ENV = "FIREWORKS_ACCOUNT_ID"
DIRECT_UPLOAD_LIMIT = 150 * 1024 * 1024
"""``datasets.upload`` takes at most 150 MB; larger files go through signed-URL shards."""
SHARD_BYTES = 100 * 1024 * 1024
"""Shard size for large uploads (line boundaries are kept)."""
MAX_RETRIES = 5
"""The SDK's retries after a first failed call (its default is 2): 6 calls in all."""

_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DIGEST_RE = re.compile(r"sha256=([0-9a-f]{16})")
_SUCCEEDED = frozenset({"COMPLETED", "EARLY_STOPPED"})
_ENDED_WITHOUT_RESULT = frozenset({"FAILED", "CANCELLED", "EXPIRED"})
_TERMINAL = _SUCCEEDED | _ENDED_WITHOUT_RESULT
_ACTIVE = frozenset(
    {
        "CREATING",
        "CREATING_INPUT_DATASET",
        "VALIDATING",
        "PENDING",
        "RUNNING",
        "WRITING_RESULTS",
        "RE_QUEUEING",
        "CANCELLING",
    }
)
"""States that move on by themselves. Every other non-terminal state of the SDK's ``JobState``
(PAUSED, DELETING, DELETING_CLEANING_UP, IDLE, UNSPECIFIED) or one it does not know is *stalled*:
waiting stops there and the commands say what it means."""
_STATE_MEANINGS = {
    "PAUSED": "paused by Fireworks (an account suspension or a manual intervention): it does "
    "not resume by itself; check the account in the Fireworks console",
    "CANCELLING": "being cancelled: it will end CANCELLED",
    "RE_QUEUEING": "put back in Fireworks' queue: it starts again by itself",
    "CREATING_INPUT_DATASET": "preparing its input dataset",
    "EXPIRED": "Fireworks stopped it at its time limit before it finished",
    "EARLY_STOPPED": "stopped early; its output model is kept",
    "DELETING": "being deleted",
    "DELETING_CLEANING_UP": "being deleted",
    "IDLE": "idle: not progressing",
    "UNSPECIFIED": "Fireworks reports no state",
}


# -- errors and configuration ----------------------------------------------------------------------


class FireworksConfigError(ValueError):
    """Missing key or account id, or an invalid resource id; the message says how to fix it."""


class FireworksApiError(RuntimeError):
    """Fireworks answered an error (after retries, for transient ones)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        """Keep the HTTP status (None for transport errors) beside the message."""
        super().__init__(message)
        self.status_code = status_code


class JobConflictError(RuntimeError):
    """A dataset or job with the same id (or output model) exists with different content."""


class SftValidationError(ValueError):
    """An SFT file failed :func:`validate_sft_file`; ``report`` has every problem."""

    def __init__(self, report: ValidationReport) -> None:
        """Summarise the report's errors in the message."""
        shown = "\n".join(report.lines()[:20])
        super().__init__(f"{report.path} is not a valid SFT file:\n{shown}")
        self.report = report


def fireworks_client(
    *,
    api_key: str | None = None,
    account_id: str | None = None,
    base_url: str | None = None,
    timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    max_retries: int = MAX_RETRIES,
) -> Fireworks:
    """A ``fireworks.Fireworks`` client that retries transient failures itself (module doc).

    ``timeout`` bounds every request in seconds (connect, and each read or write): a request that
    takes longer raises ``APITimeoutError``, which the SDK retries like a dropped connection, up to
    ``max_retries`` times.

    ``api_key`` defaults to ``$FIREWORKS_API_KEY``, ``account_id`` to ``$FIREWORKS_ACCOUNT_ID``,
    ``base_url`` to ``$FIREWORKS_BASE_URL`` or Fireworks' API.

    Raises:
        FireworksConfigError: when the key or the account id is missing.

    """
    key = api_key or os.environ.get(KEY_ENV)
    if not key:
        msg = f"{KEY_ENV} is not set: export your Fireworks API key to use Fireworks"
        raise FireworksConfigError(msg)
    account = account_id or os.environ.get(ACCOUNT_ENV)
    if not account:
        msg = f"no Fireworks account id: pass --account-id or set {ACCOUNT_ENV}"
        raise FireworksConfigError(msg)
    return Fireworks(
        api_key=key,
        account_id=account,
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout,
    )


def check_resource_id(kind: str, value: str) -> str:
    """``value`` when it is a valid Fireworks resource id (a-z, 0-9, '-', 1-63 characters).

    Raises:
        FireworksConfigError: naming ``kind`` and the rule.

    """
    if not _ID_RE.match(value):
        msg = (
            f"invalid {kind} {value!r}: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
        raise FireworksConfigError(msg)
    return value


def short_id(name: str) -> str:
    """The last segment of a resource name (``accounts/a/datasets/x`` -> ``x``)."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def dataset_name(account_id: str, dataset_id: str) -> str:
    """``accounts/<account>/datasets/<id>`` (a full name is returned unchanged)."""
    return (
        dataset_id
        if dataset_id.startswith("accounts/")
        else (f"accounts/{account_id}/datasets/{dataset_id}")
    )


def model_resource(account_id: str, model: str) -> str:
    """``accounts/<account>/models/<name>`` (a full name is returned unchanged)."""
    return model if model.startswith("accounts/") else f"accounts/{account_id}/models/{model}"


def holdout_dataset_id(dataset_id: str) -> str:
    """The evaluation dataset uploaded beside ``dataset_id``: ``<id>-holdout``."""
    return check_resource_id("holdout dataset id", f"{dataset_id}-holdout")


def _account(client: Fireworks) -> str:
    account = client.account_id
    if not account:
        msg = f"the Fireworks client has no account id: pass --account-id or set {ACCOUNT_ENV}"
        raise FireworksConfigError(msg)
    return str(account)


# -- calls and their errors ------------------------------------------------------------------------


def _message(error: APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return error.message


def call(operation: str, fn: Callable[[], T]) -> T:
    """Run one Fireworks call (the client's SDK retries transient failures) with a clear error.

    Raises:
        FireworksApiError: Fireworks answered an error, or could not be reached, after the SDK's
            retries; the message is one line naming ``operation``.

    """
    try:
        return fn()
    except APIStatusError as e:
        msg = f"{operation}: HTTP {e.status_code}: {_message(e)}"
        raise FireworksApiError(msg, e.status_code) from e
    except APIConnectionError as e:
        msg = f"{operation}: cannot reach Fireworks: {e}"
        raise FireworksApiError(msg) from e


def get_or_none(operation: str, fn: Callable[[], T]) -> T | None:
    """:func:`call` for a lookup: ``None`` when Fireworks answers 404."""
    try:
        return call(operation, fn)
    except FireworksApiError as e:
        if e.status_code == 404:
            return None
        raise


# -- polling ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll a dataset or job: ``interval_s`` growing by ``factor`` to ``max_s``."""

    interval_s: float = 5.0
    factor: float = 1.5
    max_s: float = 60.0
    timeout_s: float | None = None
    sleep: Callable[[float], None] = time.sleep

    def intervals(self) -> Iterator[float]:
        """Successive waits; stops (ends the iterator) when the timeout is spent."""
        waited, interval = 0.0, self.interval_s
        while self.timeout_s is None or waited < self.timeout_s:
            yield interval
            waited += interval if interval > 0 else 1e-3
            interval = min(interval * self.factor, self.max_s)


def _poll(what: str, fetch: Callable[[], T], done: Callable[[T], bool], poll: PollPolicy) -> T:
    current = fetch()
    for interval in poll.intervals():
        if done(current):
            return current
        poll.sleep(interval)
        current = fetch()
    if done(current):
        return current
    msg = f"gave up waiting for {what} after {poll.timeout_s:g} s"
    raise TimeoutError(msg)


# -- datasets --------------------------------------------------------------------------------------


@dataclass
class UploadResult:
    """What :func:`upload_dataset` did."""

    dataset_id: str
    name: str
    state: str | None
    example_count: int
    created: bool = False
    uploaded: bool = False
    sharded: bool = False
    bytes: int = 0


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _count_rows(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for line in stream if line.strip())


@contextmanager
def _shards(path: Path, shard_bytes: int) -> Iterator[Path]:
    """A temporary directory holding ``path`` cut at line boundaries into files <= shard_bytes."""
    with tempfile.TemporaryDirectory(prefix="pe-shards-") as directory:
        index, size, out = 0, 0, None
        try:
            with path.open("rb") as lines:
                for line in lines:
                    if out is None or (size and size + len(line) > shard_bytes):
                        if out is not None:
                            out.close()
                        out = (Path(directory) / f"{path.stem}-{index:05d}.jsonl").open("wb")
                        index, size = index + 1, 0
                    out.write(line)
                    size += len(line)
        finally:
            if out is not None:
                out.close()
        yield Path(directory)


def wait_for_dataset(
    client: Fireworks,
    dataset_id: str,
    *,
    poll: PollPolicy | None = None,
    on_state: Callable[[str | None], None] | None = None,
) -> str | None:
    """Poll until the dataset is ``READY``; returns the state.

    Raises:
        TimeoutError: when ``poll.timeout_s`` runs out first.

    """

    def fetch() -> str | None:
        state = call(f"get dataset {dataset_id}", lambda: client.datasets.get(dataset_id))
        if on_state is not None:
            on_state(state.state)
        return state.state

    return _poll(f"dataset {dataset_id}", fetch, lambda s: s == "READY", poll or PollPolicy())


def upload_dataset(
    client: Fireworks,
    path: str | Path,
    dataset_id: str,
    *,
    dataset_format: Literal["CHAT"] | None = "CHAT",
    wait: bool = True,
    poll: PollPolicy | None = None,
    on_state: Callable[[str | None], None] | None = None,
    direct_limit: int = DIRECT_UPLOAD_LIMIT,
    shard_bytes: int = SHARD_BYTES,
) -> UploadResult:
    """Create ``dataset_id`` and upload ``path`` into it (reusing or refusing an existing one).

    Raises:
        JobConflictError: the dataset exists and holds a different file.
        FireworksApiError: Fireworks refused a call, or a shard upload failed.

    """
    file = Path(path)
    check_resource_id("dataset id", dataset_id)
    account = _account(client)
    rows, size, digest = _count_rows(file), file.stat().st_size, _file_digest(file)
    label = f"{file.name} sha256={digest}"
    result = UploadResult(dataset_id, dataset_name(account, dataset_id), None, rows, bytes=size)
    existing = get_or_none(f"get dataset {dataset_id}", lambda: client.datasets.get(dataset_id))
    if existing is not None and existing.state == "READY":
        _check_same_dataset(dataset_id, existing.display_name, existing.example_count, digest, rows)
        result.state = existing.state
        return result
    if existing is None:
        spec: dict[str, Any] = {
            "example_count": str(rows),
            "user_uploaded": {},
            "display_name": label,
        }
        if dataset_format:
            spec["format"] = dataset_format
        call(
            f"create dataset {dataset_id}",
            lambda: client.datasets.create(dataset_id=dataset_id, dataset=spec),  # type: ignore[arg-type]
        )
        result.created = True
    if size <= direct_limit:
        call(f"upload {file.name}", lambda: client.datasets.upload(dataset_id, file=file))
    else:
        result.sharded = True
        with _shards(file, shard_bytes) as directory:
            try:
                upload_dataset_shards(client, dataset_id, str(directory))
            except (FireworksError, httpx.HTTPError, ValueError) as e:
                msg = f"sharded upload of {file.name} to {dataset_id} failed: {e}"
                raise FireworksApiError(msg) from e
    result.uploaded = True
    if wait:
        result.state = wait_for_dataset(client, dataset_id, poll=poll, on_state=on_state)
    return result


def _check_same_dataset(
    dataset_id: str, display_name: str | None, count: str | None, digest: str, rows: int
) -> None:
    found = _DIGEST_RE.search(display_name or "")
    same = found.group(1) == digest if found else str(count) == str(rows)
    if not same:
        msg = (
            f"dataset {dataset_id} already exists with different content "
            f"({count} examples, {display_name!r}; this file: {rows} examples, sha256={digest}): "
            f"choose another --dataset-id, or delete it first (firectl delete dataset {dataset_id})"
        )
        raise JobConflictError(msg)


@dataclass
class SftUpload:
    """The train dataset and, when the holdout file has enough rows, its evaluation dataset."""

    train: UploadResult
    holdout: UploadResult | None
    notes: list[str] = field(default_factory=list)


def _validated(path: Path) -> Path:
    report = validate_sft_file(path)
    if not report.ok:
        raise SftValidationError(report)
    return path


def upload_sft_dir(
    client: Fireworks,
    directory: str | Path,
    dataset_id: str,
    **options: Any,
) -> SftUpload:
    """Validate and upload ``train.jsonl`` as ``dataset_id`` and ``holdout.jsonl`` as ``-holdout``.

    Both files are validated before anything is sent. The holdout is skipped, with a note, when it
    has fewer than 3 rows (Fireworks' minimum). ``options`` go to :func:`upload_dataset`.

    Raises:
        SftValidationError: a file is not a valid SFT file (nothing was uploaded).
        FileNotFoundError: ``train.jsonl`` is missing.

    """
    root = Path(directory)
    train_file = root / TRAIN_FILE
    if not train_file.is_file():
        msg = f"{train_file} not found: build it with `perceived-error sft build`"
        raise FileNotFoundError(msg)
    _validated(train_file)
    holdout_file = root / HOLDOUT_FILE
    notes: list[str] = []
    use_holdout = holdout_file.is_file() and _count_rows(holdout_file) >= MIN_ROWS
    if use_holdout:
        _validated(holdout_file)
    elif holdout_file.is_file():
        notes.append(f"{HOLDOUT_FILE} has fewer than {MIN_ROWS} rows: not uploaded")
    train = upload_dataset(client, train_file, dataset_id, **options)
    holdout = (
        upload_dataset(client, holdout_file, holdout_dataset_id(dataset_id), **options)
        if use_holdout
        else None
    )
    return SftUpload(train=train, holdout=holdout, notes=notes)


def default_eval_dataset(client: Fireworks, dataset_id: str) -> str | None:
    """``<dataset_id>-holdout`` when that dataset exists and is READY, else None."""
    holdout = holdout_dataset_id(dataset_id)
    found = get_or_none(f"get dataset {holdout}", lambda: client.datasets.get(holdout))
    return holdout if found is not None and found.state == "READY" else None


# -- fine-tuning jobs ------------------------------------------------------------------------------


class SftJobSpec(BaseModel):
    """What to train. Unset options are left to Fireworks' defaults (and not compared on reuse)."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    output_model: str
    base_model: str = DEFAULT_FIREWORKS_MODEL
    eval_dataset_id: str | None = None
    epochs: int | None = None
    learning_rate: float | None = None
    lora_rank: int | None = None
    max_context_length: int | None = None
    job_id: str | None = None
    display_name: str | None = None

    @field_validator("lora_rank")
    @classmethod
    def _power_of_two(cls, value: int | None) -> int | None:
        if value is not None and (value < 1 or value > 32 or value & (value - 1)):
            msg = f"lora_rank must be a power of 2 from 1 to 32, got {value}"
            raise ValueError(msg)
        return value

    @field_validator("epochs", "max_context_length")
    @classmethod
    def _positive_int(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            msg = f"must be at least 1, got {value}"
            raise ValueError(msg)
        return value

    @field_validator("learning_rate")
    @classmethod
    def _positive_rate(cls, value: float | None) -> float | None:
        if value is not None and not (value > 0 and math.isfinite(value)):
            msg = f"learning_rate must be a positive number, got {value}"
            raise ValueError(msg)
        return value

    def request(self, account_id: str) -> dict[str, Any]:
        """The ``supervised_fine_tuning_jobs.create`` arguments (unset options left out)."""
        for kind, value in (("dataset id", self.dataset_id), ("job id", self.job_id)):
            if value is not None and not value.startswith("accounts/"):
                check_resource_id(kind, value)
        params: dict[str, Any] = {
            "dataset": dataset_name(account_id, self.dataset_id),
            "base_model": self.base_model,
            "output_model": model_resource(account_id, self.output_model),
            "evaluation_dataset": (
                dataset_name(account_id, self.eval_dataset_id) if self.eval_dataset_id else None
            ),
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "lora_rank": self.lora_rank,
            "max_context_length": self.max_context_length,
            "display_name": self.display_name,
        }
        return {key: value for key, value in params.items() if value is not None}


@dataclass
class JobOutcome:
    """A job :func:`create_or_reuse_sft_job` created or found."""

    job: Any
    action: Literal["created", "reused"]
    notes: list[str] = field(default_factory=list)


_COMPARED = (
    "dataset",
    "base_model",
    "output_model",
    "evaluation_dataset",
    "epochs",
    "learning_rate",
    "lora_rank",
    "max_context_length",
)


def _differences(job: Any, wanted: dict[str, Any], account: str) -> list[str]:
    diffs = []
    for key in _COMPARED:
        if key not in wanted:
            continue
        have, want = getattr(job, key, None), wanted[key]
        if key in ("dataset", "evaluation_dataset") and have:
            have = dataset_name(account, str(have))
        if key == "output_model" and have:
            have = model_resource(account, str(have))
        same = (
            math.isclose(float(have), float(want), rel_tol=1e-9)
            if key == "learning_rate" and have is not None
            else have == want
        )
        if not same:
            diffs.append(f"{key}: existing {have!r}, requested {want!r}")
    return diffs


def _refuse(job: Any, diffs: list[str], why: str) -> JobConflictError:
    listed = "; ".join(diffs)
    msg = (
        f"{why} job {job.name} exists with different settings ({listed}). Nothing was created: "
        "use a new --job-id / --output-model, or check the existing job with `sft status`"
    )
    return JobConflictError(msg)


def _jobs_for_model(client: Fireworks, output_model: str, account: str) -> list[Any]:
    def list_all() -> list[Any]:
        return list(client.supervised_fine_tuning_jobs.list(page_size=200))

    jobs = call("list fine-tuning jobs", list_all)
    return [
        job
        for job in jobs
        if job.output_model and model_resource(account, job.output_model) == output_model
    ]


def create_or_reuse_sft_job(client: Fireworks, spec: SftJobSpec) -> JobOutcome:
    """Create the SFT job, or return the existing one it would duplicate (module doc).

    Raises:
        JobConflictError: a job with the same id, or an active or completed job for the same
            output model, exists with different settings.
        FireworksApiError: Fireworks refused a call.

    """
    account = _account(client)
    wanted = spec.request(account)
    jobs = client.supervised_fine_tuning_jobs
    if spec.job_id:
        job_id = spec.job_id
        existing = get_or_none(f"get job {job_id}", lambda: jobs.get(job_id))
        if existing is not None:
            diffs = _differences(existing, wanted, account)
            if diffs:
                raise _refuse(existing, diffs, f"--job-id {job_id}:")
            return JobOutcome(existing, "reused", [f"job {job_id} already exists: reused"])
    notes: list[str] = []
    same_model = _jobs_for_model(client, wanted["output_model"], account)
    for job in same_model:
        state = _short_state(job.state)
        if state in _ENDED_WITHOUT_RESULT:
            notes.append(f"earlier job {job.name} for this output model ended {state}")
            continue
        diffs = _differences(job, wanted, account)
        if diffs:
            raise _refuse(job, diffs, f"output model {wanted['output_model']}:")
        notes.append(f"job {job.name} ({state}) already trains {wanted['output_model']}: reused")
        return JobOutcome(job, "reused", notes)
    extra: dict[str, Any] = {"supervised_fine_tuning_job_id": spec.job_id} if spec.job_id else {}
    # Fireworks names a job created without an id: a retry could start a second one (module doc)
    creator = (
        jobs if spec.job_id else client.with_options(max_retries=0).supervised_fine_tuning_jobs
    )
    try:
        created = call("create fine-tuning job", lambda: creator.create(**wanted, **extra))
    except FireworksApiError as e:
        if e.status_code != 409 or not spec.job_id:
            raise
        job_id = spec.job_id  # created by someone else meanwhile: compare with it once
        raced = get_or_none(f"get job {job_id}", lambda: jobs.get(job_id))
        if raced is None:
            raise
        diffs = _differences(raced, wanted, account)
        if diffs:
            raise _refuse(raced, diffs, f"--job-id {job_id}:") from e
        return JobOutcome(raced, "reused", [*notes, f"job {job_id} appeared meanwhile: reused"])
    return JobOutcome(created, "created", notes)


def check_base_model(client: Fireworks, base_model: str) -> list[str]:
    """Warnings about ``base_model`` (not tunable, no LoRA); raises when it does not exist.

    Raises:
        FireworksApiError: the model is unknown (404) or the call failed.

    """
    parts = base_model.split("/")
    if len(parts) != 4 or parts[0] != "accounts" or parts[2] != "models":
        return [f"base model {base_model!r} is not an accounts/<a>/models/<m> name: not checked"]
    owner, model_id = parts[1], parts[3]
    model = call(
        f"get base model {base_model}",
        lambda: client.models.get(model_id, account_id=owner),
    )
    warnings = []
    if model.tunable is False:
        warnings.append(f"{base_model} is not marked tunable on Fireworks")
    if model.supports_lora is False:
        warnings.append(f"{base_model} is not marked as supporting LoRA")
    return warnings


# -- status and serving ----------------------------------------------------------------------------


def _short_state(state: str | None) -> str:
    return (state or "UNSPECIFIED").removeprefix("JOB_STATE_")


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a fine-tuning or batch job."""

    name: str
    state: str
    percent: int | None = None
    estimated_cost: str | None = None
    output_model: str | None = None
    output_dataset: str | None = None
    model: str | None = None
    message: str | None = None

    @property
    def terminal(self) -> bool:
        """The job will not change state any more."""
        return self.state in _TERMINAL

    @property
    def succeeded(self) -> bool:
        """The job finished with results (COMPLETED, or EARLY_STOPPED for SFT)."""
        return self.state in _SUCCEEDED

    @property
    def stalled(self) -> bool:
        """Not terminal, and not moving on by itself (PAUSED, being deleted, an unknown state)."""
        return not self.terminal and self.state not in _ACTIVE

    @property
    def meaning(self) -> str | None:
        """What the state means for the user, when its name does not say it all."""
        if self.state in _STATE_MEANINGS:
            return _STATE_MEANINGS[self.state]
        if self.stalled:
            return "a state this version does not know: check the job in the Fireworks console"
        return None


def _cost(job: Any) -> str | None:
    cost = getattr(job, "estimated_cost", None)
    if cost is None or (cost.units is None and cost.nanos is None):
        return None
    amount = int(cost.units or 0) + (cost.nanos or 0) / 1e9
    return f"{amount:.2f} {cost.currency_code or 'USD'}"


def job_status(job: Any) -> JobStatus:
    """The :class:`JobStatus` of an SDK ``SupervisedFineTuningJob`` or ``BatchInferenceJob``."""
    progress = getattr(job, "job_progress", None)
    status = getattr(job, "status", None)
    message = status.message if status is not None and status.message else None
    return JobStatus(
        name=job.name or "",
        state=_short_state(job.state),
        percent=progress.percent if progress is not None else None,
        estimated_cost=_cost(job),
        output_model=getattr(job, "output_model", None),
        output_dataset=getattr(job, "output_dataset_id", None),
        model=getattr(job, "model", None) or getattr(job, "base_model", None),
        message=message,
    )


def get_job_status(client: Fireworks, job_id: str) -> JobStatus:
    """The current status of fine-tuning job ``job_id`` (a short id or a full name)."""
    job_key = short_id(job_id)
    job = call(
        f"get fine-tuning job {job_key}",
        lambda: client.supervised_fine_tuning_jobs.get(job_key),
    )
    return job_status(job)


def wait_for_job(
    fetch: Callable[[], JobStatus],
    *,
    poll: PollPolicy | None = None,
    on_update: Callable[[JobStatus], None] | None = None,
) -> JobStatus:
    """Poll ``fetch`` until the job is terminal or stalled; ``on_update`` sees every snapshot.

    Raises:
        TimeoutError: when ``poll.timeout_s`` runs out first.

    """

    def observed() -> JobStatus:
        status = fetch()
        if on_update is not None:
            on_update(status)
        return status

    return _poll("the job", observed, lambda s: s.terminal or s.stalled, poll or PollPolicy())


def serving_instructions(output_model: str) -> str:
    """How to use a finished LoRA fine-tune as the judge (it is not served serverless)."""
    account = output_model.split("/")[1] if output_model.startswith("accounts/") else "<account>"
    return "\n".join(
        [
            f"output model: {output_model}",
            "A LoRA fine-tune is not served serverless: deploy it on demand (billed per GPU-hour "
            "while it is up) or judge in bulk with batch inference.",
            "  on-demand deployment:",
            f"    firectl create deployment {output_model} --wait",
            f"    (SDK: Fireworks().deployments.create(base_model={output_model!r}))",
            "    then judge with:",
            f"    perceived-error judge traces.jsonl --model "
            f"'fireworks:{output_model}#accounts/{account}/deployments/<DEPLOYMENT_ID>'",
            "    and delete the deployment when done: firectl delete deployment <DEPLOYMENT_ID>",
            "  batch inference (half the serverless price, no deployment):",
            f"    perceived-error batch submit traces.jsonl --model fireworks:{output_model}",
        ]
    )
