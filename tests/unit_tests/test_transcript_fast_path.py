"""The plain-text fast path of transcript reading gives exactly what ``content_blocks`` gives.

``transcript._blocks`` skips LangChain's block translators for string content with nothing
else attached; these tests compare it with the slow path on every message of the bundled
sample, the benchmark's agent traces and the nasty-records corpus, and on generated messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from langchain_perceived_error.core.transcript import (
    TranscriptError,
    _blocks,
    _is_plain_text,
    _messages,
)

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    ROOT / "cookbook" / "data" / "sample_traces.jsonl",
    ROOT / "benchmarks" / "data" / "agent_traces.jsonl",
    ROOT / "tests" / "data" / "nasty_records.jsonl",
]


def slow_blocks(message: BaseMessage) -> list[Mapping[str, Any]]:
    return [block for block in message.content_blocks if isinstance(block, Mapping)]


def messages_in_files() -> Iterator[BaseMessage]:
    for path in FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                yield from _messages(json.loads(line))
            except (TranscriptError, ValueError, RecursionError):
                continue  # unreadable records (the corpus's point) have no messages to compare


def test_fast_path_matches_content_blocks_on_every_stored_message():
    messages = list(messages_in_files())
    fast = [m for m in messages if _is_plain_text(m)]
    assert len(fast) > 500  # the fast path is the common case ...
    assert len(fast) < len(messages)  # ... and tool-calling messages still take the slow one
    for message in messages:
        assert _blocks(message) == slow_blocks(message), message


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(
    kind=st.sampled_from([HumanMessage, SystemMessage, AIMessage]),
    content=st.one_of(texts, st.lists(texts, max_size=3)),
    reasoning=st.booleans(),
)
def test_fast_path_matches_content_blocks_on_generated_messages(
    kind: type[BaseMessage], content: Any, reasoning: bool
):
    extra = {"additional_kwargs": {"reasoning_content": "thinking"}} if reasoning else {}
    message = kind(content=content, **extra)
    assert _blocks(message) == slow_blocks(message)


def test_tool_calls_and_reasoning_take_the_slow_path():
    call = {"name": "search", "args": {"q": "x"}, "id": "c1"}
    assert not _is_plain_text(AIMessage(content="", tool_calls=[call]))
    assert not _is_plain_text(
        AIMessage(content="x", additional_kwargs={"reasoning_content": "hmm"})
    )
    assert not _is_plain_text(
        AIMessage(content="x", response_metadata={"model_provider": "anthropic"})
    )
    assert _is_plain_text(AIMessage(content="x"))
