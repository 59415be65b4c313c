"""An in-memory, Fireworks-compatible HTTP server: real round trips through the ``fireworks`` SDK.

It answers the paths the SDK (fireworks-ai 1.2.x) forms when ``base_url`` is overridden
(``{base_url}/v1/accounts/{account}/...``), keeps everything in memory, and lets tests drive
time: jobs move one state forward on every GET.

- **datasets**: ``POST /v1/accounts/{a}/datasets`` (``{"datasetId", "dataset"}``; 409 when it
  exists), ``GET`` (list, ``pageSize``/``pageToken``), ``GET|DELETE .../datasets/{id}``,
  ``POST .../datasets/{id}:upload`` (multipart ``file``, the SDK's direct path up to 150 MB),
  ``POST ...:getUploadEndpoint`` (``filenameToSize`` -> signed https URLs), ``POST
  ...:validateUpload`` (every registered file must have been PUT), ``GET ...:getDownloadEndpoint``
  (signed URLs of the dataset's files). A dataset is ``UPLOADING`` until its upload is complete
  and then turns ``READY`` on the ``ready_after``-th GET.
- **signed URLs**: served by a second, TLS listener of the same server (the SDK's shard helper
  refuses non-https URLs) with a self-signed certificate for 127.0.0.1 made with the ``openssl``
  command; point ``SSL_CERT_FILE`` at :attr:`LocalFireworks.ca_file` so plain httpx clients trust
  it. ``PUT /signed/upload/{token}`` checks the ``X-Goog-Content-Length-Range`` header like GCS;
  ``GET /signed/download/{token}``. They never need (and the server records whether they carried)
  an ``Authorization`` header. Without ``openssl`` the signed URLs are plain http.
- **supervised fine-tuning jobs**: ``POST .../supervisedFineTuningJobs?supervisedFineTuningJobId=``
  (the training and evaluation datasets must exist and be READY; 409 for a taken id), list, get,
  ``:cancel`` (CANCELLING, then CANCELLED on the next GET), delete. States on successive GETs
  (:attr:`LocalFireworks.sft_steps`): VALIDATING, PENDING, RUNNING (33%), RUNNING (66%),
  WRITING_RESULTS, COMPLETED (which sets ``estimatedCost`` and registers the output model). A test
  may script other states of the SDK's ``JobState`` (RE_QUEUEING, PAUSED, EXPIRED...): the job
  stays in the last one.
- **batch inference jobs**: ``POST .../batchInferenceJobs?batchInferenceJobId=`` (input dataset
  READY; output dataset must not exist), list, get, delete. States
  (:attr:`LocalFireworks.batch_steps`): VALIDATING, PENDING, RUNNING (50%), COMPLETED (or what a
  test scripts, e.g. EXPIRED, which writes no output); on completion every input row is answered
  by :attr:`LocalFireworks.responder` and the output dataset holds ``BIJOutputSet.jsonl``
  (``{"custom_id", "response": <chat completion>}``) and ``error-data.jsonl`` (``{"custom_id",
  "error": {"code", "message"}}``).
- **models**: ``GET /v1/accounts/{a}/models/{m}`` for the base models in :data:`BASE_MODELS` and
  every completed fine-tune.
- **inference**: ``POST /inference/v1/chat/completions`` (ChatFireworks with ``base_url`` =
  :attr:`LocalFireworks.inference_url`) and ``POST /v1/chat/completions``. A request with
  ``"logprobs": true`` gets ``choices[0].logprobs`` in the API's OpenAI-compatible shape (the
  SDK's ``NewLogProbs``: ``content`` = one ``{token, bytes, logprob, text_offset, token_id,
  top_logprobs: [{token, logprob, token_id, bytes}]}`` per token, at most ``top_logprobs``
  alternatives, most likely first; :func:`token_logprobs`). The reply is cut into word and
  punctuation tokens; at the verdict's ``true``/``false`` token the alternatives are
  :attr:`LocalFireworks.verdict_probabilities`, elsewhere the sampled token is near-certain.

The default :attr:`LocalFireworks.responder` answers like the offline ``rules`` judge; a test may
replace it with a function of the request body returning the reply text, or ``(status, message)``
for a per-request error. :meth:`LocalFireworks.fail_next` makes the next N requests (whose
``"METHOD /path?query"`` contains a string) answer 429 or 5xx with ``retry-after-ms``;
:meth:`LocalFireworks.hang_next` makes
them never answer (the connection stays open and silent until the server stops). Every request is
logged in :attr:`LocalFireworks.requests` (a request never answered with status 0). Unknown paths
get a 404 JSON answer.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fireworks import Fireworks
from langchain_core.messages import convert_to_messages

from langchain_perceived_error.rules import RulesJudge
from tests.servers.http_base import (
    BaseFault,
    Listener,
    LocalServer,
    QuietHandler,
    Request,
    Response,
    find_route,
    multipart_boundary,
    multipart_sections,
)

__all__ = [
    "BASE_MODELS",
    "CapturedRequest",
    "Fault",
    "LocalFireworks",
    "Responder",
    "completion",
    "token_logprobs",
]

ACCOUNT = "test-account"
API_KEY = "fw-local-test-key"
BASE_MODELS: dict[str, dict[str, Any]] = {
    "accounts/fireworks/models/qwen3p5-35b-a3b": {
        "tunable": True,
        "supportsLora": True,
        "supportsServerless": True,
        "contextLength": 262144,
    },
    "accounts/fireworks/models/frozen-model": {"tunable": False, "supportsLora": False},
}
SFT_STEPS: tuple[tuple[str, int | None], ...] = (
    ("JOB_STATE_VALIDATING", None),
    ("JOB_STATE_PENDING", None),
    ("JOB_STATE_RUNNING", 33),
    ("JOB_STATE_RUNNING", 66),
    ("JOB_STATE_WRITING_RESULTS", 100),
    ("JOB_STATE_COMPLETED", 100),
)
BATCH_STEPS: tuple[tuple[str, int | None], ...] = (
    ("JOB_STATE_VALIDATING", None),
    ("JOB_STATE_PENDING", None),
    ("JOB_STATE_RUNNING", 50),
    ("JOB_STATE_COMPLETED", 100),
)
_TERMINAL = {
    "JOB_STATE_COMPLETED",
    "JOB_STATE_FAILED",
    "JOB_STATE_CANCELLED",
    "JOB_STATE_EXPIRED",
    "JOB_STATE_EARLY_STOPPED",
}
Responder = Callable[[dict[str, Any]], "str | tuple[int, str]"]
_Handler = Callable[["LocalFireworks", Request], Response]
_ACCOUNT_PATH = r"/v1/accounts/(?P<account>[^/]+)"
_ID = r"(?P<id>[A-Za-z0-9][A-Za-z0-9._-]*)"


@dataclass(frozen=True)
class CapturedRequest:
    """One request the server answered."""

    method: str
    path: str
    status: int
    body: Any = None
    authorized: bool = False
    route: str | None = None
    """The handler that answered (e.g. ``_get_sft``); None for a fault or an unknown path."""
    response: Any = None
    """The payload sent back (JSON-ready, or bytes for a signed download)."""


@dataclass
class Fault(BaseFault):
    """Answer the next ``remaining`` requests whose path contains ``path`` with ``status``, or
    (``hang``) never answer them."""

    retry_after_ms: int = 0
    hang: bool = False


_HANG = object()
"""What :meth:`LocalFireworks._answer` returns for a request that is never answered."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _error(status: int, message: str, code: str = "INVALID_ARGUMENT") -> Response:
    return status, {"error": {"code": code, "message": message}}


def rules_responder(body: dict[str, Any]) -> str:
    """Answer a judge request like the offline ``rules`` judge would."""
    reply = RulesJudge().invoke(convert_to_messages(body["messages"]))
    return reply.text


_TOKEN_RE = re.compile(r"\s?\w+|\s?[^\w\s]+|\s+")
_VERDICT_VALUE_RE = re.compile(r'"perceived_error"\s*:\s*$')
_FILLERS = (" the", " a", " and", " to", " of")


def _token_entry(token: str, logprob: float, offset: int) -> dict[str, Any]:
    return {
        "token": token,
        "bytes": list(token.encode()),
        "logprob": logprob,
        "text_offset": offset,
        "token_id": zlib.crc32(token.encode()) % 151_000,
    }


def _alternative(token: str, logprob: float) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": logprob,
        "token_id": zlib.crc32(token.encode()) % 151_000,
        "bytes": list(token.encode()),
    }


def token_logprobs(
    content: str, top_logprobs: int, verdict_probabilities: dict[str, float] | None = None
) -> dict[str, Any]:
    """``choices[].logprobs`` for ``content`` in the API's OpenAI-compatible format.

    ``verdict_probabilities`` (``{"true": p, "false": q}``) are the alternatives at the token
    that follows ``"perceived_error":`` (None: 0.95 for the reply's own value, 0.05 for the
    other); the sampled one is the reply's own token.
    """
    entries: list[dict[str, Any]] = []
    offset = 0
    for match in _TOKEN_RE.finditer(content):
        token = match.group()
        word = token.strip()
        if word in ("true", "false") and _VERDICT_VALUE_RE.search(content[:offset]):
            lead = token[: len(token) - len(word)]
            other = "false" if word == "true" else "true"
            probabilities = verdict_probabilities or {word: 0.95, other: 0.05}
            options = {lead + value: math.log(p) for value, p in probabilities.items() if p > 0}
            options.setdefault(token, math.log(1e-3))
        else:
            options = {token: math.log(0.999)}
        options.update({f: -9.0 - i for i, f in enumerate(_FILLERS) if f not in options})
        ranked = sorted(options.items(), key=lambda item: -item[1])[:top_logprobs]
        entry = _token_entry(token, options[token], offset)
        entry["top_logprobs"] = [_alternative(t, lp) for t, lp in ranked]
        entries.append(entry)
        offset += len(token)
    return {"content": entries}


def completion(
    content: str,
    model: str,
    prompt_tokens: int = 300,
    cached_tokens: int = 0,
    logprobs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An OpenAI-shaped chat completion, as Fireworks returns it; ``cached_tokens`` of the
    prompt were served from Fireworks' prompt cache (on by default there); ``logprobs`` is the
    choice's ``logprobs`` (:func:`token_logprobs`), left out when None."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": "stop",
    }
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {
        "id": f"cmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 20,
            "total_tokens": prompt_tokens + 20,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def _make_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 (cert, key), or None without ``openssl``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return cert, key


def _multipart_file(body: bytes, content_type: str) -> tuple[str, bytes] | None:
    """(filename, bytes) of the ``file`` part of a multipart/form-data body."""
    boundary = multipart_boundary(content_type)
    if boundary is None:
        return None
    for head, data in multipart_sections(body, boundary):
        if b'name="file"' in head:
            name = re.search(rb'filename="([^"]*)"', head)
            return (name.group(1).decode() if name else "file"), data
    return None


class LocalFireworks(LocalServer[Fault]):
    """A threaded Fireworks stand-in on 127.0.0.1 (see the module doc)."""

    def __init__(
        self, *, account_id: str = ACCOUNT, ready_after: int = 1, tls: bool = True
    ) -> None:
        super().__init__()
        self.account_id = account_id
        self.ready_after = ready_after
        self.responder: Responder = rules_responder
        self.cached_tokens = 0
        """Prompt tokens every completion reports as served from the prompt cache."""
        self.verdict_probabilities: dict[str, float] | None = None
        """With ``logprobs`` asked: the probabilities of ``true`` and ``false`` at the verdict's
        boolean token (None: 0.95 for the reply's value; the reply's value is the sampled one)."""
        self.requests: list[CapturedRequest] = []
        self.signed_requests: list[CapturedRequest] = []
        self.datasets: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.sft_jobs: dict[str, dict[str, Any]] = {}
        self.batch_jobs: dict[str, dict[str, Any]] = {}
        self.sft_steps = SFT_STEPS
        self.batch_steps = BATCH_STEPS
        self.models: dict[str, dict[str, Any]] = {
            name: {"name": name, "state": "READY", **info} for name, info in BASE_MODELS.items()
        }
        self._pending_uploads: dict[str, dict[str, int]] = {}
        self._tokens: dict[str, tuple[str, str, str]] = {}  # token -> (kind, dataset, filename)
        self._gets: dict[str, int] = {}
        self._released = threading.Event()
        self._tmp = tempfile.TemporaryDirectory(prefix="local-fireworks-")
        self._clients: list[Fireworks] = []  # closed by stop(): no socket left to a later test
        self.ca_file: Path | None = None
        self._api = Listener(
            "127.0.0.1", 0, _make_handler(self, signed=False), name="local-fireworks"
        )
        self._signed = Listener(
            "127.0.0.1", 0, _make_handler(self, signed=True), name="signed-urls"
        )
        certificate = _make_certificate(Path(self._tmp.name)) if tls else None
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self._signed.use_tls(context)
            self.ca_file = certificate[0]

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The control-plane base URL: ``Fireworks(base_url=...)``."""
        return self._api.url

    @property
    def inference_url(self) -> str:
        """The inference base URL: ``ChatFireworks(base_url=...)``."""
        return f"{self.url}/inference"

    @property
    def signed_url(self) -> str:
        return self._signed.url

    @property
    def tls(self) -> bool:
        """True when signed URLs are https (the SDK's shard helper needs it)."""
        return self.ca_file is not None

    def start(self) -> LocalFireworks:
        self._api.start()
        self._signed.start()
        return self

    def stop(self) -> None:
        self._released.set()  # hung requests end (unanswered) before the listeners close
        for client in self._clients:
            client.close()
        self._api.stop()
        self._signed.stop()
        self._tmp.cleanup()

    def client(self, **kwargs: Any) -> Fireworks:
        """A real ``fireworks.Fireworks`` client for this server."""
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "account_id": self.account_id,
            "base_url": self.url,
            "max_retries": 0,
        }
        options.update(kwargs)
        client = Fireworks(**options)
        self._clients.append(client)
        return client

    # -- fault injection and inspection ----------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = HTTPStatus.TOO_MANY_REQUESTS,
        path: str | None = None,
        retry_after_ms: int = 0,
    ) -> Fault:
        """Answer the next ``count`` requests (whose path contains ``path``) with ``status``."""
        fault = Fault(remaining=count, status=status, path=path, retry_after_ms=retry_after_ms)
        return self._add_fault(fault)

    def hang_next(self, count: int = 1, *, path: str | None = None) -> Fault:
        """Never answer the next ``count`` requests whose path contains ``path``."""
        return self._add_fault(Fault(remaining=count, path=path, hang=True))

    def calls(self, method: str, contains: str) -> list[CapturedRequest]:
        """Logged requests with ``method`` whose path contains ``contains``."""
        return [r for r in self.requests if r.method == method and contains in r.path]

    def dataset_lines(self, dataset_id: str) -> list[dict[str, Any]]:
        """Every JSON line of every file of a dataset."""
        rows = []
        for data in self.files.get(dataset_id, {}).values():
            rows.extend(json.loads(line) for line in data.splitlines() if line.strip())
        return rows

    # -- datasets --------------------------------------------------------------------------------
    def _dataset_view(self, dataset_id: str) -> dict[str, Any]:
        dataset = self.datasets[dataset_id]
        if dataset["state"] == "UPLOADING" and dataset.get("_complete"):
            self._gets[dataset_id] = self._gets.get(dataset_id, 0) + 1
            if self._gets[dataset_id] >= self.ready_after:
                dataset["state"] = "READY"
        return {k: v for k, v in dataset.items() if not k.startswith("_")}

    def _create_dataset(self, request: Request) -> Response:
        body = request.json(empty={})
        dataset_id = body.get("datasetId")
        if not dataset_id:
            return _error(400, "datasetId is required")
        if dataset_id in self.datasets:
            return _error(409, f"dataset {dataset_id} already exists", "ALREADY_EXISTS")
        self.datasets[dataset_id] = {
            **body.get("dataset", {}),
            "name": f"accounts/{request.match['account']}/datasets/{dataset_id}",
            "state": "UPLOADING",
            "createTime": _now(),
        }
        return 200, self._dataset_view(dataset_id)

    def _list_datasets(self, request: Request) -> Response:
        views = [self._dataset_view(d) for d in sorted(self.datasets)]
        return 200, {"datasets": views, "nextPageToken": ""}

    def _get_dataset(self, request: Request) -> Response:
        dataset_id = request.match["id"]
        if dataset_id not in self.datasets:
            return _error(404, f"dataset {dataset_id} not found", "NOT_FOUND")
        return 200, self._dataset_view(dataset_id)

    def _delete_dataset(self, request: Request) -> Response:
        dataset_id = request.match["id"]
        if self.datasets.pop(dataset_id, None) is None:
            return _error(404, f"dataset {dataset_id} not found", "NOT_FOUND")
        self.files.pop(dataset_id, None)
        return 200, {}

    def _upload(self, request: Request) -> Response:
        dataset_id = request.match["id"]
        if dataset_id not in self.datasets:
            return _error(404, f"dataset {dataset_id} not found", "NOT_FOUND")
        part = _multipart_file(request.body, request.headers.get("content-type", ""))
        if part is None:
            return _error(400, "expected a multipart 'file' part")
        name, data = part
        if not name.endswith(".jsonl"):
            return _error(400, f"dataset file must end with .jsonl, got {name}")
        self.files[dataset_id] = {name: data}
        self.datasets[dataset_id]["_complete"] = True
        return 200, {"id": dataset_id, "bytes": len(data), "filename": name, "object": "file"}

    def _upload_endpoint(self, request: Request) -> Response:
        dataset_id = request.match["id"]
        if dataset_id not in self.datasets:
            return _error(404, f"dataset {dataset_id} not found", "NOT_FOUND")
        sizes = {name: int(size) for name, size in request.json(empty={})["filenameToSize"].items()}
        self._pending_uploads[dataset_id] = sizes
        self.files[dataset_id] = {}
        urls = {}
        for name in sizes:
            token = uuid.uuid4().hex
            self._tokens[token] = ("upload", dataset_id, name)
            urls[name] = f"{self.signed_url}/signed/upload/{token}"
        return 200, {"filenameToSignedUrls": urls}

    def _validate_upload(self, request: Request) -> Response:
        dataset_id = request.match["id"]
        expected = self._pending_uploads.get(dataset_id)
        if expected is None:
            return _error(400, "no upload endpoint was requested", "FAILED_PRECONDITION")
        missing = sorted(set(expected) - set(self.files.get(dataset_id, {})))
        if missing:
            return _error(400, f"files never uploaded: {missing}", "FAILED_PRECONDITION")
        self.datasets[dataset_id]["_complete"] = True
        return 200, {}

    def _download_endpoint(self, request: Request) -> Response:
        dataset_id = request.match["id"]
        if dataset_id not in self.datasets:
            return _error(404, f"dataset {dataset_id} not found", "NOT_FOUND")
        urls = {}
        for name in self.files.get(dataset_id, {}):
            token = uuid.uuid4().hex
            self._tokens[token] = ("download", dataset_id, name)
            urls[f"datasets/{dataset_id}/{name}"] = f"{self.signed_url}/signed/download/{token}"
        return 200, {"filenameToSignedUrls": urls}

    # -- signed URLs (TLS listener) ----------------------------------------------------------------
    def _signed_put(self, request: Request) -> Response:
        kind, dataset_id, name = self._tokens.get(request.match["token"], ("", "", ""))
        if kind != "upload":
            return 403, {"error": "bad signature"}
        size = self._pending_uploads[dataset_id][name]
        if request.headers.get("x-goog-content-length-range") != f"{size},{size}":
            return 403, {"error": "X-Goog-Content-Length-Range does not match the signature"}
        if len(request.body) != size:
            return 400, {"error": f"expected {size} bytes, got {len(request.body)}"}
        self.files[dataset_id][name] = request.body
        return 200, {}

    def _signed_get(self, request: Request) -> Response:
        kind, dataset_id, name = self._tokens.get(request.match["token"], ("", "", ""))
        if kind != "download":
            return 403, {"error": "bad signature"}
        return 200, self.files[dataset_id][name]

    # -- models ----------------------------------------------------------------------------------
    def _get_model(self, request: Request) -> Response:
        name = f"accounts/{request.match['account']}/models/{request.match['id']}"
        if name not in self.models:
            return _error(404, f"model {name} not found", "NOT_FOUND")
        return 200, self.models[name]

    # -- fine-tuning jobs ------------------------------------------------------------------------
    def _ready(self, name: str | None) -> bool:
        dataset_id = (name or "").rsplit("/", 1)[-1]
        return dataset_id in self.datasets and self._dataset_view(dataset_id)["state"] == "READY"

    def _create_sft(self, request: Request) -> Response:
        body = request.json(empty={})
        job_id = request.arg("supervisedFineTuningJobId") or uuid.uuid4().hex[:20]
        if job_id in self.sft_jobs:
            return _error(409, f"job {job_id} already exists", "ALREADY_EXISTS")
        for key in ("dataset", "evaluationDataset"):
            if key in body and not self._ready(body[key]):
                return _error(400, f"{key} {body[key]} is not READY", "FAILED_PRECONDITION")
        if body.get("baseModel") not in self.models:
            return _error(400, f"base model {body.get('baseModel')} not found")
        account = request.match["account"]
        self.sft_jobs[job_id] = {
            **body,
            "name": f"accounts/{account}/supervisedFineTuningJobs/{job_id}",
            "outputModel": body.get("outputModel") or f"accounts/{account}/models/{job_id}",
            "state": "JOB_STATE_CREATING",
            "createTime": _now(),
            "_step": -1,
        }
        return 200, self._view(self.sft_jobs[job_id])

    def _view(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def _advance_sft(self, job: dict[str, Any]) -> None:
        if job["state"] in _TERMINAL:
            return
        if "_cancel_gets" in job:  # cancelled: CANCELLING for one more GET, then CANCELLED
            job["_cancel_gets"] -= 1
            if job["_cancel_gets"] < 0:
                job["state"] = "JOB_STATE_CANCELLED"
            return
        job["_step"] = min(job["_step"] + 1, len(self.sft_steps) - 1)
        state, percent = self.sft_steps[job["_step"]]
        job["state"] = state
        if percent is not None:
            job["jobProgress"] = {"percent": percent, "epoch": 0}
        if state == "JOB_STATE_COMPLETED":
            job["completedTime"] = _now()
            job["estimatedCost"] = {"currencyCode": "USD", "units": "3", "nanos": 250_000_000}
            self.models[job["outputModel"]] = {
                "name": job["outputModel"],
                "state": "READY",
                "kind": "HF_PEFT_ADDON",
                "baseModelDetails": {"checkpointFormat": "HUGGINGFACE"},
            }

    def _get_sft(self, request: Request) -> Response:
        job = self.sft_jobs.get(request.match["id"])
        if job is None:
            return _error(404, f"job {request.match['id']} not found", "NOT_FOUND")
        self._advance_sft(job)
        return 200, self._view(job)

    def _list_sft(self, request: Request) -> Response:
        size = int(request.arg("pageSize") or 50)
        start = int(request.arg("pageToken") or 0)
        names = sorted(self.sft_jobs)
        page = [self._view(self.sft_jobs[n]) for n in names[start : start + size]]
        token = str(start + size) if start + size < len(names) else ""
        return 200, {"supervisedFineTuningJobs": page, "nextPageToken": token}

    def _cancel_sft(self, request: Request) -> Response:
        job = self.sft_jobs.get(request.match["id"])
        if job is None:
            return _error(404, f"job {request.match['id']} not found", "NOT_FOUND")
        if job["state"] not in _TERMINAL:
            job["state"] = "JOB_STATE_CANCELLING"
            job["_cancel_gets"] = 1
        return 200, {}

    def _delete_sft(self, request: Request) -> Response:
        if self.sft_jobs.pop(request.match["id"], None) is None:
            return _error(404, f"job {request.match['id']} not found", "NOT_FOUND")
        return 200, {}

    # -- batch inference jobs --------------------------------------------------------------------
    def _create_batch(self, request: Request) -> Response:
        body = request.json(empty={})
        job_id = request.arg("batchInferenceJobId") or uuid.uuid4().hex[:20]
        if job_id in self.batch_jobs:
            return _error(409, f"batch job {job_id} already exists", "ALREADY_EXISTS")
        if not self._ready(body.get("inputDatasetId")):
            return _error(400, f"input dataset {body.get('inputDatasetId')} is not READY")
        output = (body.get("outputDatasetId") or "").rsplit("/", 1)[-1]
        if not output or output in self.datasets:
            return _error(400, f"output dataset {output!r} must be new", "ALREADY_EXISTS")
        account = request.match["account"]
        self.batch_jobs[job_id] = {
            **body,
            "name": f"accounts/{account}/batchInferenceJobs/{job_id}",
            "state": "JOB_STATE_CREATING",
            "createTime": _now(),
            "_step": -1,
        }
        return 200, self._view(self.batch_jobs[job_id])

    def _run_batch(self, job: dict[str, Any]) -> None:
        """Answer every input row and write the output dataset, as the batch engine would."""
        input_id = job["inputDatasetId"].rsplit("/", 1)[-1]
        output_id = job["outputDatasetId"].rsplit("/", 1)[-1]
        params = job.get("inferenceParameters", {})
        extra = json.loads(params.get("extraBody") or "{}")
        results, errors = [], []
        for row in self.dataset_lines(input_id):
            request_body = {**extra, **row["body"]}
            reply = self.responder(request_body)
            if isinstance(reply, tuple):
                code, message = reply
                errors.append(
                    {"custom_id": row["custom_id"], "error": {"code": code, "message": message}}
                )
            else:
                results.append(
                    {
                        "custom_id": row["custom_id"],
                        "response": completion(
                            reply, job["model"], cached_tokens=self.cached_tokens
                        ),
                    }
                )
        files = {
            "BIJOutputSet.jsonl": "".join(json.dumps(r) + "\n" for r in results).encode(),
            "error-data.jsonl": "".join(json.dumps(r) + "\n" for r in errors).encode(),
        }
        self.files[output_id] = files
        self.datasets[output_id] = {
            "name": job["outputDatasetId"],
            "state": "READY",
            "exampleCount": str(len(results)),
            "sourceJobName": job["name"],
        }
        job["jobProgress"] = {
            "percent": 100,
            "totalInputRequests": len(results) + len(errors),
            "successfullyProcessedRequests": len(results),
            "failedRequests": len(errors),
        }

    def _get_batch(self, request: Request) -> Response:
        job = self.batch_jobs.get(request.match["id"])
        if job is None:
            return _error(404, f"batch job {request.match['id']} not found", "NOT_FOUND")
        if job["state"] not in _TERMINAL:
            job["_step"] = min(job["_step"] + 1, len(self.batch_steps) - 1)
            state, percent = self.batch_steps[job["_step"]]
            job["state"] = state
            if percent is not None:
                job["jobProgress"] = {"percent": percent}
            if state == "JOB_STATE_COMPLETED":
                self._run_batch(job)
        return 200, self._view(job)

    def _list_batch(self, request: Request) -> Response:
        jobs = [self._view(self.batch_jobs[n]) for n in sorted(self.batch_jobs)]
        return 200, {"batchInferenceJobs": jobs, "nextPageToken": ""}

    # -- inference -------------------------------------------------------------------------------
    def _chat(self, request: Request) -> Response:
        body = request.json(empty={})
        reply = self.responder(body)
        if isinstance(reply, tuple):
            return reply[0], {"error": {"message": reply[1]}}
        logprobs = None
        if body.get("logprobs") is True:
            top = int(body.get("top_logprobs") or 0)
            logprobs = token_logprobs(reply, top, self.verdict_probabilities)
        return 200, completion(
            reply, body.get("model", "unknown"), cached_tokens=self.cached_tokens, logprobs=logprobs
        )

    # -- routing ---------------------------------------------------------------------------------
    _ROUTES: tuple[tuple[str, re.Pattern[str], _Handler], ...] = (
        ("POST", re.compile(rf"{_ACCOUNT_PATH}/datasets"), _create_dataset),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/datasets"), _list_datasets),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/datasets/{_ID}"), _get_dataset),
        ("DELETE", re.compile(rf"{_ACCOUNT_PATH}/datasets/{_ID}"), _delete_dataset),
        ("POST", re.compile(rf"{_ACCOUNT_PATH}/datasets/{_ID}:upload"), _upload),
        (
            "POST",
            re.compile(rf"{_ACCOUNT_PATH}/datasets/{_ID}:getUploadEndpoint"),
            _upload_endpoint,
        ),
        ("POST", re.compile(rf"{_ACCOUNT_PATH}/datasets/{_ID}:validateUpload"), _validate_upload),
        (
            "GET",
            re.compile(rf"{_ACCOUNT_PATH}/datasets/{_ID}:getDownloadEndpoint"),
            _download_endpoint,
        ),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/models/{_ID}"), _get_model),
        ("POST", re.compile(rf"{_ACCOUNT_PATH}/supervisedFineTuningJobs"), _create_sft),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/supervisedFineTuningJobs"), _list_sft),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/supervisedFineTuningJobs/{_ID}"), _get_sft),
        (
            "POST",
            re.compile(rf"{_ACCOUNT_PATH}/supervisedFineTuningJobs/{_ID}:cancel"),
            _cancel_sft,
        ),
        ("DELETE", re.compile(rf"{_ACCOUNT_PATH}/supervisedFineTuningJobs/{_ID}"), _delete_sft),
        ("POST", re.compile(rf"{_ACCOUNT_PATH}/batchInferenceJobs"), _create_batch),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/batchInferenceJobs"), _list_batch),
        ("GET", re.compile(rf"{_ACCOUNT_PATH}/batchInferenceJobs/{_ID}"), _get_batch),
        ("POST", re.compile(r"(?:/inference)?/v1/chat/completions"), _chat),
    )
    _SIGNED_ROUTES: tuple[tuple[str, re.Pattern[str], _Handler], ...] = (
        ("PUT", re.compile(r"/signed/upload/(?P<token>[0-9a-f]+)"), _signed_put),
        ("GET", re.compile(r"/signed/download/(?P<token>[0-9a-f]+)"), _signed_get),
    )

    def _answer(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, signed: bool
    ) -> tuple[int, Any, dict[str, str], str | None]:
        """(status, payload, extra headers, name of the handler that answered)."""
        fault = None if signed else self._take_fault(f"{method} {raw_path}")
        if fault is not None and fault.hang:
            return 0, _HANG, {}, None
        if fault is not None:
            extra = {"retry-after-ms": str(fault.retry_after_ms)}
            error = {"error": {"message": f"injected fault {fault.status}"}}
            return fault.status, error, extra, None
        routes = self._SIGNED_ROUTES if signed else self._ROUTES
        found = find_route(routes, method, raw_path, headers, body)
        if found is None:
            status, payload = _error(404, f"Not Found: {method} {raw_path}", "NOT_FOUND")
            return status, payload, {}, None
        handler, request = found
        with self._lock:
            try:
                status, payload = handler(self, request)
            except (ValueError, KeyError, TypeError) as e:
                status, payload = _error(400, f"{type(e).__name__}: {e}")
        return status, payload, {}, handler.__name__


def _make_handler(app: LocalFireworks, *, signed: bool) -> type[QuietHandler]:
    class _Handler(QuietHandler):
        def handle_request(self) -> None:
            body = self.read_body()
            headers = self.lowered_headers()
            answer = app._answer(self.command, self.path, headers, body, signed)
            status, payload, extra, route = answer
            logged: Any = None
            if "json" in headers.get("content-type", ""):
                try:
                    logged = json.loads(body)
                except ValueError:
                    logged = None
            record = CapturedRequest(
                self.command,
                self.path,
                int(status),
                logged,
                "authorization" in headers,
                route,
                None if payload is _HANG else payload,
            )
            with app._lock:
                (app.signed_requests if signed else app.requests).append(record)
            if payload is _HANG:  # logged (status 0), then silent until the server stops
                app._released.wait()
                self.close_connection = True
                return
            if isinstance(payload, bytes):
                data, content_type = payload, "application/octet-stream"
            else:
                data, content_type = json.dumps(payload).encode(), "application/json"
            self.send_body(status, data, content_type, extra)

    return _Handler
