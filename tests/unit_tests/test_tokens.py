"""The one token estimator: LangChain's ``count_tokens_approximately``, set per use."""

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately

from langchain_perceived_error.core.prompts import build_judge_messages
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.tokens import (
    TURN_SEPARATOR_TOKENS,
    estimate_text_tokens,
    estimate_tokens,
    estimate_transcript_tokens,
    estimate_turn_tokens,
    resolve_token_counter,
    tiktoken_usable_offline,
)

TURNS = [Turn(role="human", text="Book Tuesday."), Turn(role="ai", text="Booked Wednesday.")]


def test_messages_are_counted_by_langchain_with_its_defaults():
    messages = build_judge_messages(TURNS)
    assert estimate_tokens(messages) == count_tokens_approximately(messages) > 0
    tool = {"type": "function", "function": {"name": "score", "parameters": {}}}
    assert estimate_tokens(messages, tools=[tool]) == count_tokens_approximately(
        messages, tools=[tool]
    )
    assert estimate_text_tokens("x" * 41) == 11  # the content term alone, rounded up


def test_a_turn_counts_its_role_label_text_and_one_separator_token():
    # as the judge reads it: "user: <40 characters>\n" -> ceil((4 + 40) / 4) + 1
    assert estimate_turn_tokens(Turn(role="human", text="x" * 40)) == 12
    # "assistant: <40 characters>\n" -> ceil((9 + 40) / 4) + 1
    assert estimate_turn_tokens(Turn(role="ai", text="x" * 40)) == 14
    assert estimate_transcript_tokens(TURNS) == sum(estimate_turn_tokens(t) for t in TURNS)


@pytest.mark.parametrize("role", ["human", "ai"])
@pytest.mark.parametrize(
    "text", ["", "x", "abc", "x" * 37, "x" * 38, "Book Tuesday, not Wednesday.", "é€😀 " * 51]
)
def test_a_turn_is_counted_as_langchain_counts_its_message(role, text):
    # estimate_turn_tokens computes LangChain's figure without building the message
    message = HumanMessage(text) if role == "human" else AIMessage(text)
    expected = count_tokens_approximately([message], extra_tokens_per_message=TURN_SEPARATOR_TOKENS)
    assert estimate_turn_tokens(Turn(role=role, text=text)) == expected


def test_the_sft_chars_counter_over_counts_by_a_quarter_plus_the_template():
    counter = resolve_token_counter("chars")
    messages = [{"role": "user", "content": "x" * 60}, {"role": "assistant", "content": "y" * 23}]
    # (4 + 60) / 3.2 = 20 and (9 + 23) / 3.2 = 10, plus 5 template tokens each
    assert counter.count(messages) == 20 + 5 + 10 + 5
    assert counter.count(messages) > estimate_tokens(messages)


def test_tiktoken_is_asked_offline_and_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert not tiktoken_usable_offline()
    assert list(tmp_path.iterdir()) == []  # nothing was fetched into the cache
    with pytest.raises(ValueError, match="unknown token counter"):
        resolve_token_counter("sentencepiece")  # type: ignore[arg-type]
