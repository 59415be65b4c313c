"""extract_transcript / extract_thread on REAL payloads copied from public repositories.

Every file in ``tests/data/real/`` is a payload that an SDK or a framework recorded, copied verbatim
or as a faithful excerpt of one record; ``tests/data/real/PROVENANCE.md`` names its repository,
path, commit and licence. Some payloads sit inside a container (a LangSmith ``post``/``patch`` body
pair, an OpenInference span, a LangGraph stream recording); the loaders below unwrap that container
the way its consumer would and nothing more. The expected turns were written down by reading each
payload.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import (
    TranscriptError,
    extract_thread,
    extract_transcript,
)

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def human(text: str) -> Turn:
    return Turn(role="human", text=text)


def ai(text: str) -> Turn:
    return Turn(role="ai", text=text)


def read(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


# -- container loaders ------------------------------------------------------------------------


def langsmith_run(name: str) -> dict[str, Any]:
    """The run LangSmith stores from the SDK's create (``post``) and update (``patch``) bodies.

    The Python SDK's patch carries the run ``id``; the JS SDK's carries only ``trace_id`` (the
    same id for a root run).
    """
    bodies = read(name)
    (post,) = bodies["post"]
    (patch,) = [p for p in bodies["patch"] if p.get("id", p.get("trace_id")) == post["id"]]
    return {**post, **patch}


def span_run(name: str) -> dict[str, Any]:
    """An OpenInference span of a LangChain run: inputs and outputs as the tracer dumped them."""
    attributes = read(name)["attributes"]
    return {
        "inputs": json.loads(attributes["input.value"]),
        "outputs": json.loads(attributes["output.value"]),
    }


def openai_agents_generation(name: str) -> list[Any]:
    """An OpenAI Agents SDK ``generation`` span: chat messages in, assistant messages out."""
    attributes = read(name)["attributes"]
    return [*json.loads(attributes["input.value"]), *json.loads(attributes["output.value"])]


def smolagents_call(name: str) -> list[Any]:
    """A smolagents ``LiteLLMModel.__call__`` span: ``args[0]`` is the chat; one message out."""
    attributes = read(name)["attributes"]
    return [
        *json.loads(attributes["input.value"])["args"][0],
        json.loads(attributes["output.value"]),
    ]


def langgraph_stream_messages(name: str) -> list[Any]:
    """A LangGraph JS ``messages`` stream recording: ``[namespace, [chunk, metadata]]`` items."""
    return [chunk for _namespace, (chunk, _metadata) in read(name)]


def state_snapshot_values(name: str) -> Any:
    """A LangGraph JS ``getState()`` snapshot: the graph state is its ``values``."""
    return read(name)["values"]


# -- what a reader sees in each payload -------------------------------------------------------

HOWDY = [human("howdy"), ai("Howdy! How can I assist you today?")]
MATRIX_QUESTION = (
    "Write a bash script that takes a matrix represented as a string with format "
    "'[1,2],[3,4],[5,6]' and prints the transpose in the same format."
)
YEAR_TASK = (
    "Use the tools to find what year it is in the America/New_York timezone and write the value "
    "(single number) to a file"
)
TIME_CALL = '[tool call get_current_time({"timezone": "America/New_York"})]'
WRITE_CALL = '[tool call write_file({"text": "2025"})]'
LITELLM_TIME_RESULT = (
    '[tool result get_current_time: { "timezone": "America/New_York", '
    '"datetime": "2025-05-19T21:16:10-04:00", "is_dst": true }]'
)
LITELLM_ANSWER = (
    "The year in the America/New_York timezone is 2025. I have written this value to a file."
)
LITELLM_WITH_TOOLS = [
    human(YEAR_TASK),
    ai(f"{TIME_CALL}\n{LITELLM_TIME_RESULT}"),
    ai(f"{WRITE_CALL}\n[tool result write_file: null]"),
    ai(LITELLM_ANSWER),
]
# The OpenAI Agents SDK passed the MCP tool's TextContent on as a JSON string (escaped newlines).
AGENTS_TIME_RESULT = (
    r'[tool result get_current_time: {"type":"text","text":"{\n \"timezone\": '
    r"\"America/New_York\",\n \"datetime\": \"2025-05-19T21:16:18-04:00\",\n \"is_dst\": "
    r'true\n}","annotations":null}]'
)
AGENTS_ANSWER = (
    "The current year in the America/New_York timezone is 2025. "
    "I have written this value to a file."
)
SMOL_TASK = f"New task:\n{YEAR_TASK}"
SMOL_CALLED_TIME = (
    "Called Tool: 'get_current_time' with arguments: {'timezone': 'America/New_York'}"
)
SMOL_CALLED_WRITE = "Called Tool: 'write_file' with arguments: {'text': '2025'}"
SMOL_TIME_RESULT = (
    '[tool result: Observation: { "timezone": "America/New_York", '
    '"datetime": "2025-05-19T21:16:10-04:00", "is_dst": true }]'
)
SMOL_FINAL_CALL = (
    '[tool call final_answer({"answer": "The current year in the America/New_York timezone is '
    '2025, and the value has been written to a file."})]'
)
CHAT_LANGCHAIN_ANSWER = (
    "Hello! I'm here to help you with any questions you might have about LangChain. Is there "
    "something specific you'd like to know about this framework for developing applications "
    "powered by large language models?"
)
SUPERVISOR_ANSWER = (
    "The research team has been engaged to provide the answer to your question. Please hold on "
    "for a moment while they gather the information."
)
RESERVE_DETAILS = (
    "Claro, puedo ayudarte con eso. Necesito algunos detalles:\n\n1. Tu nombre completo.\n"
    "2. Tu DNI.\n3. La hora del turno que deseas reservar (en punto, por ejemplo, '10:00' o "
    "'11:00').\n\nPor favor, proporciona esta información para proceder con la reserva."
)
RESERVE_CALL = (
    "[tool call reservacion_de_turno_para_crossfit("
    '{"nombre": "mariano", "dni": "325", "turn": "11:00"})]'
)
SNAPSHOT_ASK = "Quiero reservar un turno para crossfit a las 10 am el martes"
SNAPSHOT_CHECKING = (
    "Para ayudarte con la reserva, primero verificaré la disponibilidad para la clase de crossfit "
    "el martes a las 10 am. Un momento, por favor."
)
SNAPSHOT_AVAILABLE = (
    "El turno para crossfit a las 10 am el martes está disponible. Por favor, proporciona tu DNI "
    "para completar la reserva."
)
SNAPSHOT_BOOKED = (
    "Tu turno para crossfit a las 10 am el martes ha sido reservado con éxito. "
    "¡Disfruta de tu entrenamiento!"
)
SNAPSHOT_AVAILABILITY = (
    '[tool call consulta_disponibilidad_de_turno({"day": "martes", "activityQuery": "crossfit"})]\n'
    '[tool result consulta_disponibilidad_de_turno: [{"07:00":true},{"08:00":true},{"09:00":true},'
    '{"10:00":true},{"11:00":true},{"15:00":true},{"16:00":true},{"17:00":true},{"18:00":true},'
    '{"19:00":true},{"20:00":true},{"21:00":true}]]'
)
SNAPSHOT_BOOKING = (
    '[tool call addReserveTurn({"dni": "21123456", "dia": "martes", "hora": "10:00", '
    '"activity": "crossfit", "confirm": true})]\n'
    '[tool result addReserveTurn: { "message": "Turno agregado con exito" }]'
)


@dataclass(frozen=True)
class Case:
    """One payload, how to unwrap it, and the turns a reader sees (without and with tools)."""

    name: str
    load: Callable[[str], Any]
    turns: list[Turn]
    turns_with_tools: list[Turn]


CASES = [
    # LangSmith run bodies recorded from the SDKs' wrap_openai (a traceable LLM run)
    Case("langsmith_py_wrap_openai.json", langsmith_run, HOWDY, HOWDY),
    Case("langsmith_py_wrap_openai_stream.json", langsmith_run, HOWDY, HOWDY),
    Case("langsmith_py_wrap_openai_stream_no_usage.json", langsmith_run, HOWDY, HOWDY),
    Case("langsmith_js_wrap_openai_default.json", langsmith_run, HOWDY, HOWDY),
    Case("langsmith_js_wrap_openai_stream.json", langsmith_run, HOWDY, HOWDY),
    Case("langsmith_js_wrap_openai_stream_no_usage.json", langsmith_run, HOWDY, HOWDY),
    # LangChain LLM runs (ChatLiteLLM) as the LangChain tracer serialized them
    Case(
        "anyagent_langchain_chatlitellm_llm_1.json",
        span_run,
        [human(YEAR_TASK)],
        [human(YEAR_TASK), ai(TIME_CALL)],
    ),
    Case(
        "anyagent_langchain_chatlitellm_llm_2.json",
        span_run,
        [human(YEAR_TASK)],
        [human(YEAR_TASK), ai(f"{TIME_CALL}\n{LITELLM_TIME_RESULT}"), ai(WRITE_CALL)],
    ),
    Case(
        "anyagent_langchain_chatlitellm_llm_3.json",
        span_run,
        [human(YEAR_TASK), ai(LITELLM_ANSWER)],
        LITELLM_WITH_TOOLS,
    ),
    # LangGraph JS: a messages stream of AIMessageChunks, and states holding chunks
    Case(
        "langgraphjs_supervisor_recorded_messages.json",
        langgraph_stream_messages,
        [ai(SUPERVISOR_ANSWER)],
        [
            ai("[tool call transfer_to_research_team({})]"),
            ai("[tool call transfer_to_math_expert({})]"),
            ai(SUPERVISOR_ANSWER),
        ],
    ),
    Case(
        "reserve_agent_langgraphjs_state.json",
        read,
        [human("quiero reservar un turno para crossfit"), ai(RESERVE_DETAILS)],
        [human("quiero reservar un turno para crossfit"), ai(RESERVE_DETAILS)],
    ),
    Case(
        "reserve_agent_langgraphjs_state_before_interrupt.json",
        read,
        [human("mariano 325 11:00")],
        [human("mariano 325 11:00"), ai(RESERVE_CALL)],
    ),
    Case(
        "reserve_agent_langgraphjs_current_state.json",
        state_snapshot_values,
        [
            human(SNAPSHOT_ASK),
            ai(SNAPSHOT_CHECKING),
            ai(SNAPSHOT_AVAILABLE),
            human("21123456"),
            ai(SNAPSHOT_BOOKED),
        ],
        [
            human(SNAPSHOT_ASK),
            ai(f"{SNAPSHOT_CHECKING}\n{SNAPSHOT_AVAILABILITY}"),
            ai(SNAPSHOT_AVAILABLE),
            human("21123456"),
            ai(SNAPSHOT_BOOKING),
            ai(SNAPSHOT_BOOKED),
        ],
    ),
    # LangGraph Python: a graph state as the LangGraph server streamed it (messages as dicts)
    Case(
        "langgraph_py_chat_langchain_state.json",
        read,
        [human("hi"), ai(CHAT_LANGCHAIN_ANSWER)],
        [human("hi"), ai(CHAT_LANGCHAIN_ANSWER)],
    ),
    # Other agent frameworks: OpenAI Agents SDK and smolagents, OpenAI-style chat messages
    Case(
        "anyagent_openai_agents_generation_1.json",
        openai_agents_generation,
        [human(YEAR_TASK)],
        [human(YEAR_TASK), ai(TIME_CALL)],
    ),
    Case(
        "anyagent_openai_agents_generation_2.json",
        openai_agents_generation,
        [human(YEAR_TASK)],
        [human(YEAR_TASK), ai(f"{TIME_CALL}\n{AGENTS_TIME_RESULT}"), ai(WRITE_CALL)],
    ),
    Case(
        "anyagent_openai_agents_generation_3.json",
        openai_agents_generation,
        [human(YEAR_TASK), ai(AGENTS_ANSWER)],
        [
            human(YEAR_TASK),
            ai(f"{TIME_CALL}\n{AGENTS_TIME_RESULT}"),
            ai(f"{WRITE_CALL}\n[tool result write_file: None]"),
            ai(AGENTS_ANSWER),
        ],
    ),
    Case(
        "anyagent_smolagents_llm_1.json",
        smolagents_call,
        [human(SMOL_TASK)],
        [human(SMOL_TASK), ai(TIME_CALL)],
    ),
    Case(
        "anyagent_smolagents_llm_2.json",
        smolagents_call,
        [human(SMOL_TASK), ai(SMOL_CALLED_TIME)],
        [human(SMOL_TASK), ai(f"{SMOL_CALLED_TIME}\n{SMOL_TIME_RESULT}"), ai(WRITE_CALL)],
    ),
    Case(
        "anyagent_smolagents_llm_3.json",
        smolagents_call,
        [human(SMOL_TASK), ai(SMOL_CALLED_TIME), ai(SMOL_CALLED_WRITE)],
        [
            human(SMOL_TASK),
            ai(f"{SMOL_CALLED_TIME}\n{SMOL_TIME_RESULT}"),
            ai(f"{SMOL_CALLED_WRITE}\n[tool result: Observation: None]"),
            ai(SMOL_FINAL_CALL),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_real_payload_turns(case: Case):
    assert extract_transcript(case.load(case.name)) == case.turns


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_real_payload_turns_with_tools(case: Case):
    assert extract_transcript(case.load(case.name), include_tools=True) == case.turns_with_tools


# -- long answers: o1-mini's reply to the matrix question -------------------------------------

REASONING = {
    "langsmith_py_wrap_openai_reasoning.json": (
        "Certainly! Below is a **Bash script** that takes a matrix represented as a string in the "
        'format `"[1,2],[3,4],[5,6]"` and prints its transpose in the ',
        "Feel free to modify and enhance the script based on your specific needs!",
    ),
    "langsmith_js_wrap_openai_reasoning.json": (
        "Certainly! Below is a Bash script that takes a matrix represented as a string in the "
        'format `"[1,2],[3,4],[5,6]"` and outputs its transpose in the sam',
        "Feel free to customize and enhance the script as needed for more complex scenarios or "
        "additional validations!",
    ),
}


@pytest.mark.parametrize("name", sorted(REASONING))
@pytest.mark.parametrize("include_tools", [False, True])
def test_real_reasoning_run_keeps_the_whole_answer(name: str, include_tools: bool):
    start, end = REASONING[name]
    question, answer = extract_transcript(langsmith_run(name), include_tools=include_tools)
    assert question == human(MATRIX_QUESTION)
    assert answer.role == "ai"
    assert answer.text.startswith(start)
    assert answer.text.endswith(end)
    assert "```bash\n#!/bin/bash\n" in answer.text  # the script itself, newlines intact


# -- a thread of real runs --------------------------------------------------------------------

LITELLM_RUNS = [f"anyagent_langchain_chatlitellm_llm_{index}.json" for index in (1, 2, 3)]


def test_real_llm_runs_merge_into_one_thread():
    runs = [span_run(name) for name in LITELLM_RUNS]
    assert extract_thread(runs) == [human(YEAR_TASK), ai(LITELLM_ANSWER)]
    assert extract_thread(runs, include_tools=True) == LITELLM_WITH_TOOLS


def test_real_root_run_with_repr_outputs_is_a_clear_error():
    """any-agent's root span holds ``str(message)`` reprs, not messages: nothing to read there."""
    expected = r"outputs\['messages'\], item 0: a str is not a message"
    with pytest.raises(TranscriptError, match=expected):
        extract_transcript(span_run("anyagent_langgraph_agent_root.json"))


def test_one_odd_run_does_not_fail_the_thread(caplog: pytest.LogCaptureFixture):
    runs = [span_run(name) for name in LITELLM_RUNS]
    odd = span_run("anyagent_langgraph_agent_root.json")
    with caplog.at_level(logging.WARNING, logger="langchain_perceived_error.core.transcript"):
        turns = extract_thread([runs[0], odd, runs[1], runs[2]])
    assert turns == [human(YEAR_TASK), ai(LITELLM_ANSWER)]
    assert "thread item 1 skipped" in caplog.text
    assert "a str is not a message" in caplog.text


def test_a_thread_of_odd_runs_only_is_still_an_error():
    odd = span_run("anyagent_langgraph_agent_root.json")
    with pytest.raises(TranscriptError, match=r"thread item 0: .*a str is not a message"):
        extract_thread([odd, odd])


def test_every_corpus_file_is_tested_and_listed_in_the_provenance_table():
    provenance = (REAL / "PROVENANCE.md").read_text(encoding="utf-8")
    tested = {case.name for case in CASES} | set(REASONING) | {"anyagent_langgraph_agent_root.json"}
    files = {path.name for path in REAL.glob("*.json")}
    assert files == tested
    assert len(files) >= 20
    for name in files:
        assert f"`{name}`" in provenance, f"{name} has no provenance row"
