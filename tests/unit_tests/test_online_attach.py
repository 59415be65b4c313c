"""`perceived-error attach`: request shape against the in-memory LangSmith, dry run, the code."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from langsmith import NotFoundError
from langsmith.types.rule import Rule
from typer.testing import CliRunner

from langchain_perceived_error import __version__
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.models import DEFAULT_MODEL
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online import attach as attach_module
from langchain_perceived_error.online.attach import (
    EVALUATOR_CODE,
    evaluator_code,
    flagged_filter,
    plan_attach,
)
from tests.fixtures.agent_app import CapturedThread
from tests.servers.langsmith_capture import CapturedRequest, LocalLangSmith

SECRET = "lsv2-attach-sentinel-key"
FIREWORKS_SECRET = "fw-attach-sentinel-key"
_ENV_NAMES = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_WORKSPACE_ID",
    "LANGSMITH_TENANT_ID",
)


def _invoke(server: LocalLangSmith | None, *args: str, key: str | None = SECRET):
    env: dict[str, str | None] = dict.fromkeys(_ENV_NAMES)
    env["LANGSMITH_API_KEY"] = key
    env["FIREWORKS_API_KEY"] = FIREWORKS_SECRET
    if server is not None:
        env["LANGSMITH_ENDPOINT"] = server.url
    return CliRunner().invoke(app, ["attach", *args], env=env)


def _no_secrets(result: Any) -> None:
    for text in (result.stdout, result.stderr):
        assert SECRET not in text
        assert FIREWORKS_SECRET not in text


def test_attach_creates_the_evaluator_and_rules(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    project = traced_thread.project_name
    result = _invoke(
        langsmith_server, "--project", project, "--sampling-rate", "0.25", "--queue", "review"
    )
    assert result.exit_code == 0, result.output
    _no_secrets(result)

    (evaluator,) = langsmith_server.evaluators
    assert evaluator["name"] == "perceived_error"
    assert evaluator["type"] == "code"
    code = evaluator["code_evaluator"]
    assert code["language"] == "python"
    assert code["dependencies"] == f"langchain-perceived-error=={__version__}"
    assert code["code_evaluator_input"] == "thread"
    assert code["advanced_features_enabled"] is True
    assert code["workspace_secrets_keys"] == ["FIREWORKS_API_KEY"]
    assert code["code"] == evaluator_code(DEFAULT_MODEL)

    project_id = langsmith_server.project_id(project)
    judge_rule, queue_rule = langsmith_server.rules
    assert {k: v for k, v in judge_rule.items() if k not in ("id", "created_at")} == {
        "display_name": f"perceived_error on {project}",
        "session_id": project_id,
        "sampling_rate": 0.25,
        "group_by": "thread_id",
        "evaluator_id": evaluator["id"],
    }
    (queue,) = langsmith_server.queues
    assert queue_rule["session_id"] == project_id
    assert queue_rule["filter"] == flagged_filter()
    assert queue_rule["add_to_annotation_queue_id"] == queue["id"]
    assert "evaluator_id" not in queue_rule

    assert f"evaluator: {evaluator['id']} (created)" in result.stdout
    assert f"rule: {judge_rule['id']} (created)" in result.stdout
    assert f"queue rule: {queue_rule['id']} (created)" in result.stdout


def test_attach_twice_reuses_what_exists(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    args = ("--project", traced_thread.project_name, "--queue", "review")
    assert _invoke(langsmith_server, *args).exit_code == 0
    again = _invoke(langsmith_server, *args)
    assert again.exit_code == 0, again.output
    assert len(langsmith_server.evaluators) == 1
    assert len(langsmith_server.rules) == 2
    assert again.stdout.count("existing, reused") == 3

    other_model = _invoke(langsmith_server, *args, "--model", "rules")
    assert other_model.exit_code == 0
    assert "exists with different code" in other_model.stderr
    assert len(langsmith_server.evaluators) == 1


def _post_rules(server: LocalLangSmith, project_id: str, count: int) -> None:
    """``count`` rules of other evaluators on ``project_id``, created through the v1 route."""
    with server.sdk() as sdk:
        for index in range(count):
            body = {
                "display_name": f"other rule {index}",
                "session_id": project_id,
                "sampling_rate": 1.0,
                "evaluator_id": str(uuid.uuid4()),
            }
            sdk.post("/api/v1/runs/rules", cast_to=object, body=body)


def _rule_requests(requests: list[CapturedRequest], method: str) -> list[CapturedRequest]:
    return [r for r in requests if r.method == method and "/runs/rules" in r.path]


def _attach_twice_with_other_rules(
    server: LocalLangSmith, project: str
) -> tuple[Any, list[CapturedRequest], str]:
    """Attach, add rules (4 newer on the project, 3 on another), attach again.

    Returns the second run's result, the requests it sent and the project id.
    """
    args = ("--project", project, "--queue", "review")
    first = _invoke(server, *args)
    assert first.exit_code == 0, first.output
    assert len(_rule_requests(server.requests, "POST")) == 2  # the judge rule and the queue rule
    project_id = server.project_id(project)
    _post_rules(server, project_id, 4)  # newer, so listed before ours (v2: newest first)
    _post_rules(server, str(uuid.uuid4()), 3)  # another project: not listed
    before = len(server.requests)
    again = _invoke(server, *args)
    assert again.exit_code == 0, again.output
    judge_rule, queue_rule = server.rules[:2]
    assert f"rule: {judge_rule['id']} (existing, reused)" in again.stdout
    assert f"queue rule: {queue_rule['id']} (existing, reused)" in again.stdout
    assert len(server.rules) == 2 + 4 + 3  # nothing created by the second run
    return again, server.requests[before:], project_id


def test_attach_twice_finds_its_rules_through_the_v2_list_across_pages(
    langsmith_server: LocalLangSmith,
    traced_thread: CapturedThread,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(attach_module, "_PAGE_SIZE", 2)
    _, sent, project_id = _attach_twice_with_other_rules(
        langsmith_server, traced_thread.project_name
    )
    assert _rule_requests(sent, "POST") == []
    lists = _rule_requests(sent, "GET")
    # 6 rules on the project, 2 per page: 3 pages, ours (the oldest) on the last one
    assert [(urlsplit(r.path).path, r.status) for r in lists] == [("/api/v2/runs/rules", 200)] * 3
    queries = [parse_qs(urlsplit(r.path).query) for r in lists]
    for query in queries:
        assert query["project_id"] == [project_id]
        assert query["page_size"] == ["2"]
    assert ["cursor" in query for query in queries] == [False, True, True]
    assert len({query["cursor"][0] for query in queries[1:]}) == 2  # the cursor moved on


def test_attach_twice_falls_back_to_the_v1_list_when_v2_is_missing(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    langsmith_server.rules_v2 = False  # an older deployment
    _, sent, _ = _attach_twice_with_other_rules(langsmith_server, traced_thread.project_name)
    assert _rule_requests(sent, "POST") == []
    lists = [(urlsplit(r.path).path, r.status) for r in _rule_requests(sent, "GET")]
    assert lists == [("/api/v2/runs/rules", 404), ("/api/v1/runs/rules", 200)]


def test_the_v2_rule_list_has_the_shape_the_sdk_parses(langsmith_server: LocalLangSmith):
    project_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    _post_rules(langsmith_server, project_id, 3)
    _post_rules(langsmith_server, other, 1)
    with langsmith_server.sdk() as sdk:
        raw = sdk.get("/api/v2/runs/rules", cast_to=object, options={"params": {"page_size": 2}})
        assert isinstance(raw, dict)
        assert set(raw) == {"items", "next_cursor"}
        assert raw["next_cursor"]
        for item in raw["items"]:
            Rule.model_validate(item)  # strict: every required field, the right types
            assert "session_id" not in item
        rules = list(sdk.evaluators.list_v2(project_id=project_id, page_size=2))
        assert [rule.display_name for rule in rules] == [f"other rule {i}" for i in (2, 1, 0)]
        assert {rule.project_id for rule in rules} == {project_id}
        stored = {rule["id"]: rule for rule in langsmith_server.rules}
        for rule in rules:
            assert rule.evaluator_id == stored[rule.id]["evaluator_id"]
            assert rule.sampling_rate == 1.0
        (only,) = sdk.evaluators.list_v2(project_id=project_id, name_contains="RULE 1")
        assert only.display_name == "other rule 1"
        langsmith_server.rules_v2 = False
        with pytest.raises(NotFoundError):
            sdk.evaluators.list_v2(project_id=project_id)


def test_dry_run_prints_the_requests_and_sends_nothing(
    langsmith_server: LocalLangSmith, traced_thread: CapturedThread
):
    before = list(langsmith_server.requests)
    result = _invoke(
        langsmith_server,
        "--project",
        traced_thread.project_name,
        "--dry-run",
        "--queue",
        "review",
        "--sampling-rate",
        "0.5",
    )
    assert result.exit_code == 0, result.output
    assert langsmith_server.requests == before  # nothing sent
    assert langsmith_server.evaluators == []
    assert langsmith_server.rules == []
    _no_secrets(result)
    out = result.stdout
    assert out.count("POST /api/v1/runs/rules") == 2
    assert "POST /api/v1/platform/evaluators" in out
    assert '"code_evaluator_input": "thread"' in out
    assert '"sampling_rate": 0.5' in out
    assert '"FIREWORKS_API_KEY"' in out  # the secret's NAME only

    no_key = _invoke(None, "--project", "p", "--dry-run", key=None)
    assert no_key.exit_code == 0


def test_the_plan_matches_what_is_sent():
    planned = plan_attach(project="p", model="rules", sampling_rate=0.1)
    assert [(r.method, r.path) for r in planned] == [
        ("POST", "/api/v1/platform/evaluators"),
        ("POST", "/api/v1/runs/rules"),
    ]
    body = planned[0].body
    assert body["code_evaluator"]["workspace_secrets_keys"] == []  # rules needs no key
    assert json.loads(planned[1].render().split("\n", 1)[1])["sampling_rate"] == 0.1


# -- the evaluator code, executed ------------------------------------------------------------------


def _perform_eval(model: str = "rules") -> Any:
    namespace: dict[str, Any] = {"__name__": "langsmith_evaluator"}
    exec(compile(evaluator_code(model), "<perceived_error evaluator>", "exec"), namespace)
    return namespace["perform_eval"]


def test_the_code_string_has_its_placeholder_filled():
    assert "__PERCEIVED_ERROR_MODEL_SPEC__" in EVALUATOR_CODE
    assert "__PERCEIVED_ERROR_MODEL_SPEC__" not in evaluator_code("rules")
    assert 'MODEL = "rules"' in evaluator_code("rules")


def test_the_code_string_judges_captured_thread_shapes(captured_thread: CapturedThread):
    perform_eval = _perform_eval()
    runs = captured_thread.root_runs
    last_messages = runs[-1]["outputs"]["messages"]
    for payload in (
        runs,
        {"runs": runs},
        {"traces": runs},
        {"messages": last_messages},
        runs[-1],
    ):
        assert perform_eval(payload) == {"perceived_error": 1}, payload
    assert perform_eval(runs[0]) == {}  # one exchange: not eligible, no score


def test_the_code_string_scores_0_and_raises_on_failure(
    captured_thread: CapturedThread, monkeypatch: pytest.MonkeyPatch
):
    clean = [
        {"role": "user", "content": "What's the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "Thanks! And how many people live there?"},
    ]
    assert _perform_eval()({"messages": clean}) == {"perceived_error": 0}

    def failed(self: PerceivedErrorJudge, record: Any) -> JudgeResult:
        return JudgeResult(status=JudgeStatus.FAILED, error="model unavailable")

    monkeypatch.setattr(PerceivedErrorJudge, "judge", failed)
    with pytest.raises(RuntimeError, match="model unavailable"):
        _perform_eval()(captured_thread.root_runs)
