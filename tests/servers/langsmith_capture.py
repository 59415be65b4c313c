"""An in-memory, LangSmith-compatible HTTP server: real round trips through the ``langsmith`` SDK.

Both SDK clients talk to it: the hand-written ``langsmith.Client`` (paths such as ``/runs/query``,
``/feedback``, ``/annotation-queues``, optionally under ``/api/v1``) and the generated sync
``langsmith.Langsmith`` (``/api/v1/...`` and ``/api/v2/...`` on the host root). Everything is kept
in memory. Areas, each a block of the route table in :class:`LocalLangSmith`:

- **ingestion** (what tracing sends): ``POST /runs``, ``PATCH /runs/{id}``, ``POST /runs/batch``
  (``{"post": [...], "patch": [...]}``), ``POST /runs/multipart`` (``post.{id}``,
  ``post.{id}.inputs``, ``patch.{id}``, ``feedback.{id}`` parts, optionally zstd-compressed when
  the server's info advertises it), ``GET /info``. A run posted with ``session_name`` creates or
  attaches to the project of that name.
- **runs**: ``POST /runs/query`` (``{"runs", "cursors"}``) and ``POST /api/v2/runs/query``
  (``{"items", "next_cursor"}``; ``selects``; ``min_start_time`` defaults to one day ago, as in
  LangSmith), ``GET /runs/{id}``, ``GET /api/v2/runs/{id}``. Filters: project ids, ``is_root``,
  ``run_type``, start-time bounds, ``trace_id``, ``ids`` and a subset of LangSmith filter
  expressions (``and``/``or``/``not``, ``eq``/``neq``/``gt``/``gte``/``lt``/``lte``/``has``/``in``
  over ``feedback_key``, ``feedback_score``, ``name``, ``run_type``, ``status``, ``trace_id``,
  ``id``, ``thread_id``, ``tags``, ``is_root``). An ``and`` over ``feedback_key`` and
  ``feedback_score`` matches when ONE feedback satisfies both, as in LangSmith.
- **projects**: ``POST /sessions`` (409 on a duplicate name), ``GET /sessions?name=...``,
  ``GET|PATCH /sessions/{id}``, ``GET /api/v2/sessions`` (cursor pages) and
  ``GET /api/v2/sessions/{id}``.
- **threads**: ``POST /api/v2/threads/query`` (root runs grouped by metadata ``thread_id`` /
  ``session_id`` / ``conversation_id`` within a project) and
  ``GET /api/v2/threads/{thread_id}/traces`` (``project_id``, ``selects``, cursor pages).
- **feedback**: ``POST /feedback`` and multipart ``feedback.{id}`` parts UPSERT by id by default
  (``feedback_duplicates`` switches to 409 or to storing a copy: the spec promises none of them).
  ``GET /feedback`` (``run``, ``key``, ``session``, ``source``, ``has_score``, ``limit``,
  ``offset``), ``GET|PATCH|DELETE /feedback/{id}``, ``POST /feedback-configs``.
- **annotation queues**: ``POST /annotation-queues`` (hand-written and generated clients),
  ``GET /annotation-queues`` (``name``, ``name_contains``, ``ids``), ``GET|DELETE
  /annotation-queues/{id}``, ``POST /api/v1/platform/annotation-queues/{id}/items`` (RUN and THREAD
  items; more than 100 in one request -> 400, the documented limit; a repeated item is stored
  again, so callers must de-duplicate) and ``GET`` of the same path (``status``, ``item_type``,
  cursor pages).
- **datasets**: ``POST /datasets``, ``GET /datasets?name=...``, ``GET /datasets/{id}``,
  ``GET /datasets/{id}/versions``, ``POST /examples/bulk``, ``GET /examples``, enough for
  ``langsmith.evaluate(..., upload_results=True)``.
- **online evaluation** (stored as sent, plus an ``id`` and ``created_at``):
  ``POST|GET /api/v1/runs/rules`` (the rule; a list of every stored rule), ``GET
  /api/v2/runs/rules`` (what the generated ``evaluators.list_v2`` reads: the same stored rules as
  the SDK's ``Rule``, the v1 ``session_id`` renamed ``project_id``, newest first, ``{"items",
  "next_cursor"}`` pages of ``page_size``; filters ``project_id``, ``dataset_id``,
  ``evaluator_id``, ``id``, ``name_contains``, ``type``; ``LocalLangSmith(rules_v2=False)`` or
  ``server.rules_v2 = False`` makes it answer 404, as an older deployment does),
  ``POST /api/v1/platform/evaluators`` (``{"evaluator": ...}``), ``GET
  /api/v1/platform/evaluators`` (``{"evaluators", "total"}``) and ``GET
  /api/v1/platform/evaluators/{id}``, the shapes of the generated ``online_evaluators``.

Behaviours of real deployments, switchable per test (attributes of the server): ``v2`` (False:
every ``/api/v2`` path answers 404, like LangSmith before 0.16), ``trace_selects`` (the thread
trace selects accepted; others answer 422), ``queue_item_project_key`` (listed queue items name
their project ``project_id`` or only ``session_id``), ``feedback_duplicates`` (a known feedback id
is upserted, answered 409, or stored again under a new id), ``evaluator_builds`` and
``evaluator_build_error`` (the build status successive evaluator reads report),
``thread_filters`` (apply ``threads.query`` filters) and ``info`` (``instance_flags.
dataset_examples_multipart_enabled`` serves ``POST /v1/platform/datasets/{id}/examples``).

Contract: every request and every 2xx answer is checked against LangSmith's OpenAPI document
(``tests/servers/langsmith_contract.py``); :meth:`LocalLangSmith.stop` fails on a mismatch that
no known deviation covers (:meth:`LocalLangSmith.take_mismatches` for tests that break it on
purpose).

Every request is logged in :attr:`LocalLangSmith.requests`. :meth:`LocalLangSmith.fail_next`
makes the next N requests (optionally only those whose path contains a string) answer 429 (with
``Retry-After``) or 5xx, to test backoff. Unknown paths get a 404 JSON answer. Usage::

    with LocalLangSmith() as server:
        client = server.client()  # a real langsmith.Client pointed at the server
        sdk = server.sdk()  # a real langsmith.Langsmith (generated, sync)
        ...  # trace with tracing_context(enabled=True, client=client)
        roots = server.root_runs()

or through the ``langsmith_server`` fixture in ``tests/conftest.py``.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any, Literal

import zstandard
from langsmith import Client, Langsmith

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
from tests.servers.langsmith_contract import (
    KNOWN_DEVIATIONS,
    Mismatch,
    OpenAPIContract,
    load_contract,
)

__all__ = [
    "DEFAULT_INFO",
    "SPEC_TRACE_SELECTS",
    "TENANT_ID",
    "CapturedRequest",
    "Fault",
    "LocalLangSmith",
]

_API_PREFIX = "/api/v1"
TENANT_ID = "00000000-0000-4000-8000-000000000001"
"""The workspace (tenant) id every stored object carries."""

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
_THREAD_KEYS = ("thread_id", "session_id", "conversation_id")
_MAX_QUEUE_ITEMS_PER_REQUEST = 100
_RULES_V2_PAGE_SIZE = 20
_RULE_V2_DEFAULTS: dict[str, Any] = {
    "add_to_dataset_prefer_correction": False,
    "evaluator_version": 1,
    "extend_only": False,
    "include_extended_stats": False,
    "is_enabled": True,
    "is_managed_evaluator": False,
    "is_tracing_disabled": False,
    "transient": False,
    "use_corrections_dataset": False,
}
"""Required fields of the SDK's ``langsmith.types.rule.Rule`` that a v1 create body may omit."""
_DEFAULT_WINDOW = timedelta(days=1)
SPEC_TRACE_SELECTS = (
    "THREAD_ID",
    "TRACE_ID",
    "START_TIME",
    "END_TIME",
    "INPUTS_PREVIEW",
    "OUTPUTS_PREVIEW",
    "NAME",
)
"""Selects of thread traces that both the spec's enum (2026-05-21) and this server know."""
_UUID = r"[0-9a-fA-F-]{36}"


@dataclass(frozen=True)
class CapturedRequest:
    """One request the server answered (for debugging and for asserting on the wire traffic)."""

    method: str
    path: str
    status: int
    content_encoding: str | None = None


@dataclass
class Fault(BaseFault):
    """Answer the next ``remaining`` requests whose path contains ``path`` with ``status``."""

    retry_after: float = 0


_Handler = Callable[["LocalLangSmith", Request], Response]


# -- small helpers --------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    """A timezone-aware datetime from an ISO string (``Z`` allowed) or None."""
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1")


def _items(page: list[Any], cursor: str | None) -> dict[str, Any]:
    """A v2 cursor page: ``items``, and ``next_cursor`` only when there is a next page.

    The spec types ``next_cursor`` as a string (not nullable), so the last page leaves it out.
    """
    return {"items": page, "next_cursor": cursor} if cursor else {"items": page}


def _page(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    """One page of ``items`` from an opaque (offset) cursor, and the next cursor or None."""
    start = int(cursor) if cursor else 0
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _metadata(run: dict[str, Any]) -> dict[str, Any]:
    extra = run.get("extra") or {}
    return dict(extra.get("metadata") or {})


def _thread_id(run: dict[str, Any]) -> str | None:
    metadata = _metadata(run)
    for key in _THREAD_KEYS:
        if metadata.get(key):
            return str(metadata[key])
    return None


def _is_root(run: dict[str, Any]) -> bool:
    return run.get("parent_run_id") is None


def _preview(value: Any, limit: int = 200) -> str | None:
    return None if value is None else json.dumps(value, default=str)[:limit]


# -- filter expressions ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[(),\[\]])|(?P<word>[^\s(),\[\]"]+))'
)


def _tokens(text: str) -> Iterator[str]:
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            msg = f"cannot parse filter at {text[position:]!r}"
            raise ValueError(msg)
        position = match.end()
        yield match.group(match.lastgroup or "word")


def _parse_filter(text: str) -> Any:
    """Parse ``and(eq(feedback_key, "x"), gt(feedback_score, 0))`` into nested lists."""
    tokens = list(_tokens(text))

    def parse(index: int) -> tuple[Any, int]:
        token = tokens[index]
        if token == "[":
            values: list[Any] = []
            index += 1
            while tokens[index] != "]":
                value, index = parse(index)
                values.append(value)
                index += 1 if tokens[index] == "," else 0
            return values, index + 1
        if index + 1 < len(tokens) and tokens[index + 1] == "(":
            args: list[Any] = []
            index += 2
            while tokens[index] != ")":
                arg, index = parse(index)
                args.append(arg)
                index += 1 if tokens[index] == "," else 0
            return [token, *args], index + 1
        if token.startswith('"'):
            return json.loads(token), index + 1
        try:
            return json.loads(token), index + 1  # numbers, true, false, null
        except ValueError:
            return token, index + 1  # a bare field name

    expression, end = parse(0)
    if end != len(tokens):
        msg = f"unexpected tokens after the filter expression: {tokens[end:]}"
        raise ValueError(msg)
    return expression


def _field_value(run: dict[str, Any], name: str, feedback: dict[str, Any] | None) -> Any:
    if name == "feedback_key":
        return feedback.get("key") if feedback else None
    if name == "feedback_score":
        return feedback.get("score") if feedback else None
    if name == "thread_id":
        return _thread_id(run)
    if name == "is_root":
        return _is_root(run)
    if name == "status":
        return "error" if run.get("error") else "success"
    if name == "tags":
        return run.get("tags") or []
    return run.get(name)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "has":
        return isinstance(actual, list) and expected in actual
    if op == "in":
        return actual in expected
    if op in ("eq", "neq"):
        same = actual == expected or (actual is not None and str(actual) == str(expected))
        return same if op == "eq" else not same
    if actual is None:
        return False
    ordering = {"gt": actual > expected, "gte": actual >= expected}
    ordering.update({"lt": actual < expected, "lte": actual <= expected})
    if op not in ordering:
        msg = f"unsupported filter operator {op!r}"
        raise ValueError(msg)
    return bool(ordering[op])


def _evaluate(expression: Any, run: dict[str, Any], feedback: dict[str, Any] | None) -> bool:
    op, *args = expression
    if op == "and":
        return all(_evaluate(arg, run, feedback) for arg in args)
    if op == "or":
        return any(_evaluate(arg, run, feedback) for arg in args)
    if op == "not":
        return not _evaluate(args[0], run, feedback)
    name, expected = args
    return _compare(op, _field_value(run, name, feedback), expected)


# -- the server ------------------------------------------------------------------------------------


class LocalLangSmith(LocalServer[Fault]):
    """A threaded LangSmith stand-in on 127.0.0.1 that keeps everything in memory."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        info: dict[str, Any] | None = None,
        rules_v2: bool = True,
    ) -> None:
        super().__init__()
        self.rules_v2 = rules_v2
        """Serve ``GET /api/v2/runs/rules``; False answers it 404, like an older deployment."""
        # -- switchable server behaviours (each test sets what it needs) --
        self.v2 = True
        """Serve ``/api/v2/...``; False answers every v2 path 404, like LangSmith before 0.16."""
        self.trace_selects: frozenset[str] | None = None
        """The ``selects`` that thread traces accept (None: all); others answer 422 like the
        spec's enum would (``frozenset(SPEC_TRACE_SELECTS)`` for a server that follows it)."""
        self.queue_item_project_key: Literal["project_id", "session_id"] = "project_id"
        """The field listed queue items name their project with (the other is left out)."""
        self.feedback_duplicates: Literal["upsert", "conflict", "duplicate"] = "upsert"
        """``POST /feedback`` with a known id: replace it, answer 409, or store a second copy
        under a new id."""
        self.evaluator_builds: list[str] = []
        """Build statuses successive evaluator reads report (the last one repeats); empty:
        no ``evaluator_build_status`` at all (an older server)."""
        self.evaluator_build_error: str | None = None
        """``evaluator_build_error`` reported with a FAILED build."""
        self.thread_filters = True
        """Apply ``filter`` of ``threads.query`` (a thread is kept when one of its root runs
        matches); False ignores it."""
        self._runs: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}
        self._feedback: dict[str, dict[str, Any]] = {}
        self._feedback_configs: dict[str, dict[str, Any]] = {}
        self._queues: dict[str, dict[str, Any]] = {}
        self._queue_items: dict[str, list[dict[str, Any]]] = {}
        self._datasets: dict[str, dict[str, Any]] = {}
        self._examples: dict[str, dict[str, Any]] = {}
        self._rules: list[dict[str, Any]] = []
        self._evaluators: list[dict[str, Any]] = []
        self.requests: list[CapturedRequest] = []
        self.info: dict[str, Any] = copy.deepcopy(DEFAULT_INFO) if info is None else info
        self.contract: OpenAPIContract | None = load_contract()
        """What every request and 2xx response is checked against (None: no spec found)."""
        self.mismatches: list[Mismatch] = []
        """Contract mismatches that no known deviation covers; :meth:`stop` fails on any."""
        self.deviations: list[Mismatch] = []
        """Mismatches that ``langsmith_contract.KNOWN_DEVIATIONS`` covers."""
        self.strict_contract = True
        """Fail :meth:`stop` on a mismatch (False: tests that send invalid requests on purpose)."""
        self._listener = Listener(host, port, _make_handler(self), name="local-langsmith")
        self._clients: list[Client | Langsmith] = []  # closed by stop(): no socket outlives it

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server's base URL, usable as a ``langsmith.Client`` ``api_url``."""
        return self._listener.url

    def start(self) -> LocalLangSmith:
        self._listener.start()
        return self

    def stop(self) -> None:
        """Stop serving; raise AssertionError on a contract mismatch when strict."""
        for client in self._clients:
            client.close()
        self._listener.stop()
        if self.strict_contract and self.mismatches:
            lines = "\n".join(sorted({m.render() for m in self.mismatches}))
            msg = f"requests or responses that differ from the LangSmith OpenAPI spec:\n{lines}"
            raise AssertionError(msg)

    def client(self, **kwargs: Any) -> Client:
        """A real ``langsmith.Client`` for this server (unbatched, no /info call by default)."""
        options: dict[str, Any] = {
            "api_url": self.url,
            "api_key": "test",
            "auto_batch_tracing": False,
            "info": {},
        }
        options.update(kwargs)
        client = Client(**options)
        self._clients.append(client)
        return client

    def sdk(self, **kwargs: Any) -> Langsmith:
        """A real generated sync ``langsmith.Langsmith`` client for this server."""
        options: dict[str, Any] = {"base_url": self.url, "api_key": "test"}
        options.update(kwargs)
        sdk = Langsmith(**options)
        self._clients.append(sdk)
        return sdk

    # -- fault injection -------------------------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = HTTPStatus.TOO_MANY_REQUESTS,
        path: str | None = None,
        retry_after: float = 0,
    ) -> Fault:
        """Answer the next ``count`` requests (whose path contains ``path``) with ``status``.

        429 and 503 answers carry ``Retry-After`` (seconds) and ``retry-after-ms`` headers.
        """
        fault = Fault(remaining=count, status=status, path=path, retry_after=retry_after)
        return self._add_fault(fault)

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

    @property
    def projects(self) -> list[dict[str, Any]]:
        """Every project (tracing session)."""
        with self._lock:
            return copy.deepcopy(list(self._sessions.values()))

    def project_id(self, name: str) -> str:
        """The id of the project called ``name`` (raises KeyError when unknown)."""
        with self._lock:
            for session in self._sessions.values():
                if session["name"] == name:
                    return str(session["id"])
        raise KeyError(name)

    @property
    def feedback(self) -> list[dict[str, Any]]:
        """Every stored feedback (one per id: writes with a known id replace it)."""
        with self._lock:
            return copy.deepcopy(list(self._feedback.values()))

    @property
    def queues(self) -> list[dict[str, Any]]:
        """Every annotation queue."""
        with self._lock:
            return copy.deepcopy(list(self._queues.values()))

    def queue_items(self, queue_id: str) -> list[dict[str, Any]]:
        """The items of one annotation queue, in the order they were added."""
        with self._lock:
            return copy.deepcopy(self._queue_items.get(str(queue_id), []))

    @property
    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset."""
        with self._lock:
            return copy.deepcopy(list(self._datasets.values()))

    @property
    def examples(self) -> list[dict[str, Any]]:
        """Every dataset example."""
        with self._lock:
            return copy.deepcopy(list(self._examples.values()))

    @property
    def rules(self) -> list[dict[str, Any]]:
        """Every run rule (automation) posted, as sent plus an id."""
        with self._lock:
            return copy.deepcopy(self._rules)

    @property
    def evaluators(self) -> list[dict[str, Any]]:
        """Every online evaluator posted, as sent plus an id."""
        with self._lock:
            return copy.deepcopy(self._evaluators)

    def take_mismatches(self) -> list[Mismatch]:
        """Return and forget the mismatches (for tests that break the contract on purpose)."""
        with self._lock:
            taken, self.mismatches = self.mismatches, []
        return taken

    def count_requests(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matched ``method`` and contained ``path`` (faults included)."""
        return sum(
            1
            for request in list(self.requests)
            if (method is None or request.method == method)
            and (path is None or path in request.path)
        )

    def reset(self) -> None:
        """Forget everything stored and every request."""
        with self._lock:
            for store in (
                self._runs,
                self._sessions,
                self._feedback,
                self._feedback_configs,
                self._queues,
                self._queue_items,
                self._datasets,
                self._examples,
            ):
                store.clear()
            self._rules.clear()
            self._evaluators.clear()
            self._faults.clear()
            self.requests.clear()

    # -- storage: runs and projects --------------------------------------------------------------
    def _store(self, operation: str, fields: dict[str, Any]) -> None:
        run_id = str(fields["id"])
        with self._lock:
            if operation == "post":
                self._attach_session(fields)
            existing = self._runs.get(run_id)
            if existing is None:
                self._runs[run_id] = dict(fields)
            elif operation == "post":
                # A patch got here first: keep what it set (outputs, end_time, ...).
                self._runs[run_id] = {**fields, **existing}
            else:
                existing.update({key: value for key, value in fields.items() if value is not None})

    def _attach_session(self, fields: dict[str, Any]) -> None:
        """Give a posted run a project: by id, else by name (created on first use)."""
        session_id = fields.get("session_id")
        name = fields.get("session_name")
        if session_id is not None and str(session_id) in self._sessions:
            fields.setdefault("session_name", self._sessions[str(session_id)]["name"])
            return
        session = self._session_named(name or "default") if session_id is None else None
        if session is None:
            session = self._new_session({"name": name or "default", "id": session_id})
        fields["session_id"] = session["id"]
        fields["session_name"] = session["name"]

    def _session_named(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self._sessions.values() if s["name"] == name), None)

    def _new_session(self, body: dict[str, Any]) -> dict[str, Any]:
        session = {
            "id": str(body.get("id") or uuid.uuid4()),
            "name": body.get("name") or f"project-{uuid.uuid4().hex[:8]}",
            "description": body.get("description"),
            "start_time": body.get("start_time") or _iso(_now()),
            "end_time": body.get("end_time"),
            "extra": body.get("extra"),
            "reference_dataset_id": body.get("reference_dataset_id"),
            "tenant_id": TENANT_ID,
        }
        self._sessions[session["id"]] = session
        return session

    def _run_view(self, run: dict[str, Any]) -> dict[str, Any]:
        """A stored run as LangSmith answers it (ids, trace, project, feedback stats)."""
        view = copy.deepcopy(run)
        view.setdefault("trace_id", run["id"])
        view.setdefault("inputs", {})
        view["is_root"] = _is_root(run)
        view["project_id"] = run.get("session_id")
        view["thread_id"] = _thread_id(run)
        view["metadata"] = _metadata(run)
        view["status"] = "error" if run.get("error") else "success"
        view["feedback_stats"] = self._feedback_stats(self._feedback_for(run["id"]))
        view["app_path"] = f"/o/{TENANT_ID}/projects/p/{view['project_id']}/r/{run['id']}"
        return view

    def _feedback_for(self, run_id: str) -> list[dict[str, Any]]:
        return [f for f in self._feedback.values() if str(f.get("run_id")) == str(run_id)]

    @staticmethod
    def _feedback_stats(feedback: Iterable[dict[str, Any]]) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for item in feedback:
            entry = stats.setdefault(item["key"], {"n": 0, "scores": [], "errors": 0})
            entry["n"] += 1
            entry["errors"] += 1 if item.get("error") else 0
            if item.get("score") is not None:
                entry["scores"].append(item["score"])
        for entry in stats.values():
            scores = entry.pop("scores")
            entry["avg"] = sum(scores) / len(scores) if scores else None
        return stats

    # -- run queries -----------------------------------------------------------------------------
    def _select_runs(self, criteria: dict[str, Any]) -> list[dict[str, Any]]:
        """Stored runs matching query criteria (shared by the v1 and v2 run queries)."""
        expression = _parse_filter(criteria["filter"]) if criteria.get("filter") else None
        with self._lock:
            runs = [run for run in self._runs.values() if self._run_matches(run, criteria)]
            if expression is not None:
                runs = [run for run in runs if self._filter_matches(run, expression)]
            return sorted(
                (self._run_view(run) for run in runs),
                key=lambda run: (str(run.get("start_time") or ""), str(run["id"])),
            )

    def _run_matches(self, run: dict[str, Any], criteria: dict[str, Any]) -> bool:
        checks = (
            ("projects", lambda wanted: str(run.get("session_id")) in wanted),
            ("ids", lambda wanted: str(run["id"]) in wanted),
            ("trace_id", lambda wanted: str(run.get("trace_id") or run["id"]) == wanted),
            ("is_root", lambda wanted: _is_root(run) == wanted),
            ("run_type", lambda wanted: run.get("run_type") == wanted),
            ("min_start_time", lambda wanted: _start(run) >= wanted),
            ("max_start_time", lambda wanted: _start(run) < wanted),
        )
        return all(check(criteria[key]) for key, check in checks if criteria.get(key) is not None)

    def _filter_matches(self, run: dict[str, Any], expression: Any) -> bool:
        """True when the expression holds for the run with one of its feedbacks (or none)."""
        candidates: list[dict[str, Any] | None] = [None, *self._feedback_for(run["id"])]
        return any(_evaluate(expression, run, feedback) for feedback in candidates)

    # -- handlers: ingestion ---------------------------------------------------------------------
    def _info(self, request: Request) -> Response:
        return HTTPStatus.OK, self.info

    def _create_run(self, request: Request) -> Response:
        self._store("post", request.json())
        return HTTPStatus.ACCEPTED, {}

    def _update_run(self, request: Request) -> Response:
        fields = request.json()
        fields["id"] = request.match["run_id"]
        self._store("patch", fields)
        return HTTPStatus.ACCEPTED, {}

    def _batch(self, request: Request) -> Response:
        body = request.json() or {}
        for operation in ("post", "patch"):
            for fields in body.get(operation) or []:
                self._store(operation, fields)
        return HTTPStatus.ACCEPTED, {}

    def _multipart(self, request: Request) -> Response:
        boundary = multipart_boundary(request.headers.get("content-type", ""))
        if boundary is None:
            return HTTPStatus.BAD_REQUEST, {"detail": "multipart body without a boundary"}
        operations: dict[tuple[str, str], dict[str, Any]] = {}
        for name, data in _multipart_parts(request.body, boundary):
            kind, _, rest = name.partition(".")
            if kind == "feedback":
                self._upsert_feedback(json.loads(data))
                continue
            if kind not in ("post", "patch"):
                continue  # attachment.* parts: not stored
            run_id, _, part = rest.partition(".")
            fields = operations.setdefault((kind, run_id), {"id": run_id})
            if not part:
                fields.update(json.loads(data))
            elif part in _RUN_PART_FIELDS:
                fields[part] = json.loads(data)
        for (kind, _run_id), fields in operations.items():
            self._store(kind, fields)
        return HTTPStatus.ACCEPTED, {}

    # -- handlers: runs --------------------------------------------------------------------------
    def _read_run(self, request: Request) -> Response:
        with self._lock:
            run = self._runs.get(request.match["run_id"])
            if run is None:
                return HTTPStatus.NOT_FOUND, {"detail": "run not found"}
            view = self._run_view(run)
        return HTTPStatus.OK, _v2_run(view) if request.path.startswith("/api/v2") else view

    def _query_runs_v1(self, request: Request) -> Response:
        body = request.json() or {}
        criteria = {
            "projects": {str(s) for s in body.get("session") or []} or None,
            "ids": {str(i) for i in body.get("id") or []} or None,
            "trace_id": body.get("trace"),
            "is_root": body.get("is_root"),
            "run_type": body.get("run_type"),
            "min_start_time": _parse_time(body.get("start_time")),
            "max_start_time": _parse_time(body.get("end_time")),
            "filter": body.get("filter"),
        }
        runs = self._select_runs(criteria)
        page, cursor = _page(runs, body.get("cursor"), int(body.get("limit") or 100))
        return HTTPStatus.OK, {"runs": page, "cursors": {"next": cursor}}

    def _query_runs_v2(self, request: Request) -> Response:
        body = request.json() or {}
        criteria = {
            "projects": {str(p) for p in body.get("project_ids") or []} or None,
            "ids": {str(i) for i in body.get("ids") or []} or None,
            "trace_id": body.get("trace_id"),
            "is_root": body.get("is_root"),
            "run_type": body.get("run_type"),
            "min_start_time": _parse_time(body.get("min_start_time")) or _now() - _DEFAULT_WINDOW,
            "max_start_time": _parse_time(body.get("max_start_time")),
            "filter": body.get("filter"),
        }
        runs = self._select_runs(criteria)
        page, cursor = _page(runs, body.get("cursor"), int(body.get("page_size") or 100))
        selects = body.get("selects") or []
        return HTTPStatus.OK, _items([_select(run, selects) for run in page], cursor)

    # -- handlers: projects ----------------------------------------------------------------------
    def _create_session(self, request: Request) -> Response:
        body = request.json() or {}
        with self._lock:
            existing = self._session_named(body.get("name") or "")
            if existing is not None:
                if _as_bool(request.arg("upsert")):
                    return HTTPStatus.OK, existing
                return HTTPStatus.CONFLICT, {"detail": f"project {body['name']!r} already exists"}
            return HTTPStatus.OK, self._new_session(body)

    def _matching_sessions(self, request: Request) -> list[dict[str, Any]]:
        name, contains = request.arg("name"), request.arg("name_contains")
        ids = set(request.args("id"))
        datasets = set(request.args("reference_dataset") + request.args("reference_dataset_id"))
        with self._lock:
            return [
                s
                for s in self._sessions.values()
                if (name is None or s["name"] == name)
                and (contains is None or contains in s["name"])
                and (not ids or s["id"] in ids)
                and (not datasets or str(s.get("reference_dataset_id")) in datasets)
            ]

    def _list_sessions(self, request: Request) -> Response:
        return HTTPStatus.OK, _offset_page(self._matching_sessions(request), request)

    def _list_sessions_v2(self, request: Request) -> Response:
        sessions = copy.deepcopy(self._matching_sessions(request))
        size = int(request.arg("page_size") or 20)
        page, cursor = _page(sessions, request.arg("cursor"), size)
        return HTTPStatus.OK, _items(page, cursor)

    def _read_session(self, request: Request) -> Response:
        with self._lock:
            session = self._sessions.get(request.match["session_id"])
        if session is None:
            return HTTPStatus.NOT_FOUND, {"detail": "project not found"}
        return HTTPStatus.OK, session

    def _update_session(self, request: Request) -> Response:
        with self._lock:
            session = self._sessions.get(request.match["session_id"])
            if session is None:
                return HTTPStatus.NOT_FOUND, {"detail": "project not found"}
            session.update({k: v for k, v in (request.json() or {}).items() if v is not None})
            return HTTPStatus.OK, session

    # -- handlers: threads -----------------------------------------------------------------------
    def _thread_roots(self, project_id: str) -> dict[str, list[dict[str, Any]]]:
        """Root runs of a project grouped by thread id, each list in start-time order."""
        threads: dict[str, list[dict[str, Any]]] = {}
        for run in self._select_runs({"projects": {project_id}, "is_root": True}):
            if run["thread_id"]:
                threads.setdefault(run["thread_id"], []).append(run)
        return threads

    def _query_threads(self, request: Request) -> Response:
        body = request.json() or {}
        low = _parse_time(body.get("min_start_time")) or _now() - _DEFAULT_WINDOW
        high = _parse_time(body.get("max_start_time"))
        threads = self._thread_roots(str(body.get("project_id")))
        if body.get("filter") and self.thread_filters:
            expression = _parse_filter(body["filter"])
            threads = {
                thread_id: traces
                for thread_id, traces in threads.items()
                if any(self._filter_matches(self.run(t["id"]), expression) for t in traces)
            }
        summaries = [
            _thread_summary(thread_id, traces, self._feedback_stats(self._thread_feedback(traces)))
            for thread_id, traces in threads.items()
        ]
        summaries = [
            s
            for s in summaries
            if _start(s, "max_start_time") >= low
            and (high is None or _start(s, "max_start_time") < high)
        ]
        summaries.sort(key=lambda s: str(s["max_start_time"]), reverse=True)
        page, cursor = _page(summaries, body.get("cursor"), int(body.get("page_size") or 20))
        return HTTPStatus.OK, _items(page, cursor)

    def _thread_feedback(self, traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            return [f for trace in traces for f in self._feedback_for(trace["id"])]

    def _thread_traces(self, request: Request) -> Response:
        project_id = request.arg("project_id")
        if not project_id:
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": "project_id is required"}
        traces = self._thread_roots(project_id).get(request.match["thread_id"], [])
        rows = [_trace_row(trace, turn) for turn, trace in enumerate(traces, start=1)]
        size = int(request.arg("page_size") or 20)
        if not 1 <= size <= 100:
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": "page_size must be 1..100"}
        page, cursor = _page(rows, request.arg("cursor"), size)
        selects = request.args("selects")
        unknown = [
            s for s in selects if self.trace_selects is not None and s not in self.trace_selects
        ]
        if unknown:
            detail = [
                {"loc": ["query", "selects", selects.index(s)], "msg": f"unknown select {s!r}"}
                for s in unknown
            ]
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": detail}
        items = [_select_trace(row, selects) for row in page]
        return HTTPStatus.OK, _items(items, cursor)

    # -- handlers: feedback ----------------------------------------------------------------------
    def _upsert_feedback(self, body: dict[str, Any]) -> dict[str, Any]:
        feedback = dict(body)
        feedback["id"] = str(feedback.get("id") or uuid.uuid4())
        now = _iso(_now())
        with self._lock:
            previous = self._feedback.get(feedback["id"])
            feedback["created_at"] = (previous or {}).get("created_at") or now
            feedback["modified_at"] = now
            run = self._runs.get(str(feedback.get("run_id")), {})
            if feedback.get("session_id") is None:
                feedback["session_id"] = run.get("session_id")
            if feedback.get("trace_id") is None:
                feedback["trace_id"] = run.get("trace_id") or feedback.get("run_id")
            self._feedback[feedback["id"]] = feedback
        return feedback

    def _create_feedback(self, request: Request) -> Response:
        body = request.json()
        known = str(body.get("id")) in self._feedback if body.get("id") else False
        if known and self.feedback_duplicates == "conflict":
            return HTTPStatus.CONFLICT, {"detail": f"feedback {body['id']} already exists"}
        if known and self.feedback_duplicates == "duplicate":
            body = {**body, "id": None}  # stored again under a new id
        return HTTPStatus.OK, self._upsert_feedback(body)

    def _list_feedback(self, request: Request) -> Response:
        runs = set(request.args("run"))
        keys = set(request.args("key"))
        sessions = set(request.args("session"))
        sources = {s.lower() for s in request.args("source")}
        has_score = _as_bool(request.arg("has_score"))
        with self._lock:
            feedback = [
                f
                for f in self._feedback.values()
                if (not runs or str(f.get("run_id")) in runs)
                and (not keys or f["key"] in keys)
                and (not sessions or str(f.get("session_id")) in sessions)
                and (not sources or _source_type(f) in sources)
                and (has_score is None or (f.get("score") is not None) == has_score)
            ]
        return HTTPStatus.OK, _offset_page(feedback, request)

    def _read_feedback(self, request: Request) -> Response:
        with self._lock:
            feedback = self._feedback.get(request.match["feedback_id"])
        if feedback is None:
            return HTTPStatus.NOT_FOUND, {"detail": "feedback not found"}
        return HTTPStatus.OK, feedback

    def _update_feedback(self, request: Request) -> Response:
        with self._lock:
            feedback = self._feedback.get(request.match["feedback_id"])
            if feedback is None:
                return HTTPStatus.NOT_FOUND, {"detail": "feedback not found"}
            feedback.update(request.json() or {})
            feedback["modified_at"] = _iso(_now())
            return HTTPStatus.OK, feedback

    def _delete_feedback(self, request: Request) -> Response:
        with self._lock:
            removed = self._feedback.pop(request.match["feedback_id"], None)
        return (HTTPStatus.OK, {}) if removed else (HTTPStatus.NOT_FOUND, {"detail": "not found"})

    def _create_feedback_config(self, request: Request) -> Response:
        body = request.json() or {}
        config = {
            "feedback_key": body["feedback_key"],
            "feedback_config": body.get("feedback_config"),
            "is_lower_score_better": body.get("is_lower_score_better") or False,
            "tenant_id": TENANT_ID,
            "modified_at": _iso(_now()),
        }
        with self._lock:
            existing = self._feedback_configs.get(config["feedback_key"])
            if existing and existing["feedback_config"] != config["feedback_config"]:
                return HTTPStatus.BAD_REQUEST, {"detail": "Feedback config already exists"}
            self._feedback_configs.setdefault(config["feedback_key"], config)
            return HTTPStatus.OK, self._feedback_configs[config["feedback_key"]]

    # -- handlers: annotation queues -------------------------------------------------------------
    def _create_queue(self, request: Request) -> Response:
        body = {k: v for k, v in (request.json() or {}).items() if v is not None}
        now = _iso(_now())
        queue = {
            "description": None,
            "rubric_instructions": None,
            "rubric_items": [],
            "queue_type": "single",
            **body,
            "id": str(body.get("id") or uuid.uuid4()),
            "tenant_id": TENANT_ID,
            "created_at": now,
            "updated_at": now,
        }
        with self._lock:
            self._queues[queue["id"]] = queue
            self._queue_items[queue["id"]] = []
        return HTTPStatus.OK, queue

    def _list_queues(self, request: Request) -> Response:
        name = request.arg("name")
        contains = request.arg("name_contains")
        ids = set(request.args("ids"))
        with self._lock:
            queues = [
                {**q, "total_runs": len(self._queue_items.get(q["id"], []))}
                for q in self._queues.values()
                if (name is None or q["name"] == name)
                and (contains is None or contains in q["name"])
                and (not ids or q["id"] in ids)
            ]
        return HTTPStatus.OK, _offset_page(queues, request)

    def _read_queue(self, request: Request) -> Response:
        with self._lock:
            queue = self._queues.get(request.match["queue_id"])
        if queue is None:
            return HTTPStatus.NOT_FOUND, {"detail": "annotation queue not found"}
        return HTTPStatus.OK, queue

    def _delete_queue(self, request: Request) -> Response:
        with self._lock:
            removed = self._queues.pop(request.match["queue_id"], None)
            self._queue_items.pop(request.match["queue_id"], None)
        return (HTTPStatus.OK, {}) if removed else (HTTPStatus.NOT_FOUND, {"detail": "not found"})

    def _add_queue_items(self, request: Request) -> Response:
        queue_id = request.match["queue_id"]
        items = (request.json() or {}).get("items") or []
        if len(items) > _MAX_QUEUE_ITEMS_PER_REQUEST:
            detail = f"at most {_MAX_QUEUE_ITEMS_PER_REQUEST} items per request, got {len(items)}"
            return HTTPStatus.BAD_REQUEST, {"detail": detail}
        problems = [problem for item in items if (problem := _queue_item_problem(item))]
        if problems:
            return HTTPStatus.BAD_REQUEST, {"detail": "; ".join(problems)}
        with self._lock:
            if queue_id not in self._queues:
                return HTTPStatus.NOT_FOUND, {"detail": "annotation queue not found"}
            created = [_queue_item(queue_id, item) for item in items]
            self._queue_items[queue_id].extend(created)
        return HTTPStatus.OK, {"items": created}

    def _list_queue_items(self, request: Request) -> Response:
        queue_id = request.match["queue_id"]
        status = request.arg("status")
        if status not in ("needs_my_review", "needs_others_review", "archived"):
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": "status is required"}
        item_type = request.arg("item_type")
        with self._lock:
            if queue_id not in self._queues:
                return HTTPStatus.NOT_FOUND, {"detail": "annotation queue not found"}
            items = [
                item
                for item in self._queue_items[queue_id]
                if _item_status(item) == status
                and (item_type is None or item["item_type"] == item_type)
            ]
        page, cursor = _page(items, request.arg("cursor"), int(request.arg("page_size") or 100))
        page = [self._listed_item(item) for item in page]
        return HTTPStatus.OK, _items(page, cursor)

    def _listed_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """A queue item naming its project with :attr:`queue_item_project_key` only."""
        listed = {key: value for key, value in item.items() if key != "project_id"}
        listed[self.queue_item_project_key] = item["project_id"]
        return listed

    # -- handlers: datasets and examples ---------------------------------------------------------
    def _create_dataset(self, request: Request) -> Response:
        body = request.json() or {}
        now = _iso(_now())
        dataset = {
            **body,
            "id": str(body.get("id") or uuid.uuid4()),
            "tenant_id": TENANT_ID,
            "created_at": now,
            "modified_at": now,
            "example_count": 0,
            "session_count": 0,
        }
        with self._lock:
            if any(d["name"] == dataset["name"] for d in self._datasets.values()):
                return HTTPStatus.CONFLICT, {"detail": f"dataset {dataset['name']!r} exists"}
            self._datasets[dataset["id"]] = dataset
        return HTTPStatus.OK, dataset

    def _list_datasets(self, request: Request) -> Response:
        name = request.arg("name")
        ids = set(request.args("id"))
        with self._lock:
            datasets = [
                self._dataset_view(d)
                for d in self._datasets.values()
                if (name is None or d["name"] == name) and (not ids or d["id"] in ids)
            ]
        return HTTPStatus.OK, _offset_page(datasets, request)

    def _read_dataset(self, request: Request) -> Response:
        with self._lock:
            dataset = self._datasets.get(request.match["dataset_id"])
            if dataset is None:
                return HTTPStatus.NOT_FOUND, {"detail": "dataset not found"}
            return HTTPStatus.OK, self._dataset_view(dataset)

    def _dataset_view(self, dataset: dict[str, Any]) -> dict[str, Any]:
        count = sum(1 for e in self._examples.values() if e["dataset_id"] == dataset["id"])
        return {**dataset, "example_count": count, "session_count": 0}

    def _dataset_version(self, request: Request) -> Response:
        with self._lock:
            dataset = self._datasets.get(request.match["dataset_id"])
        if dataset is None:
            return HTTPStatus.NOT_FOUND, {"detail": "dataset not found"}
        return HTTPStatus.OK, {"as_of": dataset["modified_at"], "tags": ["latest"]}

    def _create_examples(self, request: Request) -> Response:
        return HTTPStatus.OK, self._store_examples(request.json() or [])

    def _upload_examples(self, request: Request) -> Response:
        """The multipart examples endpoint, served only when ``/info`` advertises it."""
        flags = self.info.get("instance_flags") or {}
        if not flags.get("dataset_examples_multipart_enabled"):
            return HTTPStatus.NOT_FOUND, {"detail": f"Not Found: POST {request.path}"}
        boundary = multipart_boundary(request.headers.get("content-type", ""))
        if boundary is None:
            return HTTPStatus.BAD_REQUEST, {"detail": "multipart body without a boundary"}
        bodies: dict[str, dict[str, Any]] = {}
        for name, data in _multipart_parts(request.body, boundary):
            example_id, _, part = name.partition(".")
            body = bodies.setdefault(example_id, {"id": example_id})
            if not part:
                body.update(json.loads(data))
            elif part in ("inputs", "outputs"):
                body[part] = json.loads(data)
        dataset_id = request.match["dataset_id"]
        with self._lock:
            if any(example_id in self._examples for example_id in bodies):
                return HTTPStatus.CONFLICT, {"error": "an example with this id already exists"}
        created = self._store_examples([{**b, "dataset_id": dataset_id} for b in bodies.values()])
        ids = [example["id"] for example in created]
        return HTTPStatus.CREATED, {"count": len(ids), "example_ids": ids, "as_of": _iso(_now())}

    def _store_examples(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = _iso(_now())
        created = []
        with self._lock:
            for body in bodies:
                example = {
                    "inputs": {},
                    "outputs": None,
                    "metadata": None,
                    **body,
                    "id": str(body.get("id") or uuid.uuid4()),
                    "dataset_id": str(body["dataset_id"]),
                    "name": body.get("name") or f"#{uuid.uuid4().hex[:4]}",
                    "created_at": now,
                    "modified_at": now,
                }
                self._examples[example["id"]] = example
                created.append(example)
        return created

    def _list_examples(self, request: Request) -> Response:
        dataset = request.arg("dataset")
        ids = set(request.args("id"))
        splits = set(request.args("splits"))
        with self._lock:
            examples = [
                e
                for e in self._examples.values()
                if (dataset is None or e["dataset_id"] == dataset)
                and (not ids or e["id"] in ids)
                and (not splits or bool(splits & set(_splits(e))))
            ]
        return HTTPStatus.OK, _offset_page(examples, request)

    # -- handlers: online evaluation -------------------------------------------------------------
    def _create_rule(self, request: Request) -> Response:
        rule = {**(request.json() or {}), "id": str(uuid.uuid4()), "created_at": _iso(_now())}
        with self._lock:
            self._rules.append(rule)
        return HTTPStatus.OK, _rule_v1(rule)

    def _list_rules(self, request: Request) -> Response:
        return HTTPStatus.OK, [_rule_v1(rule) for rule in self.rules]

    def _list_rules_v2(self, request: Request) -> Response:
        """The stored rules as the SDK's ``Rule``, newest first, in ``{"items", "next_cursor"}``."""
        if not self.rules_v2:
            return HTTPStatus.NOT_FOUND, {"detail": f"Not Found: GET {request.path}"}
        size = int(request.arg("page_size") or _RULES_V2_PAGE_SIZE)
        if size < 1:
            msg = f"page_size must be at least 1, got {size}"
            raise ValueError(msg)
        if request.arg("type") not in (None, "PROJECT", "DATASET"):
            msg = f"type must be PROJECT or DATASET, got {request.arg('type')!r}"
            raise ValueError(msg)
        with self._lock:
            names = {key: str(session["name"]) for key, session in self._sessions.items()}
        rules = [_rule_v2(rule, names) for rule in self.rules]
        rules = [rule for rule in rules if _rule_v2_matches(rule, request)]
        rules.sort(key=lambda rule: (str(rule["updated_at"]), str(rule["id"])), reverse=True)
        page, cursor = _page(rules, request.arg("cursor"), size)
        return HTTPStatus.OK, _items(page, cursor)

    def _create_evaluator(self, request: Request) -> Response:
        evaluator = {**(request.json() or {}), "id": str(uuid.uuid4()), "created_at": _iso(_now())}
        with self._lock:
            self._evaluators.append(evaluator)
        return HTTPStatus.CREATED, {"evaluator": evaluator}

    def _list_evaluators(self, request: Request) -> Response:
        evaluators = self.evaluators
        page = _offset_page(evaluators, request)
        return HTTPStatus.OK, {"evaluators": page, "total": len(evaluators)}

    def _read_evaluator(self, request: Request) -> Response:
        wanted = request.match["evaluator_id"]
        found = next((e for e in self.evaluators if e["id"] == wanted), None)
        if found is None:
            return HTTPStatus.NOT_FOUND, {"detail": "evaluator not found"}
        with self._lock:
            status = self.evaluator_builds.pop(0) if len(self.evaluator_builds) > 1 else None
            status = status or (self.evaluator_builds[0] if self.evaluator_builds else None)
        if status is not None and found.get("code_evaluator") is not None:
            found["code_evaluator"]["evaluator_build_status"] = status
            if status == "FAILED":
                found["code_evaluator"]["evaluator_build_error"] = self.evaluator_build_error
        return HTTPStatus.OK, found

    # -- routing ---------------------------------------------------------------------------------
    # Paths are matched after stripping a leading /api/v1; /api/v2 routes keep their prefix.
    _ROUTES: tuple[tuple[str, re.Pattern[str], _Handler], ...] = (
        # ingestion
        ("GET", re.compile(r"/info/?"), _info),
        ("POST", re.compile(r"/runs/?"), _create_run),
        ("POST", re.compile(r"/runs/batch/?"), _batch),
        ("POST", re.compile(r"/runs/multipart/?"), _multipart),
        ("PATCH", re.compile(rf"/runs/(?P<run_id>{_UUID})/?"), _update_run),
        # runs
        ("POST", re.compile(r"/runs/query/?"), _query_runs_v1),
        ("POST", re.compile(r"/api/v2/runs/query/?"), _query_runs_v2),
        ("GET", re.compile(rf"(?:/api/v2)?/runs/(?P<run_id>{_UUID})/?"), _read_run),
        # projects
        ("POST", re.compile(r"/sessions/?"), _create_session),
        ("GET", re.compile(r"/sessions/?"), _list_sessions),
        ("GET", re.compile(r"/api/v2/sessions/?"), _list_sessions_v2),
        ("GET", re.compile(rf"(?:/api/v2)?/sessions/(?P<session_id>{_UUID})/?"), _read_session),
        ("PATCH", re.compile(rf"/sessions/(?P<session_id>{_UUID})/?"), _update_session),
        # threads
        ("POST", re.compile(r"/api/v2/threads/query/?"), _query_threads),
        ("GET", re.compile(r"/api/v2/threads/(?P<thread_id>[^/]+)/traces/?"), _thread_traces),
        # feedback
        ("POST", re.compile(r"/feedback/?"), _create_feedback),
        ("GET", re.compile(r"/feedback/?"), _list_feedback),
        ("GET", re.compile(rf"/feedback/(?P<feedback_id>{_UUID})/?"), _read_feedback),
        ("PATCH", re.compile(rf"/feedback/(?P<feedback_id>{_UUID})/?"), _update_feedback),
        ("DELETE", re.compile(rf"/feedback/(?P<feedback_id>{_UUID})/?"), _delete_feedback),
        ("POST", re.compile(r"/feedback-configs/?"), _create_feedback_config),
        # annotation queues
        ("POST", re.compile(r"/annotation-queues/?"), _create_queue),
        ("GET", re.compile(r"/annotation-queues/?"), _list_queues),
        ("GET", re.compile(rf"/annotation-queues/(?P<queue_id>{_UUID})/?"), _read_queue),
        ("DELETE", re.compile(rf"/annotation-queues/(?P<queue_id>{_UUID})/?"), _delete_queue),
        (
            "POST",
            re.compile(rf"/platform/annotation-queues/(?P<queue_id>{_UUID})/items/?"),
            _add_queue_items,
        ),
        (
            "GET",
            re.compile(rf"/platform/annotation-queues/(?P<queue_id>{_UUID})/items/?"),
            _list_queue_items,
        ),
        # datasets and examples
        ("POST", re.compile(r"/datasets/?"), _create_dataset),
        ("GET", re.compile(r"/datasets/?"), _list_datasets),
        ("GET", re.compile(rf"/datasets/(?P<dataset_id>{_UUID})/?"), _read_dataset),
        ("GET", re.compile(rf"/datasets/(?P<dataset_id>{_UUID})/version/?"), _dataset_version),
        ("POST", re.compile(r"/examples/bulk/?"), _create_examples),
        (
            "POST",
            re.compile(rf"(?:/v1)?/platform/datasets/(?P<dataset_id>{_UUID})/examples/?"),
            _upload_examples,
        ),
        ("GET", re.compile(r"/examples/?"), _list_examples),
        # online evaluation
        ("POST", re.compile(r"/runs/rules/?"), _create_rule),
        ("GET", re.compile(r"/runs/rules/?"), _list_rules),
        ("GET", re.compile(r"/api/v2/runs/rules/?"), _list_rules_v2),
        ("POST", re.compile(r"/platform/evaluators/?"), _create_evaluator),
        ("GET", re.compile(r"/platform/evaluators/?"), _list_evaluators),
        ("GET", re.compile(rf"/platform/evaluators/(?P<evaluator_id>{_UUID})/?"), _read_evaluator),
    )

    def _dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        found = find_route(self._ROUTES, method, raw_path, headers, body, prefix=_API_PREFIX)
        if found is None or (not self.v2 and found[1].path.startswith("/api/v2/")):
            return HTTPStatus.NOT_FOUND, {"detail": f"Not Found: {method} {raw_path}"}
        handler, request = found
        try:
            return handler(self, request)
        except (ValueError, KeyError, TypeError, IndexError) as e:
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": f"{type(e).__name__}: {e}"}

    def _check_contract(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, answer: Response
    ) -> None:
        """Record how the request and the answer differ from the OpenAPI spec."""
        if self.contract is None:
            return
        content_type = headers.get("content-type", "")
        found = self.contract.check_request(method, raw_path, content_type, body)
        found += self.contract.check_response(method, raw_path, int(answer[0]), answer[1])
        for mismatch in found:
            known = any(deviation.covers(mismatch) for deviation in KNOWN_DEVIATIONS)
            with self._lock:
                (self.deviations if known else self.mismatches).append(mismatch)

    def _answer(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, payload and extra headers: an injected fault, else the routed answer."""
        fault = self._take_fault(raw_path)
        if fault is None:
            status, payload = self._dispatch(method, raw_path, headers, body)
            return status, payload, {}
        extra = {}
        if fault.status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
            extra = {
                "Retry-After": f"{fault.retry_after:g}",
                "retry-after-ms": f"{fault.retry_after * 1000:g}",
            }
        return fault.status, {"detail": f"injected fault {fault.status}"}, extra


# -- response shaping ------------------------------------------------------------------------------

_RUN_SELECTS = {
    "ID": "id",
    "NAME": "name",
    "RUN_TYPE": "run_type",
    "STATUS": "status",
    "START_TIME": "start_time",
    "END_TIME": "end_time",
    "ERROR": "error",
    "EXTRA": "extra",
    "METADATA": "metadata",
    "INPUTS": "inputs",
    "OUTPUTS": "outputs",
    "PROJECT_ID": "project_id",
    "TRACE_ID": "trace_id",
    "THREAD_ID": "thread_id",
    "DOTTED_ORDER": "dotted_order",
    "IS_ROOT": "is_root",
    "REFERENCE_EXAMPLE_ID": "reference_example_id",
    "TAGS": "tags",
    "FEEDBACK_STATS": "feedback_stats",
}
_TRACE_SELECTS = {
    "THREAD_ID": "thread_id",
    "TRACE_ID": "trace_id",
    "START_TIME": "start_time",
    "END_TIME": "end_time",
    "INPUTS": "inputs",
    "OUTPUTS": "outputs",
    "INPUTS_PREVIEW": "inputs_preview",
    "OUTPUTS_PREVIEW": "outputs_preview",
    "ERROR": "error",
    "NAME": "name",
    "TURN_NUMBER": "turn_number",
}


def _select(run: dict[str, Any], selects: list[str]) -> dict[str, Any]:
    """A v2 run with only the selected fields (``id`` always; only ``id`` when none)."""
    keys = {"id"} | {_RUN_SELECTS[s] for s in selects if s in _RUN_SELECTS}
    return {key: value for key, value in _v2_run(run).items() if key in keys}


def _v2_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run view as the v2 API answers it: enums upper-case, null fields left out."""
    upper = {key: str(run[key]).upper() for key in ("status", "run_type") if run.get(key)}
    return {key: value for key, value in {**run, **upper}.items() if value is not None}


def _trace_row(trace: dict[str, Any], turn: int) -> dict[str, Any]:
    return {
        "thread_id": trace["thread_id"],
        "trace_id": trace["trace_id"],
        "start_time": trace.get("start_time"),
        "end_time": trace.get("end_time"),
        "inputs": trace.get("inputs"),
        "outputs": trace.get("outputs"),
        "inputs_preview": _preview(trace.get("inputs")),
        "outputs_preview": _preview(trace.get("outputs")),
        "error": trace.get("error"),
        "name": trace.get("name"),
        "turn_number": turn,
    }


def _select_trace(row: dict[str, Any], selects: list[str]) -> dict[str, Any]:
    """A thread trace with only the selected fields (``trace_id`` always)."""
    keys = {"trace_id"} | {_TRACE_SELECTS[s] for s in selects if s in _TRACE_SELECTS}
    return {key: row[key] for key in keys}


def _thread_summary(
    thread_id: str, traces: list[dict[str, Any]], feedback_stats: dict[str, Any]
) -> dict[str, Any]:
    first, last = traces[0], traces[-1]
    return {
        "thread_id": thread_id,
        "count": len(traces),
        "first_trace_id": first["trace_id"],
        "last_trace_id": last["trace_id"],
        "min_start_time": first.get("start_time"),
        "max_start_time": last.get("start_time"),
        "start_time": last.get("start_time"),
        "first_inputs": _preview(first.get("inputs")),
        "last_outputs": _preview(last.get("outputs")),
        "num_errored_turns": sum(1 for t in traces if t.get("error")),
        "feedback_stats": feedback_stats,
    }


def _start(record: dict[str, Any], key: str = "start_time") -> datetime:
    return _parse_time(record.get(key)) or datetime.min.replace(tzinfo=timezone.utc)


def _offset_page(items: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    offset = int(request.arg("offset") or 0)
    limit = int(request.arg("limit") or 100)
    return copy.deepcopy(items[offset : offset + limit])


def _source_type(feedback: dict[str, Any]) -> str:
    source = feedback.get("feedback_source") or {}
    return str(source.get("type") or "").lower()


def _splits(example: dict[str, Any]) -> list[str]:
    split = (example.get("metadata") or {}).get("dataset_split") or example.get("split") or []
    return [split] if isinstance(split, str) else list(split)


def _rule_v1(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule as the v1 API answers it: the spec's required fields filled in."""
    defaults = {"tenant_id": TENANT_ID, "webhooks": [], "evaluator_version": 1}
    return {**defaults, **rule, "updated_at": rule.get("updated_at") or rule["created_at"]}


def _rule_v2(rule: dict[str, Any], project_names: dict[str, str]) -> dict[str, Any]:
    """A stored (v1) rule in the v2 shape: ``session_id`` becomes ``project_id``."""
    v2 = {**_RULE_V2_DEFAULTS, **rule}
    project_id = v2.pop("session_id", None)
    v2["project_id"] = None if project_id is None else str(project_id)
    v2["project_name"] = project_names.get(str(project_id))
    v2["tenant_id"] = TENANT_ID
    v2["updated_at"] = rule.get("updated_at") or rule["created_at"]
    if isinstance(v2.get("group_by"), str):
        v2["group_by"] = v2["group_by"].upper()  # v2 types it "THREAD_ID" | "TRAJECTORY_ID"
    return v2


def _rule_v2_matches(rule: dict[str, Any], request: Request) -> bool:
    """Whether a v2 rule passes the ``list_v2`` filters of ``request`` (all of them: AND)."""
    for key in ("project_id", "dataset_id", "evaluator_id"):
        wanted = request.arg(key)
        if wanted is not None and str(rule.get(key)) != wanted:
            return False
    ids = request.args("id")
    if ids and str(rule["id"]) not in ids:
        return False
    name = request.arg("name_contains")
    if name is not None and name.lower() not in str(rule.get("display_name") or "").lower():
        return False
    kind = request.arg("type")
    return kind is None or bool(rule.get("project_id" if kind == "PROJECT" else "dataset_id"))


def _queue_item_problem(item: dict[str, Any]) -> str | None:
    kind = item.get("item_type")
    if kind == "RUN":
        return None if item.get("run_id") else "a RUN item needs run_id"
    if kind == "THREAD":
        if item.get("thread_id") and (item.get("project_id") or item.get("session_id")):
            return None
        return "a THREAD item needs thread_id and project_id"
    return f"item_type must be RUN or THREAD, got {kind!r}"


def _queue_item(queue_id: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "queue_id": queue_id,
        "item_type": item["item_type"],
        "run_id": item.get("run_id"),
        "thread_id": item.get("thread_id"),
        "project_id": item.get("project_id") or item.get("session_id"),
        "start_time": item.get("start_time"),
        "added_at": _iso(_now()),
        "last_reviewed_time": None,
        "completed_by": [],
    }


def _item_status(item: dict[str, Any]) -> str:
    return "archived" if item.get("completed_by") else "needs_my_review"


def _multipart_parts(body: bytes, boundary: str) -> list[tuple[str, bytes]]:
    """(form field name, raw bytes) of each part of a multipart/form-data body."""
    parts: list[tuple[str, bytes]] = []
    for head, data in multipart_sections(body, boundary):
        match = re.search(rb'name="([^"]+)"', head)
        if match:
            parts.append((match.group(1).decode(), data))
    return parts


def _decode_body(body: bytes, encoding: str | None) -> bytes:
    if encoding == "zstd":
        with zstandard.ZstdDecompressor().stream_reader(body) as reader:
            return reader.read()
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


def _make_handler(app: LocalLangSmith) -> type[QuietHandler]:
    class _RequestHandler(QuietHandler):
        def do_PATCH(self) -> None:
            self.handle_request()

        def handle_request(self) -> None:
            encoding = self.headers.get("Content-Encoding")
            status: int
            payload: Any
            extra: dict[str, str] = {}
            try:
                body = _decode_body(self.read_body(), encoding)
            except (OSError, ValueError, zstandard.ZstdError) as e:
                status, payload = HTTPStatus.BAD_REQUEST, {"detail": f"bad body: {e}"}
            else:
                headers = self.lowered_headers()
                status, payload, extra = app._answer(self.command, self.path, headers, body)
                payload = json.loads(json.dumps(payload, default=str))
                app._check_contract(self.command, self.path, headers, body, (status, payload))
            with app._lock:
                app.requests.append(CapturedRequest(self.command, self.path, int(status), encoding))
            data = json.dumps(payload, default=str).encode()
            self.send_body(status, data, "application/json", extra)

    return _RequestHandler
