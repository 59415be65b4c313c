"""An in-memory, LangSmith-compatible HTTP server that captures what the real SDK traces.

It speaks the ingestion endpoints the ``langsmith`` SDK (0.15.x) uses when tracing:

- ``POST /runs`` and ``PATCH /runs/{id}``: one run at a time (``auto_batch_tracing=False``);
- ``POST /runs/multipart``: batched tracing (``post.{id}``, ``post.{id}.inputs``, ``patch.{id}``,
  ... form parts), optionally ``Content-Encoding: zstd`` when the server's info advertises
  ``instance_flags.zstd_compression_enabled``;
- ``POST /runs/batch``: batched tracing when ``batch_ingest_config.use_multipart_endpoint`` is off
  (``{"post": [...], "patch": [...]}``);
- ``GET /info``;

each also under the ``/api/v1`` prefix. Patches are merged into the stored run dicts (keyed by id).
Anything else gets a 404 JSON answer. Usage::

    with LocalLangSmith() as server:
        client = server.client()  # a real langsmith.Client pointed at the server
        ...  # trace with tracing_context(enabled=True, client=client)
        roots = server.root_runs()

or through the ``langsmith_server`` fixture in ``tests/conftest.py``. Routes are a table of
``(method, pattern, handler)`` so feedback, annotation queues or threads can be added later.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import zstandard
from langsmith import Client

__all__ = ["DEFAULT_INFO", "CapturedRequest", "LocalLangSmith"]

_API_PREFIX = "/api/v1"

DEFAULT_INFO: dict[str, Any] = {
    "version": "local",
    "instance_flags": {"zstd_compression_enabled": True},
    "batch_ingest_config": {
        "use_multipart_endpoint": True,
        "scale_up_qsize_trigger": 1000,
        "scale_up_nthreads_limit": 16,
        "scale_down_nempty_trigger": 4,
        "size_limit": 100,
        "size_limit_bytes": 20_971_520,
    },
}
"""What ``GET /info`` answers: multipart ingestion with zstd compression, like LangSmith cloud."""
_RUN_PART_FIELDS = ("inputs", "outputs", "events", "extra", "error", "serialized")


@dataclass(frozen=True)
class CapturedRequest:
    """One request the server answered (for debugging and for asserting on the wire traffic)."""

    method: str
    path: str
    status: int
    content_encoding: str | None = None


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    match: re.Match[str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


_Response = tuple[int, Any]
_Handler = Callable[["LocalLangSmith", _Request], _Response]


class LocalLangSmith:
    """A threaded LangSmith stand-in on 127.0.0.1 that keeps every traced run in memory."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        info: dict[str, Any] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, Any]] = {}
        self.requests: list[CapturedRequest] = []
        self.info: dict[str, Any] = copy.deepcopy(DEFAULT_INFO) if info is None else info
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server's base URL, usable as a ``langsmith.Client`` ``api_url``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalLangSmith:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="local-langsmith",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> LocalLangSmith:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, **kwargs: Any) -> Client:
        """A real ``langsmith.Client`` for this server (unbatched, no /info call by default)."""
        options: dict[str, Any] = {
            "api_url": self.url,
            "api_key": "test",
            "auto_batch_tracing": False,
            "info": {},
        }
        options.update(kwargs)
        return Client(**options)

    # -- captured data ---------------------------------------------------------------------------
    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every captured run (deep copies), in the order the server first saw them."""
        with self._lock:
            return copy.deepcopy(list(self._runs.values()))

    def run(self, run_id: str) -> dict[str, Any]:
        """One captured run by id (raises KeyError when unknown)."""
        with self._lock:
            return copy.deepcopy(self._runs[str(run_id)])

    def root_runs(self, project_name: str | None = None) -> list[dict[str, Any]]:
        """Runs without a parent (one per trace), ordered by start time."""
        roots = [
            run
            for run in self.runs
            if run.get("parent_run_id") is None
            and (project_name is None or run.get("session_name") == project_name)
        ]
        return sorted(roots, key=lambda run: str(run.get("start_time") or ""))

    def child_runs(self, run_id: str) -> list[dict[str, Any]]:
        """Direct children of a run, ordered by start time."""
        children = [run for run in self.runs if run.get("parent_run_id") == str(run_id)]
        return sorted(children, key=lambda run: str(run.get("start_time") or ""))

    def reset(self) -> None:
        """Forget every captured run and request."""
        with self._lock:
            self._runs.clear()
            self.requests.clear()

    # -- storage ---------------------------------------------------------------------------------
    def _store(self, operation: str, fields: dict[str, Any]) -> None:
        run_id = str(fields["id"])
        with self._lock:
            existing = self._runs.get(run_id)
            if existing is None:
                self._runs[run_id] = dict(fields)
            elif operation == "post":
                # A patch got here first: keep what it set (outputs, end_time, ...).
                self._runs[run_id] = {**fields, **existing}
            else:
                existing.update({key: value for key, value in fields.items() if value is not None})

    # -- handlers --------------------------------------------------------------------------------
    def _info(self, request: _Request) -> _Response:
        return HTTPStatus.OK, self.info

    def _create_run(self, request: _Request) -> _Response:
        self._store("post", request.json())
        return HTTPStatus.ACCEPTED, {}

    def _update_run(self, request: _Request) -> _Response:
        fields = request.json()
        fields["id"] = request.match["run_id"]
        self._store("patch", fields)
        return HTTPStatus.ACCEPTED, {}

    def _batch(self, request: _Request) -> _Response:
        body = request.json() or {}
        for operation in ("post", "patch"):
            for fields in body.get(operation) or []:
                self._store(operation, fields)
        return HTTPStatus.ACCEPTED, {}

    def _multipart(self, request: _Request) -> _Response:
        boundary = _boundary(request.headers.get("content-type", ""))
        if boundary is None:
            return HTTPStatus.BAD_REQUEST, {"detail": "multipart body without a boundary"}
        operations: dict[tuple[str, str], dict[str, Any]] = {}
        for name, data in _multipart_parts(request.body, boundary):
            kind, _, rest = name.partition(".")
            if kind not in ("post", "patch"):
                continue  # feedback.* and attachment.* parts: not stored (yet)
            run_id, _, field = rest.partition(".")
            fields = operations.setdefault((kind, run_id), {"id": run_id})
            if not field:
                fields.update(json.loads(data))
            elif field in _RUN_PART_FIELDS:
                fields[field] = json.loads(data)
        for (kind, _run_id), fields in operations.items():
            self._store(kind, fields)
        return HTTPStatus.ACCEPTED, {}

    _ROUTES: tuple[tuple[str, re.Pattern[str], _Handler], ...] = (
        ("GET", re.compile(r"/info/?"), _info),
        ("POST", re.compile(r"/runs/?"), _create_run),
        ("POST", re.compile(r"/runs/batch/?"), _batch),
        ("POST", re.compile(r"/runs/multipart/?"), _multipart),
        ("PATCH", re.compile(r"/runs/(?P<run_id>[0-9a-fA-F-]{36})/?"), _update_run),
    )

    def _dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> _Response:
        path = raw_path.split("?", 1)[0]
        path = path.removeprefix(_API_PREFIX) or "/"
        for route_method, pattern, handler in self._ROUTES:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                try:
                    return handler(self, _Request(method, path, match, headers, body))
                except (ValueError, KeyError, TypeError) as e:
                    return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": f"{type(e).__name__}: {e}"}
        return HTTPStatus.NOT_FOUND, {"detail": f"Not Found: {method} {raw_path}"}


def _boundary(content_type: str) -> str | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    return match.group(1) if match else None


def _multipart_parts(body: bytes, boundary: str) -> list[tuple[str, bytes]]:
    """(form field name, raw bytes) of each part of a multipart/form-data body."""
    parts: list[tuple[str, bytes]] = []
    for chunk in body.split(b"--" + boundary.encode()):
        head, sep, data = chunk.partition(b"\r\n\r\n")
        match = re.search(rb'name="([^"]+)"', head)
        if not sep or not match:
            continue  # the preamble or the closing "--"
        parts.append((match.group(1).decode(), data.removesuffix(b"\r\n")))
    return parts


def _decode_body(body: bytes, encoding: str | None) -> bytes:
    if encoding == "zstd":
        with zstandard.ZstdDecompressor().stream_reader(body) as reader:
            return reader.read()
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


def _make_handler(app: LocalLangSmith) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _handle(self) -> None:
            encoding = self.headers.get("Content-Encoding")
            status: int
            payload: Any
            try:
                body = _decode_body(self._read_body(), encoding)
            except (OSError, ValueError, zstandard.ZstdError) as e:
                status, payload = HTTPStatus.BAD_REQUEST, {"detail": f"bad body: {e}"}
            else:
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, payload = app._dispatch(self.command, self.path, headers, body)
            with app._lock:
                app.requests.append(CapturedRequest(self.command, self.path, int(status), encoding))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return _RequestHandler
