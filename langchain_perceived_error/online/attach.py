"""Attach the judge to a LangSmith project as an online evaluator that runs inside LangSmith.

DECISION: ``perceived-error attach`` creates a **code** evaluator that installs and runs THIS
package inside LangSmith, on threads, rather than an LLM evaluator whose prompt is pushed to
the prompt hub. The code evaluator is the same judge as offline and ``watch``: the same
transcript extraction and rendering, the eligibility skip with no model call, JSON validation
with format retries, and Fireworks Qwen 3.5 35B-A3B by default, so its scores are comparable
with every other score this package produces. An LLM evaluator would re-implement the judge
with LangSmith's own message rendering and output parsing, without the skip or the retries.
The price: it needs LangSmith's "advanced" code evaluators (a PyPI dependency and network
access from the evaluator sandbox), and the Fireworks key stored as a workspace secret named
``FIREWORKS_API_KEY``, which this command references by name only: the key is never sent,
read or printed by us. LangSmith injects the secret as a header on requests to the hosts the
secret allows (``api.fireworks.ai``); the evaluator code never sees it, so the code gives the
Fireworks client a placeholder key that LangSmith's header replaces.

What :func:`attach` does, each step idempotent (a GET first; an existing object is reused and
reported as such):

1. the evaluator: ``online_evaluators.create(name=..., type="code", code_evaluator={code,
   language: "python", dependencies: "langchain-perceived-error==<version>",
   code_evaluator_input: "thread", advanced_features_enabled: true, workspace_secrets_keys:
   ["FIREWORKS_API_KEY"]})`` -> ``POST /api/v1/platform/evaluators``. An evaluator with the same
   name is reused, with a warning if its code differs (it is not updated);
   LangSmith then builds the evaluator's dependencies; :func:`attach` waits for the build
   (``code_evaluator.evaluator_build_status``: ENQUEUED, BUILDING, READY or FAILED, read with
   ``online_evaluators.retrieve``) and fails loudly with LangSmith's build error on FAILED, or
   when the build is not READY within ``build_timeout_s``. A server that reports no build
   status (an older one) is not waited for;
2. the rule binding it to the project (the generated client has no create method for rules, so
   the client's generic ``post``): ``POST /api/v1/runs/rules {display_name, session_id,
   sampling_rate, group_by: "thread_id", evaluator_id}``. A rule of the project with that
   evaluator is reused;
3. with ``queue``: LangSmith's rule action ``add_to_annotation_queue_id`` queues EVERY run the
   rule matches, and a rule's ``filter`` is applied before its evaluator runs, so it cannot
   mean "only what this evaluator flagged". Flagged threads are therefore queued by a second
   rule on the same project filtered on the feedback, ``and(eq(feedback_key,
   "perceived_error"), eq(feedback_score, 1))``, whose action is ``add_to_annotation_queue_id``
   (the queue is created with the perceived-error rubric when missing). Whether that rule sees
   feedback written by the thread evaluator, and when, must be confirmed in a real workspace;
   ``perceived-error watch --queue`` and ``perceived-error queue --project`` are the paths this
   package tests end to end.

``dry_run`` returns the requests (method, path, JSON body) with placeholders for ids that only
LangSmith can give, and sends nothing, not even the GETs.

The evaluator code (:data:`EVALUATOR_CODE`, with the model spec filled in by
:func:`evaluator_code`) defines ``perform_eval(run, example=None)``. The thread payload LangSmith
passes is not documented, so it accepts the plausible shapes: a list of runs, a dict with
``runs`` or ``traces`` (lists of runs), a dict with ``messages``, or a single run. It returns
``{"perceived_error": 1 | 0}`` when judged, ``{}`` (no score) when the thread is not eligible,
and raises when the judge fails, so LangSmith records an error instead of a score.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from langsmith import APIError, NotFoundError

from langchain_perceived_error import __version__
from langchain_perceived_error.judge.models import DEFAULT_MODEL, FIREWORKS_KEY_VAR
from langchain_perceived_error.online.clients import LangSmithClients, resolve_project
from langchain_perceived_error.online.feedback import FEEDBACK_KEY
from langchain_perceived_error.online.queues import ensure_queue

__all__ = [
    "DEFAULT_BUILD_TIMEOUT_S",
    "DEFAULT_EVALUATOR_NAME",
    "EVALUATOR_CODE",
    "PACKAGE_NAME",
    "AttachError",
    "AttachResult",
    "PlannedRequest",
    "attach",
    "await_build",
    "evaluator_body",
    "evaluator_code",
    "flagged_filter",
    "plan_attach",
    "queue_rule_body",
    "rule_body",
]

logger = logging.getLogger(__name__)

PACKAGE_NAME = "langchain-perceived-error"
DEFAULT_EVALUATOR_NAME = "perceived_error"
_MODEL_PLACEHOLDER = "__PERCEIVED_ERROR_MODEL_SPEC__"
_EVALUATORS_PATH = "/api/v1/platform/evaluators"
_RULES_PATH = "/api/v1/runs/rules"
_PAGE_SIZE = 100
DEFAULT_BUILD_TIMEOUT_S = 900.0
"""How long :func:`attach` waits for LangSmith to build the evaluator's dependencies."""
_BUILD_POLL_S = 5.0
_BUILDING = ("ENQUEUED", "BUILDING")

EVALUATOR_CODE = '''\
"""perceived_error: did the user perceive that the assistant made a mistake?

Runs the langchain-perceived-error judge on a LangSmith thread. Returns
{"perceived_error": 1 | 0}; {} when the thread is not multi-turn (no score);
raises when the judge fails (LangSmith records an error).
"""
import os

MODEL = __PERCEIVED_ERROR_MODEL_SPEC__
_JUDGE = []


def _judge():
    if not _JUDGE:
        from langchain_perceived_error import PerceivedErrorJudge

        if MODEL.startswith("fireworks:"):
            # LangSmith sends the FIREWORKS_API_KEY workspace secret as a header to
            # api.fireworks.ai; the client only needs a non-empty placeholder here.
            os.environ.setdefault("FIREWORKS_API_KEY", "set-by-langsmith-workspace-secret")
        _JUDGE.append(PerceivedErrorJudge(MODEL))
    return _JUDGE[0]


def _as_data(value):
    for method in ("model_dump", "dict"):
        if not isinstance(value, (dict, list, tuple)) and hasattr(value, method):
            return getattr(value, method)()
    return value


def _record(run):
    run = _as_data(run)
    if isinstance(run, (list, tuple)):
        return {"runs": [_as_data(item) for item in run]}
    if isinstance(run, dict):
        for key in ("runs", "traces"):
            if isinstance(run.get(key), (list, tuple)):
                return {"runs": [_as_data(item) for item in run[key]]}
        if isinstance(run.get("messages"), (list, tuple)):
            return {"messages": list(run["messages"])}
    return run


def perform_eval(run, example=None):
    result = _judge().judge(_record(run))
    if result.status.value == "skipped":
        return {}
    if result.status.value == "failed":
        raise RuntimeError("perceived_error judge failed: " + str(result.error))
    return {"perceived_error": 1 if result.perceived_error else 0}
'''
"""The evaluator's source; :func:`evaluator_code` fills in the model spec."""


class AttachError(RuntimeError):
    """LangSmith refused or failed one of the attach requests (after the clients' retries)."""


@dataclass(frozen=True)
class PlannedRequest:
    """One request :func:`attach` sends (what ``--dry-run`` prints)."""

    method: str
    path: str
    body: dict[str, Any]

    def render(self) -> str:
        """``METHOD path`` and the JSON body, indented."""
        return f"{self.method} {self.path}\n{json.dumps(self.body, indent=2)}"


@dataclass
class AttachResult:
    """What :func:`attach` created or found."""

    project_id: str
    evaluator_id: str
    evaluator_created: bool
    rule_id: str
    rule_created: bool
    queue_id: str | None = None
    queue_rule_id: str | None = None
    queue_rule_created: bool = False
    build_status: str | None = None
    """The evaluator's last build status (READY), or None when the server reports none."""
    warnings: list[str] = field(default_factory=list)


def evaluator_code(model: str = DEFAULT_MODEL) -> str:
    """:data:`EVALUATOR_CODE` with ``model`` (a model spec string) filled in."""
    return EVALUATOR_CODE.replace(_MODEL_PLACEHOLDER, json.dumps(model))


def evaluator_body(name: str, model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """The body of ``POST /api/v1/platform/evaluators`` (``online_evaluators.create``).

    ``dependencies`` is a requirements string (the generated client types it as ``str``).
    The Fireworks workspace secret is named only when the model is a Fireworks model.
    """
    code: dict[str, Any] = {
        "code": evaluator_code(model),
        "language": "python",
        "dependencies": f"{PACKAGE_NAME}=={__version__}",
        "code_evaluator_input": "thread",
        "advanced_features_enabled": True,
        "workspace_secrets_keys": [FIREWORKS_KEY_VAR] if model.startswith("fireworks:") else [],
    }
    return {"name": name, "type": "code", "code_evaluator": code}


def rule_body(
    *, name: str, project: str, project_id: str, evaluator_id: str, sampling_rate: float
) -> dict[str, Any]:
    """The body of ``POST /api/v1/runs/rules`` binding the evaluator to the project's threads."""
    return {
        "display_name": f"{name} on {project}",
        "session_id": project_id,
        "sampling_rate": sampling_rate,
        "group_by": "thread_id",
        "evaluator_id": evaluator_id,
    }


def flagged_filter(key: str = FEEDBACK_KEY) -> str:
    """The run filter matching ``key`` feedback with score 1."""
    return f"and(eq(feedback_key, {json.dumps(key)}), eq(feedback_score, 1))"


def queue_rule_body(
    *, name: str, project: str, project_id: str, queue_id: str, queue: str
) -> dict[str, Any]:
    """The body of the rule that sends flagged traces to the annotation queue."""
    return {
        "display_name": f"{name} flagged on {project} -> {queue}",
        "session_id": project_id,
        "sampling_rate": 1.0,
        "filter": flagged_filter(),
        "add_to_annotation_queue_id": queue_id,
    }


def plan_attach(
    *,
    project: str,
    model: str = DEFAULT_MODEL,
    sampling_rate: float = 1.0,
    queue: str | None = None,
    name: str = DEFAULT_EVALUATOR_NAME,
) -> list[PlannedRequest]:
    """The create requests :func:`attach` would send, with ``<...>`` placeholders for ids.

    Lookups (GET) are not listed; on a real run each create is skipped when the object exists.
    """
    project_id = f"<id of project {project!r}>"
    evaluator_id = "<id of the evaluator created above>"
    plan = [
        PlannedRequest("POST", _EVALUATORS_PATH, evaluator_body(name, model)),
        PlannedRequest(
            "POST",
            _RULES_PATH,
            rule_body(
                name=name,
                project=project,
                project_id=project_id,
                evaluator_id=evaluator_id,
                sampling_rate=sampling_rate,
            ),
        ),
    ]
    if queue is not None:
        body = queue_rule_body(
            name=name,
            project=project,
            project_id=project_id,
            queue_id=f"<id of annotation queue {queue!r}, created if missing>",
            queue=queue,
        )
        plan.append(PlannedRequest("POST", _RULES_PATH, body))
    return plan


def attach(
    clients: LangSmithClients,
    *,
    project: str,
    model: str = DEFAULT_MODEL,
    sampling_rate: float = 1.0,
    queue: str | None = None,
    name: str = DEFAULT_EVALUATOR_NAME,
    build_timeout_s: float = DEFAULT_BUILD_TIMEOUT_S,
    poll_s: float = _BUILD_POLL_S,
) -> AttachResult:
    """Create (or find) the evaluator and its rule(s) on ``project``; see the module docstring.

    Raises:
        ProjectNotFoundError: when the project does not exist.
        AttachError: when LangSmith fails a request (after retries), or the evaluator's build
            FAILED or is not READY within ``build_timeout_s``.
        QueueError: when the annotation queue cannot be created.

    """
    if not 0.0 <= sampling_rate <= 1.0:
        msg = f"sampling_rate must be between 0 and 1, got {sampling_rate}"
        raise ValueError(msg)
    project_id = resolve_project(clients, project)
    wanted = evaluator_body(name, model)
    evaluator_id, created, warnings = _ensure_evaluator(clients, wanted)
    build_status = await_build(clients, evaluator_id, timeout_s=build_timeout_s, poll_s=poll_s)
    rules = _project_rules(clients, project_id)
    body = rule_body(
        name=name,
        project=project,
        project_id=project_id,
        evaluator_id=evaluator_id,
        sampling_rate=sampling_rate,
    )
    rule_id, rule_created = _ensure_rule(clients, rules, body, ("session_id", "evaluator_id"))
    result = AttachResult(project_id, evaluator_id, created, rule_id, rule_created)
    result.build_status = build_status
    result.warnings.extend(warnings)
    if queue is not None:
        _attach_queue(clients, result, rules, project=project, queue=queue, name=name)
    return result


def _attach_queue(
    clients: LangSmithClients,
    result: AttachResult,
    rules: list[dict[str, Any]],
    *,
    project: str,
    queue: str,
    name: str,
) -> None:
    result.queue_id = ensure_queue(clients, queue)
    body = queue_rule_body(
        name=name,
        project=project,
        project_id=result.project_id,
        queue_id=result.queue_id,
        queue=queue,
    )
    match = ("session_id", "add_to_annotation_queue_id", "filter")
    result.queue_rule_id, result.queue_rule_created = _ensure_rule(clients, rules, body, match)


def _ensure_evaluator(
    clients: LangSmithClients, wanted: dict[str, Any]
) -> tuple[str, bool, list[str]]:
    """(id, created, warnings) of the evaluator named ``wanted["name"]``."""
    name = wanted["name"]
    try:
        for evaluator in clients.sdk.online_evaluators.list(name_contains=name, limit=_PAGE_SIZE):
            if evaluator.name == name and evaluator.id:
                code = evaluator.code_evaluator.code if evaluator.code_evaluator else None
                warnings = []
                if code != wanted["code_evaluator"]["code"]:
                    warnings.append(
                        f"evaluator {name!r} exists with different code (another model or "
                        "package version?); it was kept as it is: pass --name for a new one"
                    )
                return evaluator.id, False, warnings
        created = clients.sdk.online_evaluators.create(**wanted)
    except APIError as e:
        msg = f"could not find or create the online evaluator {name!r}: {clients.describe(e)}"
        raise AttachError(msg) from e
    if created.evaluator is None or not created.evaluator.id:
        msg = f"LangSmith created evaluator {name!r} but returned no id"
        raise AttachError(msg)
    logger.info("created online evaluator %r (%s)", name, created.evaluator.id)
    return created.evaluator.id, True, []


def await_build(
    clients: LangSmithClients,
    evaluator_id: str,
    *,
    timeout_s: float = DEFAULT_BUILD_TIMEOUT_S,
    poll_s: float = _BUILD_POLL_S,
) -> str | None:
    """Wait until the code evaluator's build is READY; its status (None: not reported).

    Raises:
        AttachError: on a FAILED build (with LangSmith's build error), when the build is still
            ENQUEUED or BUILDING after ``timeout_s``, or when the evaluator cannot be read.

    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            code = clients.sdk.online_evaluators.retrieve(evaluator_id).code_evaluator
        except APIError as e:
            msg = f"could not read the online evaluator {evaluator_id}: {clients.describe(e)}"
            raise AttachError(msg) from e
        status = code.evaluator_build_status if code is not None else None
        if status == "FAILED":
            reason = (code.evaluator_build_error if code else None) or "no build error given"
            msg = f"LangSmith could not build the online evaluator {evaluator_id}: {reason}"
            raise AttachError(msg)
        if status not in _BUILDING:
            return status
        if time.monotonic() >= deadline:
            msg = (
                f"the online evaluator {evaluator_id} is still {status} after {timeout_s:g} s; "
                "run attach again later (it reuses what exists)"
            )
            raise AttachError(msg)
        logger.info("online evaluator %s: build %s", evaluator_id, status)
        time.sleep(poll_s)


def _project_rules(clients: LangSmithClients, project_id: str) -> list[dict[str, Any]]:
    """The project's run rules as dicts: ``GET /api/v2/runs/rules``, else the v1 list."""
    try:
        try:
            pages = clients.sdk.evaluators.list_v2(project_id=project_id, page_size=_PAGE_SIZE)
            return [_with_session(rule.model_dump(mode="json")) for rule in pages]
        except NotFoundError:  # older deployments: the v1 list (the same rules, one page)
            answer = clients.sdk.get(
                _RULES_PATH, cast_to=object, options={"params": {"session_id": project_id}}
            )
    except APIError as e:
        msg = f"could not list the run rules of project {project_id}: {clients.describe(e)}"
        raise AttachError(msg) from e
    found = answer if isinstance(answer, list) else []
    return [_with_session(rule) for rule in found if isinstance(rule, dict)]


def _with_session(rule: dict[str, Any]) -> dict[str, Any]:
    """v2 rules name the project ``project_id``; v1 rules and the create body ``session_id``."""
    if not rule.get("session_id"):
        rule["session_id"] = rule.get("project_id")
    return rule


def _ensure_rule(
    clients: LangSmithClients,
    rules: list[dict[str, Any]],
    body: dict[str, Any],
    match: tuple[str, ...],
) -> tuple[str, bool]:
    """(id, created) of a rule agreeing with ``body`` on the ``match`` fields."""
    for rule in rules:
        same = all(str(rule.get(key)) == str(body[key]) for key in match)
        if same and rule.get("id"):
            return str(rule["id"]), False
    try:
        answer = clients.sdk.post(_RULES_PATH, cast_to=object, body=body)
    except APIError as e:
        msg = f"could not create the run rule {body['display_name']!r}: {clients.describe(e)}"
        raise AttachError(msg) from e
    if not isinstance(answer, dict) or not answer.get("id"):
        msg = f"LangSmith created rule {body['display_name']!r} but returned no id: {answer!r}"
        raise AttachError(msg)
    logger.info("created run rule %r (%s)", body["display_name"], answer["id"])
    return str(answer["id"]), True
