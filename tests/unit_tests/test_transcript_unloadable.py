"""Serialized parts that cannot be loaded, and streamed chunks, on small hand-built messages.

The real payloads that showed these cases are in ``test_real_payloads.py``; these tests pin each
rule on its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript

NOT_IMPLEMENTED = {
    "lc": 1,
    "type": "not_implemented",
    "id": ["litellm", "types", "utils", "Usage"],
    "repr": "Usage(total_tokens=3)",
}
PROMPT = {  # a constructor that the messages allowlist refuses
    "lc": 1,
    "type": "constructor",
    "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
    "kwargs": {"template": "x", "input_variables": []},
}


def human(text: str) -> Turn:
    return Turn(role="human", text=text)


def ai(text: str) -> Turn:
    return Turn(role="ai", text=text)


def with_kwargs(message: Any, **kwargs: Any) -> dict[str, Any]:
    dumped = dumpd(message)
    dumped["kwargs"].update(kwargs)
    return dumped


def test_unloadable_metadata_is_dropped_and_the_text_kept():
    answer = with_kwargs(
        AIMessage(content="Here it is.", id="a1"),
        additional_kwargs={"tool_calls": [NOT_IMPLEMENTED]},
        response_metadata={"token_usage": NOT_IMPLEMENTED, "model_name": "m"},
    )
    question = with_kwargs(HumanMessage(content="Show me."), additional_kwargs={"p": PROMPT})
    assert extract_transcript([question, answer]) == [human("Show me."), ai("Here it is.")]


def test_an_unloadable_content_part_becomes_a_placeholder():
    answer = with_kwargs(
        AIMessage(content="", id="a1"),
        content=[{"type": "text", "text": "Here it is."}, NOT_IMPLEMENTED],
    )
    assert extract_transcript([answer]) == [ai("Here it is.\n[unreadable]")]


def test_unloadable_content_alone_is_a_placeholder_turn():
    answer = with_kwargs(AIMessage(content="", id="a1"), content=NOT_IMPLEMENTED)
    assert extract_transcript([("user", "hi"), answer]) == [human("hi"), ai("[unreadable]")]


def test_an_unloadable_object_in_place_of_a_message_is_still_an_error():
    with pytest.raises(TranscriptError, match="unrecognised trace shape"):
        extract_transcript([NOT_IMPLEMENTED])


def test_streamed_chunks_of_one_message_merge_into_one_turn():
    chunks = [
        AIMessageChunk(content="", id="c1", tool_call_chunks=[_chunk("search", '{"q": ', "t1")]),
        AIMessageChunk(content="", id="c1", tool_call_chunks=[_chunk(None, '"x"}', None)]),
        AIMessageChunk(content="Found ", id="c2"),
        AIMessageChunk(content="it.", id="c2"),
    ]
    messages = [HumanMessage(content="Find x", id="h1"), *map(dumpd, chunks)]
    assert extract_transcript(messages) == [human("Find x"), ai("Found it.")]
    assert extract_transcript(messages, include_tools=True) == [
        human("Find x"),
        ai('[tool call search({"q": "x"})]'),
        ai("Found it."),
    ]


def test_a_lone_partial_chunk_is_tool_activity_not_a_turn():
    partial = AIMessageChunk(content="", id="c1", tool_call_chunks=[_chunk(None, '"x"}', None)])
    assert extract_transcript([("user", "Find x"), partial]) == [human("Find x")]


@pytest.mark.parametrize(
    "block",
    [
        {"type": "input_json_delta", "partial_json": '{"q": "x"}', "index": 1},
        {"type": "tool_call_chunk", "args": '{"q": "x"}', "index": 1},
    ],
)
def test_streamed_tool_blocks_in_content_are_never_text(block: dict[str, Any]):
    chunk = AIMessageChunk(content=[{"type": "text", "text": "Let me check."}, block], id="c1")
    expected = [human("Find x"), ai("Let me check.")]
    assert extract_transcript([("user", "Find x"), chunk]) == expected
    assert extract_transcript([("user", "Find x"), chunk], include_tools=True) == expected


def test_a_named_tool_call_chunk_in_content_shows_the_call():
    block = {"type": "tool_call_chunk", "id": "t1", "name": "search", "args": '{"q": "x"}'}
    chunk = AIMessageChunk(content=[{"type": "text", "text": "Let me check."}, block], id="c1")
    assert extract_transcript([chunk], include_tools=True) == [
        ai('Let me check.\n[tool call search({"q": "x"})]')
    ]


def _chunk(name: str | None, args: str, call_id: str | None) -> Any:
    return {"name": name, "args": args, "id": call_id, "index": 0, "type": "tool_call_chunk"}
