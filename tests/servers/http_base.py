"""HTTP plumbing shared by the local test servers (``LocalFireworks``, ``LocalLangSmith``).

A :class:`Request` and :func:`find_route` over a ``(method, pattern, handler)`` table, a quiet
HTTP/1.1 :class:`QuietHandler` (plain or chunked bodies), a :class:`Listener` serving one
``ThreadingHTTPServer`` on a daemon thread (optionally TLS), :class:`LocalServer` (lock, faults,
``with``; each fault a :class:`BaseFault`) and multipart helpers. Error shapes, request logs, fault
headers and body encodings differ between the servers and stay in their own modules.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "BaseFault",
    "Listener",
    "LocalServer",
    "QuietHandler",
    "Request",
    "Response",
    "find_route",
    "multipart_boundary",
    "multipart_sections",
]

Response = tuple[int, Any]
"""What a route handler returns: the status and the payload."""

HandlerT = TypeVar("HandlerT")
FaultT = TypeVar("FaultT", bound="BaseFault")
ServerT = TypeVar("ServerT", bound="LocalServer[Any]")


@dataclass(frozen=True)
class Request:
    """One routed request: the matched path and its match, lower-cased headers, body, query."""

    method: str
    path: str
    match: re.Match[str]
    headers: dict[str, str]
    body: bytes
    query: dict[str, list[str]] = field(default_factory=dict)

    def json(self, empty: Any = None) -> Any:
        """The JSON body, or ``empty`` when the body is empty."""
        return json.loads(self.body) if self.body else empty

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``, or ``default``."""
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of query parameter ``name``."""
        return self.query.get(name, [])


def find_route(
    routes: Iterable[tuple[str, re.Pattern[str], HandlerT]],
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    prefix: str = "",
) -> tuple[HandlerT, Request] | None:
    """The handler of the first route whose method and whole path pattern match, and its request.

    ``prefix`` is stripped from the path before matching (an empty path becomes ``/``).
    """
    split = urlsplit(raw_path)
    path = split.path.removeprefix(prefix) or "/"
    query = parse_qs(split.query, keep_blank_values=True)
    for route_method, pattern, handler in routes:
        match = pattern.fullmatch(path)
        if route_method == method and match:
            return handler, Request(method, path, match, headers, body, query)
    return None


class QuietHandler(BaseHTTPRequestHandler):
    """GET, POST, PUT and DELETE go to :meth:`handle_request`; nothing is logged."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def do_PUT(self) -> None:
        self.handle_request()

    def do_DELETE(self) -> None:
        self.handle_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def handle_request(self) -> None:
        """Read the request and answer it (each server's subclass)."""
        raise NotImplementedError

    def read_body(self) -> bytes:
        """The request body, by ``Content-Length`` or chunked transfer encoding."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def lowered_headers(self) -> dict[str, str]:
        """The request headers with lower-case names."""
        return {key.lower(): value for key, value in self.headers.items()}

    def send_body(self, status: int, data: bytes, content_type: str, extra: dict[str, str]) -> None:
        """Answer with ``status``, ``data`` and the ``extra`` headers."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class Listener:
    """A ``ThreadingHTTPServer`` that a daemon thread serves from :meth:`start` to :meth:`stop`."""

    def __init__(
        self, host: str, port: int, handler: type[BaseHTTPRequestHandler], *, name: str
    ) -> None:
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.name = name
        self.scheme = "http"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``{scheme}://{host}:{port}`` of the bound socket."""
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve https: wrap the listening socket with ``context``."""
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https"

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=self.name,
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()


@dataclass
class BaseFault:
    """Answer the next ``remaining`` requests whose path contains ``path`` with ``status``."""

    remaining: int
    status: int = HTTPStatus.TOO_MANY_REQUESTS
    path: str | None = None

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or self.path in path)


class LocalServer(Generic[FaultT]):
    """A server's lock, its injected faults and ``with`` support (subclasses start and stop)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: list[FaultT] = []

    def start(self: ServerT) -> ServerT:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: ServerT) -> ServerT:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _add_fault(self, fault: FaultT) -> FaultT:
        with self._lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, path: str) -> FaultT | None:
        """The first fault matching ``path``, with one of its uses spent; None when none does."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    fault.remaining -= 1
                    return fault
        return None


def multipart_boundary(content_type: str) -> str | None:
    """The boundary of a multipart ``Content-Type`` header, or None."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    return match.group(1) if match else None


def multipart_sections(body: bytes, boundary: str) -> Iterator[tuple[bytes, bytes]]:
    """(headers, data) of each part of a multipart/form-data body (not the preamble or end)."""
    for chunk in body.split(b"--" + boundary.encode()):
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if sep:
            yield head, data.removesuffix(b"\r\n")
