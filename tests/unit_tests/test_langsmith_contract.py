"""The LangSmith OpenAPI contract check: it finds real mismatches, and the server applies it.

Every test that uses ``LocalLangSmith`` is also a contract test (the server fails on ``stop``
when a request or a 2xx response differs from the spec); these tests show the check itself can
fail, and that the known deviations are the ones the package really meets.
"""

from __future__ import annotations

import json

import httpx
import pytest

from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.threads import read_thread
from tests.servers.langsmith_capture import LocalLangSmith
from tests.servers.langsmith_contract import KNOWN_DEVIATIONS, load_contract

contract = load_contract()
pytestmark = pytest.mark.skipif(
    contract is None, reason="shared/specs/langsmith-openapi.json is not available"
)


def test_the_spec_is_read_and_paths_are_matched_in_every_client_style():
    assert contract is not None
    assert contract.spec["info"]["title"] == "LangSmith"
    assert contract.match("POST", "/runs/query") == ("/api/v1/runs/query", {})
    assert contract.match("POST", "/api/v1/runs/query") == ("/api/v1/runs/query", {})
    assert contract.match("POST", "/api/v2/threads/query") == ("/v2/threads/query", {})
    assert contract.match("GET", "/api/v1/platform/evaluators/e1") == (
        "/v1/platform/evaluators/{evaluator_id}",
        {"evaluator_id": "e1"},
    )
    assert contract.match("POST", "/runs/multipart") == ("/runs/multipart", {})
    assert contract.match("GET", "/api/v1/no/such/path") is None


def test_a_wrong_request_body_and_parameters_are_reported():
    assert contract is not None
    body = json.dumps({"key": "perceived_error", "score": "high"}).encode()
    problems = contract.check_request("POST", "/feedback", "application/json", body)
    assert [p.side for p in problems] == ["request"]
    assert "score" in problems[0].message
    problems = contract.check_request("GET", "/api/v2/threads/t1/traces?page_size=500", "", b"")
    messages = sorted(p.message for p in problems)
    assert messages[0].startswith("query parameter 'page_size'")
    assert messages[1] == "required query parameter 'project_id' is missing"


def test_a_wrong_response_is_reported_and_errors_are_not_checked():
    assert contract is not None
    dataset = {"id": "d1", "name": "x", "tenant_id": "t", "modified_at": "2026-01-01T00:00:00"}
    (problem,) = contract.check_response("GET", "/datasets/d1", 200, dataset)
    assert "'session_count' is a required property" in problem.message
    assert (
        contract.check_response("GET", "/datasets/d1", 200, {**dataset, "session_count": 0}) == []
    )
    (problem,) = contract.check_response("POST", "/api/v1/platform/evaluators", 200, {})
    assert problem.message.startswith("status 200 is not documented")
    assert contract.check_response("GET", "/datasets/d1", 404, {"detail": "x"}) == []


def test_the_server_fails_on_stop_when_the_contract_is_broken():
    server = LocalLangSmith().start()
    httpx.post(server.url + "/feedback", json={"key": "k", "score": "high"})
    with pytest.raises(AssertionError, match=r"request POST /feedback \[/api/v1/feedback\]"):
        server.stop()


def test_every_known_deviation_names_its_side_and_reason():
    for deviation in KNOWN_DEVIATIONS:
        assert deviation.follows in ("sdk", "spec")
        assert len(deviation.reason) > 20


def test_reading_a_thread_meets_the_selects_deviation_and_nothing_else(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients, traced_thread
):
    read_thread(
        langsmith_clients,
        project_id=langsmith_server.project_id(traced_thread.project_name),
        thread_id=traced_thread.thread_id,
    )
    seen = {m.message.split(":")[0] for m in langsmith_server.deviations if "traces" in m.path}
    assert seen == {"query parameter 'selects'"}
    assert langsmith_server.mismatches == []
