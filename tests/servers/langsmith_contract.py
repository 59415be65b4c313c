"""Check LangSmith traffic against LangSmith's published OpenAPI document (a contract test).

The document is ``langsmith-openapi.json`` in the workspace's ``shared/specs/`` folder (found by
walking up from this file, or named by ``LANGSMITH_OPENAPI_SPEC``); it is read at run time and
never copied into the repository (see ``shared/specs/README.md``: spec last updated 2026-05-21).

:class:`OpenAPIContract` matches a request to the spec's path and method, then validates with
``jsonschema`` (Draft 2020-12, the dialect of OpenAPI 3.1; the spec's ``#/components`` are
resolved through a ``referencing`` registry holding the whole document):

- the request: every documented query and path parameter (query strings coerced to the numbers,
  booleans or arrays the schema asks for), required query parameters, and a JSON body against
  the operation's ``application/json`` request schema (multipart bodies are not validated);
- the response: a 2xx status must be one the operation documents, and its JSON body must match
  that status's schema. Error answers (4xx, 5xx) are not checked: the local server's error bodies
  are its own.

Spec paths are written three ways (``/api/v1/runs/query``, ``/runs/multipart``,
``/v2/threads/query``) while the SDKs send ``/runs/query`` (hand-written client, api_url without
``/api/v1``), ``/api/v1/...`` and ``/api/v2/...`` (generated client): a request path is tried as
sent, with ``/api/v1`` added, and with ``/api`` removed.

Where the spec and the installed ``langsmith`` SDK disagree, :data:`KNOWN_DEVIATIONS` names each
case, the side these tests follow, and why. Any other mismatch fails the test that caused it
(:class:`~tests.servers.langsmith_capture.LocalLangSmith` checks every request it answers).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "KNOWN_DEVIATIONS",
    "SPEC_ENV",
    "Deviation",
    "Mismatch",
    "OpenAPIContract",
    "find_spec",
    "load_contract",
]

SPEC_ENV = "LANGSMITH_OPENAPI_SPEC"
_SPEC_NAME = "langsmith-openapi.json"
_SPEC_URI = "urn:langsmith-openapi"
_METHODS = ("get", "post", "put", "patch", "delete")
_MESSAGE_LIMIT = 300

Side = Literal["request", "response"]


@dataclass(frozen=True)
class Mismatch:
    """One way a request or response differs from the spec."""

    method: str
    path: str
    """The request path as sent (no query)."""
    spec_path: str | None
    """The spec's path template, or None when no spec path matches."""
    side: Side
    message: str

    def render(self) -> str:
        where = self.spec_path or "(not in the spec)"
        return f"{self.side} {self.method} {self.path} [{where}]: {self.message}"


@dataclass(frozen=True)
class Deviation:
    """A known difference between the spec and the SDK, and the side the tests follow."""

    method: str
    spec_path: str | None
    """The spec path template, or None for a path the spec lacks."""
    path_pattern: str
    """A regular expression the request path (as sent) must match."""
    side: Side
    contains: str
    """A substring of the mismatch message."""
    follows: Literal["sdk", "spec"]
    reason: str

    def covers(self, mismatch: Mismatch) -> bool:
        return (
            mismatch.method == self.method
            and mismatch.spec_path == self.spec_path
            and mismatch.side == self.side
            and re.fullmatch(self.path_pattern, mismatch.path) is not None
            and self.contains in mismatch.message
        )


_UUID = r"[0-9a-fA-F-]{36}"

KNOWN_DEVIATIONS: tuple[Deviation, ...] = (
    # The generated SDK (langsmith 0.15.1) has these endpoints; the spec snapshot (2026-05-21)
    # does not document them. The tests follow the SDK: they are what the package calls.
    Deviation(
        "POST",
        None,
        rf"/api/v1/platform/annotation-queues/{_UUID}/items",
        "request",
        "no spec path",
        "sdk",
        "annotation_queues.items.create: the SDK's documented way to add RUN and THREAD items "
        "(the spec only has the older per-run /annotation-queues/{id}/runs)",
    ),
    Deviation(
        "GET",
        None,
        rf"/api/v1/platform/annotation-queues/{_UUID}/items",
        "request",
        "no spec path",
        "sdk",
        "annotation_queues.items.list: the SDK's way to list items of both types",
    ),
    Deviation(
        "GET",
        "/v2/runs/{run_id}",  # the spec lacks the path, so it falls into the run read
        r"/api/v2/runs/rules",
        "request",
        "query parameter",
        "sdk",
        "evaluators.list_v2 (attach tries it first and falls back to GET /api/v1/runs/rules "
        "on a 404, which the spec documents)",
    ),
    # Tracing (the SDK's run ingestion). The tests follow the SDK: it is what every traced
    # application sends, and LangSmith accepts it.
    Deviation(
        "PATCH",
        "/runs/{run_id}",
        rf"/runs/{_UUID}",
        "request",
        "is not of type 'string'",
        "sdk",
        "the SDK's run update sends session_id (and, for some runs, trace_id) as null; the spec "
        "types both as non-null strings",
    ),
    Deviation(
        "POST",
        None,
        r"/api/v1/runs",
        "request",
        "no spec path",
        "sdk",
        "with an api_url ending in /api/v1 (self-hosted) the SDK posts runs to /api/v1/runs; the "
        "spec documents ingestion only at /runs",
    ),
    Deviation(
        "PATCH",
        "/api/v1/runs/{run_id}",
        rf"/api/v1/runs/{_UUID}",
        "request",
        "content type 'application/json' is not documented",
        "sdk",
        "the same prefix: the SDK's run update lands on /api/v1/runs/{id}, which the spec "
        "documents without a request body (its ingestion PATCH is /runs/{run_id})",
    ),
    Deviation(
        "PATCH",
        "/api/v1/runs/{run_id}",
        rf"/api/v1/runs/{_UUID}",
        "response",
        "status 202 is not documented",
        "sdk",
        "the same prefix: ingestion answers 202 Accepted, as /runs/{run_id} documents",
    ),
    Deviation(
        "GET",
        None,
        rf"/api/v2/sessions(/{_UUID})?",
        "request",
        "no spec path",
        "sdk",
        "sessions.list_v2 / retrieve_v2 of the generated SDK (tests of the local server only)",
    ),
    # threads.list_traces: the package asks for INPUTS, OUTPUTS and TURN_NUMBER, which the SDK's
    # ThreadTraceSelect type accepts and the spec's ThreadTraceSelectField enum lacks. The tests
    # follow the SDK; the package falls back to the spec's selects when a server rejects them
    # (see langchain_perceived_error.online.threads).
    Deviation(
        "GET",
        "/v2/threads/{thread_id}/traces",
        r"/api/v2/threads/[^/]+/traces",
        "request",
        "query parameter 'selects'",
        "sdk",
        "ThreadTraceSelect of langsmith 0.15.1 has INPUTS/OUTPUTS/TURN_NUMBER; the spec enum "
        "(2026-05-21) does not",
    ),
)
"""Every known spec/SDK difference: anything else is a contract failure."""


def find_spec() -> Path | None:
    """The OpenAPI document: ``$LANGSMITH_OPENAPI_SPEC``, else ``shared/specs/`` in a parent."""
    named = os.environ.get(SPEC_ENV)
    if named:
        return Path(named)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "specs" / _SPEC_NAME
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def load_contract() -> OpenAPIContract | None:
    """The contract from :func:`find_spec`, read once per process; None when there is no spec."""
    path = find_spec()
    if path is None:
        return None
    return OpenAPIContract(json.loads(path.read_text(encoding="utf-8")))


def _pointer(*parts: str) -> str:
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return f"{_SPEC_URI}#/" + "/".join(escaped)


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern.replace("(?P<", "(?P<p_"))


class OpenAPIContract:
    """Request and response validation against one OpenAPI 3.1 document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        # Literal paths before templated ones, then fewer parameters first.
        self._paths = sorted(
            ((template, _template_regex(template)) for template in spec.get("paths", {})),
            key=lambda item: (item[0].count("{"), item[0]),
        )

    # -- matching --------------------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The spec path template for ``method path`` and its path parameters, or None."""
        candidates = [path]
        if not path.startswith("/api/"):
            candidates.append("/api/v1" + path)
        else:
            candidates.append(path.removeprefix("/api"))
        for candidate in candidates:
            for template, regex in self._paths:
                found = regex.fullmatch(candidate.rstrip("/") or "/")
                if found and method.lower() in self.spec["paths"][template]:
                    params = {k.removeprefix("p_"): v for k, v in found.groupdict().items()}
                    return template, params
        return None

    # -- checks ----------------------------------------------------------------------------------
    def check_request(
        self, method: str, raw_path: str, content_type: str, body: bytes
    ) -> list[Mismatch]:
        """How a request differs from the spec (empty when it conforms)."""
        split = urlsplit(raw_path)
        found = self.match(method, split.path)
        if found is None:
            return [Mismatch(method, split.path, None, "request", "no spec path for this method")]
        template, path_params = found
        problems = self._parameter_problems(method, template, path_params, split.query)
        problems.extend(self._body_problems(method, template, content_type, body))
        return [Mismatch(method, split.path, template, "request", p) for p in problems]

    def check_response(
        self, method: str, raw_path: str, status: int, payload: Any
    ) -> list[Mismatch]:
        """How a 2xx response differs from the spec (errors and unknown paths are not checked)."""
        split = urlsplit(raw_path)
        found = self.match(method, split.path)
        if found is None or not 200 <= status < 300:
            return []
        template = found[0]
        responses = self.spec["paths"][template][method.lower()].get("responses", {})
        key = next((k for k in (str(status), "2XX", "default") if k in responses), None)
        if key is None:
            documented = ", ".join(sorted(responses))
            message = f"status {status} is not documented (documented: {documented})"
            return [Mismatch(method, split.path, template, "response", message)]
        content = responses[key].get("content", {})
        if "application/json" not in content or "schema" not in content["application/json"]:
            return []
        pointer = _pointer(
            "paths", template, method.lower(), "responses", key, "content", "application/json"
        )
        error = self._error(pointer + "/schema", payload)
        if error is None:
            return []
        return [Mismatch(method, split.path, template, "response", f"{status} {error}")]

    # -- helpers ---------------------------------------------------------------------------------
    def _parameter_problems(
        self, method: str, template: str, path_params: dict[str, str], query: str
    ) -> list[str]:
        values = parse_qs(query, keep_blank_values=True)
        operation = self.spec["paths"][template][method.lower()]
        problems: list[str] = []
        for index, parameter in enumerate(operation.get("parameters", [])):
            parameter = self._resolve(parameter)
            where, name = parameter.get("in"), parameter.get("name")
            if where == "path":
                given = [path_params[name]] if name in path_params else []
            elif where == "query":
                given = values.get(name, [])
            else:
                continue
            if not given:
                if parameter.get("required") and where == "query":
                    problems.append(f"required query parameter {name!r} is missing")
                continue
            pointer = _pointer("paths", template, method.lower(), "parameters", str(index))
            error = self._parameter_error(pointer + "/schema", parameter.get("schema", {}), given)
            if error is not None:
                problems.append(f"{where} parameter {name!r}: {error}")
        return problems

    def _parameter_error(
        self, pointer: str, schema: dict[str, Any], given: list[str]
    ) -> str | None:
        """The first error of ``given`` (raw strings) against the parameter's schema, or None."""
        parsed = [_parse_scalar(value) for value in given]
        if _is_array(self._resolve(schema)):
            candidates: list[Any] = [given, parsed]
        else:
            candidates = [given[-1], parsed[-1]]
        errors = [self._error(pointer, candidate) for candidate in candidates]
        return None if None in errors else errors[0]

    def _body_problems(
        self, method: str, template: str, content_type: str, body: bytes
    ) -> list[str]:
        request_body = self._resolve(
            self.spec["paths"][template][method.lower()].get("requestBody") or {}
        )
        content = request_body.get("content", {})
        if not body:
            return ["a request body is required"] if request_body.get("required") else []
        media = content_type.split(";")[0].strip().lower() or "application/json"
        if media not in content:
            return [f"content type {media!r} is not documented (documented: {sorted(content)})"]
        if media != "application/json" or "schema" not in content[media]:
            return []  # multipart and other bodies: the parts are not validated
        try:
            document = json.loads(body)
        except ValueError as e:
            return [f"the body is not JSON: {e}"]
        pointer = _pointer("paths", template, method.lower(), "requestBody", "content", media)
        error = self._error(pointer + "/schema", document)
        return [] if error is None else [f"body {error}"]

    def _resolve(self, node: Any) -> Any:
        """``node`` with a top-level ``$ref`` followed (parameters, request bodies)."""
        while isinstance(node, dict) and "$ref" in node:
            node = self._registry.resolver(_SPEC_URI).lookup(node["$ref"]).contents
        return node

    def _error(self, pointer: str, instance: Any) -> str | None:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator({"$ref": pointer}, registry=self._registry)
            self._validators[pointer] = validator
        error = best_match(validator.iter_errors(instance))
        if error is None:
            return None
        return f"at {error.json_path}: {error.message}"[:_MESSAGE_LIMIT]


def _parse_scalar(value: str) -> Any:
    """A query string value as a server parses it: numbers, booleans (any case), else text."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_array(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "array":
        return True
    return any(_is_array(branch) for branch in schema.get("anyOf", []) + schema.get("oneOf", []))
