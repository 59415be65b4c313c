"""extract_transcript / extract_thread on runs CAPTURED from tracing a real LangGraph agent.

The ``captured_thread`` fixture runs ``tests/fixtures/agent_app.py`` (a tool-calling LangGraph
agent with a checkpointer) over three user turns of one thread, traced by the real langsmith SDK
into ``tests/servers/langsmith_capture.py``. Nothing here is hand-written run JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from langsmith.schemas import Run

from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import extract_thread, extract_transcript
from tests.fixtures.agent_app import USER_TURNS, CapturedThread, capture_agent_thread
from tests.servers.langsmith_capture import LocalLangSmith


def human(text: str) -> Turn:
    return Turn(role="human", text=text)


def ai(text: str) -> Turn:
    return Turn(role="ai", text=text)


EXPECTED = [
    human("What's the weather in Paris today?"),
    ai("It's 12°C and cloudy in London today."),
    human("No, I asked about Paris, not London."),
    ai("Sorry about that! In Paris it's 18°C and sunny today."),
    human("Thanks. Do I need an umbrella?"),
    ai("No umbrella needed: no rain is expected in Paris today."),
]

LONDON_CALL = '[tool call get_weather({"city": "London"})]'
PARIS_CALL = '[tool call get_weather({"city": "Paris"})]'
EXPECTED_WITH_TOOLS = [
    EXPECTED[0],
    ai(f"{LONDON_CALL}\n[tool result get_weather: London: 12°C and cloudy]"),
    EXPECTED[1],
    EXPECTED[2],
    ai(f"{PARIS_CALL}\n[tool result get_weather: Paris: 18°C and sunny, no rain expected]"),
    EXPECTED[3],
    EXPECTED[4],
    EXPECTED[5],
]


# -- what was captured ------------------------------------------------------------------------


def test_the_capture_is_one_traced_thread_of_three_turns(captured_thread: CapturedThread):
    roots = captured_thread.root_runs
    assert [root["name"] for root in roots] == ["weather_agent"] * 3
    assert {root["extra"]["metadata"]["thread_id"] for root in roots} == {captured_thread.thread_id}
    assert all(root["end_time"] and root["outputs"] for root in roots)  # patches were merged
    assert [run["run_type"] for run in captured_thread.runs].count("tool") == 2
    assert len(captured_thread.llm_runs) == 5
    # each root's outputs repeat the whole history so far: the overlap de-dup must handle it
    assert len(roots[2]["outputs"]["messages"]) == 10


# -- a thread of root runs --------------------------------------------------------------------


def test_thread_of_root_runs(captured_thread: CapturedThread):
    assert extract_thread(captured_thread.root_runs) == EXPECTED


def test_thread_of_root_runs_with_tools(captured_thread: CapturedThread):
    assert extract_thread(captured_thread.root_runs, include_tools=True) == EXPECTED_WITH_TOOLS


def test_thread_is_reordered_by_start_time(captured_thread: CapturedThread):
    assert extract_thread(captured_thread.root_runs[::-1]) == EXPECTED


@pytest.mark.parametrize("wrap", [lambda runs: {"runs": runs}, list], ids=["runs-key", "list"])
def test_extract_transcript_detects_the_thread(captured_thread: CapturedThread, wrap: Any):
    assert extract_transcript(wrap(captured_thread.root_runs)) == EXPECTED


def test_thread_of_langsmith_run_objects(captured_thread: CapturedThread):
    runs = [Run(**root) for root in captured_thread.root_runs]
    assert extract_thread(runs[::-1], include_tools=True) == EXPECTED_WITH_TOOLS


def test_thread_of_only_each_turns_new_input_and_last_answer(captured_thread: CapturedThread):
    # Drop the repeated history from each root's outputs: ids still line the turns up.
    runs = [
        {**root, "outputs": {"messages": root["outputs"]["messages"][-1:]}}
        for root in captured_thread.root_runs
    ]
    assert extract_thread(runs) == EXPECTED


# -- single runs ------------------------------------------------------------------------------


def test_single_root_run_holds_the_history_so_far(captured_thread: CapturedThread):
    first, second, last = captured_thread.root_runs
    assert extract_transcript(first) == EXPECTED[:2]
    assert extract_transcript(second) == EXPECTED[:4]
    assert extract_transcript(last) == EXPECTED
    assert extract_transcript(Run(**last)) == EXPECTED


def test_root_run_outputs_alone_are_a_langgraph_state(captured_thread: CapturedThread):
    state = captured_thread.root_runs[-1]["outputs"]
    assert extract_transcript(state) == EXPECTED
    assert extract_transcript(state["messages"], include_tools=True) == EXPECTED_WITH_TOOLS


# -- LLM child runs ---------------------------------------------------------------------------


def test_llm_run_that_only_called_a_tool(captured_thread: CapturedThread):
    first_call = captured_thread.llm_runs[0]
    assert extract_transcript(first_call) == [EXPECTED[0]]  # the tool-call-only reply vanishes
    assert extract_transcript(first_call, include_tools=True) == [EXPECTED[0], ai(LONDON_CALL)]


def test_llm_runs_see_the_growing_history(captured_thread: CapturedThread):
    llm_runs = captured_thread.llm_runs
    assert extract_transcript(llm_runs[1]) == EXPECTED[:2]
    assert extract_transcript(llm_runs[3]) == EXPECTED[:4]
    assert extract_transcript(llm_runs[4]) == EXPECTED


def test_thread_of_llm_runs(captured_thread: CapturedThread):
    llm_runs = captured_thread.llm_runs
    assert extract_thread(llm_runs) == EXPECTED
    assert extract_thread(llm_runs[::-1], include_tools=True) == EXPECTED_WITH_TOOLS


# -- the capture server's other ingestion paths -----------------------------------------------

_BATCH_CONFIG = {
    "scale_up_qsize_trigger": 1000,
    "scale_up_nthreads_limit": 16,
    "scale_down_nempty_trigger": 4,
    "size_limit": 100,
    "size_limit_bytes": 20_971_520,
}


@pytest.mark.parametrize(
    ("info", "path", "encoding"),
    [
        (
            {"instance_flags": {"zstd_compression_enabled": True}},
            "/runs/multipart",
            "zstd",
        ),
        (
            {"batch_ingest_config": {**_BATCH_CONFIG, "use_multipart_endpoint": True}},
            "/runs/multipart",
            None,
        ),
        (
            {"batch_ingest_config": {**_BATCH_CONFIG, "use_multipart_endpoint": False}},
            "/runs/batch",
            None,
        ),
    ],
    ids=["multipart-zstd", "multipart", "batch-json"],
)
def test_batched_tracing_is_captured_the_same(
    langsmith_server: LocalLangSmith, info: dict[str, Any], path: str, encoding: str | None
):
    captured = capture_agent_thread(
        langsmith_server, client_options={"auto_batch_tracing": True, "info": info}
    )
    assert {(r.path, r.content_encoding) for r in langsmith_server.requests} == {(path, encoding)}
    assert all(request.status == 202 for request in langsmith_server.requests)
    assert len(captured.runs) == 22
    assert extract_thread(captured.root_runs) == EXPECTED
    assert extract_thread(captured.llm_runs, include_tools=True) == EXPECTED_WITH_TOOLS


def test_capture_server_merges_patches_under_the_api_prefix(langsmith_server: LocalLangSmith):
    client = langsmith_server.client(api_url=f"{langsmith_server.url}/api/v1")
    run_id = "0196f0e4-0000-7000-8000-000000000001"
    client.create_run(
        "chat", {"question": USER_TURNS[0]}, "chain", id=run_id, project_name="prefixed"
    )
    client.update_run(run_id, outputs={"answer": "Sunny."})
    assert [request.path for request in langsmith_server.requests] == [
        "/api/v1/runs",
        f"/api/v1/runs/{run_id}",
    ]
    (root,) = langsmith_server.root_runs("prefixed")
    assert root["outputs"] == {"answer": "Sunny."}
    assert extract_transcript(root) == [human(USER_TURNS[0]), ai("Sunny.")]


def test_capture_server_answers_unknown_paths_with_404_json(langsmith_server: LocalLangSmith):
    client = langsmith_server.client()
    response = client.session.get(f"{langsmith_server.url}/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found: GET /nope"}
    assert [m.path for m in langsmith_server.take_mismatches()] == ["/nope"]
