"""extract_transcript / extract_thread on hand-written inputs, one test per shape and rule."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from langchain_core.load import dumpd
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    messages_to_dict,
)
from langchain_core.prompts import PromptTemplate
from langsmith.schemas import Run

from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import (
    TranscriptError,
    extract_thread,
    extract_transcript,
)


def human(text: str) -> Turn:
    return Turn(role="human", text=text)


def ai(text: str) -> Turn:
    return Turn(role="ai", text=text)


def lc_history() -> list[Any]:
    """A small tool-using conversation as LangChain messages."""
    return [
        SystemMessage(content="You are a weather bot."),
        HumanMessage(content="Weather in Paris?"),
        AIMessage(
            content="", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}]
        ),
        ToolMessage(content="Paris: 18°C", tool_call_id="c1", name="get_weather"),
        AIMessage(content="It's 18°C in Paris."),
        HumanMessage(content="No, I meant Paris, Texas."),
    ]


LC_TURNS = [
    human("Weather in Paris?"),
    ai("It's 18°C in Paris."),
    human("No, I meant Paris, Texas."),
]


# -- 1. LangChain messages --------------------------------------------------------------------


def test_base_messages_drop_system_tools_and_tool_call_only_ai_messages():
    assert extract_transcript(lc_history()) == LC_TURNS


def test_include_tools_keeps_tool_activity_as_text_inside_ai_turns():
    assert extract_transcript(lc_history(), include_tools=True) == [
        human("Weather in Paris?"),
        ai('[tool call get_weather({"city": "Paris"})]\n[tool result get_weather: Paris: 18°C]'),
        ai("It's 18°C in Paris."),
        human("No, I meant Paris, Texas."),
    ]


def test_ai_text_and_tool_call_share_one_turn_with_include_tools():
    message = AIMessage(
        content="Let me check.", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c9"}]
    )
    assert extract_transcript([HumanMessage(content="hi"), message]) == [
        human("hi"),
        ai("Let me check."),
    ]
    assert extract_transcript([message], include_tools=True) == [
        ai('Let me check.\n[tool call search({"q": "x"})]')
    ]


# -- 2. serialized messages -------------------------------------------------------------------


def test_lc_serialized_dicts_are_loaded():
    serialized = [dumpd(message) for message in lc_history()]
    assert serialized[1]["lc"] == 1
    assert extract_transcript(serialized) == LC_TURNS


def test_message_to_dict_dicts_are_loaded():
    serialized = messages_to_dict(lc_history())
    assert serialized[1]["type"] == "human"
    assert "data" in serialized[1]
    assert extract_transcript(serialized) == LC_TURNS


def test_flat_langchain_dicts_as_traced_by_langgraph():
    serialized = [message.model_dump() for message in lc_history()]
    assert extract_transcript(serialized) == LC_TURNS


# -- 3. OpenAI chat dicts ---------------------------------------------------------------------

OPENAI = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Find flights to Rome."},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "search_flights", "arguments": '{"to": "ROM"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "2 flights found"},
    {"role": "assistant", "content": "I found 2 flights to Rome."},
    {"role": "user", "content": "I said Rome, Georgia."},
]


def test_openai_dicts_drop_tool_calls_and_results():
    assert extract_transcript(OPENAI) == [
        human("Find flights to Rome."),
        ai("I found 2 flights to Rome."),
        human("I said Rome, Georgia."),
    ]


def test_openai_tool_result_is_named_after_its_call():
    turns = extract_transcript(OPENAI, include_tools=True)
    assert turns[1] == ai(
        '[tool call search_flights({"to": "ROM"})]\n[tool result search_flights: 2 flights found]'
    )


def test_openai_assistant_message_without_content_key():
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": OPENAI[2]["tool_calls"]},
        {"role": "assistant", "content": "hello"},
    ]
    assert extract_transcript(messages) == [human("hi"), ai("hello")]


# -- 4. Anthropic content blocks --------------------------------------------------------------

ANTHROPIC = [
    {"role": "user", "content": "What's 2+2? Use the calculator."},
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "easy", "signature": "sig"},
            {"type": "text", "text": "Calculating."},
            {"type": "tool_use", "id": "tu_1", "name": "calc", "input": {"expr": "2+2"}},
        ],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": "4"}],
    },
    {"role": "assistant", "content": [{"type": "text", "text": "2+2 is 5."}]},
    {"role": "user", "content": [{"type": "text", "text": "That's wrong."}]},
]


def test_anthropic_tool_result_only_user_message_is_not_a_human_turn():
    assert extract_transcript(ANTHROPIC) == [
        human("What's 2+2? Use the calculator."),
        ai("Calculating."),
        ai("2+2 is 5."),
        human("That's wrong."),
    ]


def test_anthropic_tool_blocks_with_include_tools():
    turns = extract_transcript(ANTHROPIC, include_tools=True)
    assert turns[1] == ai('Calculating.\n[tool call calc({"expr": "2+2"})]\n[tool result calc: 4]')
    assert [turn.role for turn in turns] == ["human", "ai", "ai", "human"]


def test_anthropic_user_message_with_tool_result_and_text_keeps_the_text():
    messages = [
        ANTHROPIC[1],
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "tu_1",
                    "content": [{"type": "text", "text": "failed"}],
                    "is_error": True,
                },
                {"type": "text", "text": "Why did it fail?"},
            ],
        },
    ]
    assert extract_transcript(messages) == [ai("Calculating."), human("Why did it fail?")]
    assert extract_transcript(messages, include_tools=True) == [
        ai('Calculating.\n[tool call calc({"expr": "2+2"})]\n[tool error calc: failed]'),
        human("Why did it fail?"),
    ]


def test_tool_use_repeated_in_tool_calls_is_rendered_once():
    message = AIMessage(
        content=[{"type": "tool_use", "id": "tu_1", "name": "calc", "input": {"expr": "1"}}],
        tool_calls=[{"name": "calc", "args": {"expr": "1"}, "id": "tu_1"}],
    )
    assert extract_transcript([message], include_tools=True) == [
        ai('[tool call calc({"expr": "1"})]')
    ]


# -- 5. (role, text) pairs --------------------------------------------------------------------


def test_role_tuples_and_json_pairs():
    pairs = [("user", "hi"), ["assistant", "hello"], ("human", "thanks"), ["ai", "any time"]]
    assert extract_transcript(pairs) == [
        human("hi"),
        ai("hello"),
        human("thanks"),
        ai("any time"),
    ]


# -- 6. LangGraph state -----------------------------------------------------------------------


def test_langgraph_state_other_keys_are_ignored():
    state = {"id": "t1", "messages": [("user", "hi"), ("assistant", "hello")], "note": "x"}
    assert extract_transcript(state) == [human("hi"), ai("hello")]


# -- 7. LangSmith runs ------------------------------------------------------------------------


def test_llm_run_nested_inputs_and_generations():
    history = lc_history()
    run = {
        "run_type": "llm",
        "inputs": {"messages": [[dumpd(message) for message in history[:5]]]},
        "outputs": {
            "generations": [
                [{"text": "Sorry!", "message": dumpd(AIMessage(content="Sorry!"))}],
            ],
            "llm_output": None,
        },
    }
    assert extract_transcript(run) == [
        human("Weather in Paris?"),
        ai("It's 18°C in Paris."),
        ai("Sorry!"),
    ]


def test_llm_run_generation_with_text_only():
    run = {
        "inputs": {"messages": [[["user", "hi"]]]},
        "outputs": {"generations": [[{"text": "yo"}]]},
    }
    assert extract_transcript(run) == [human("hi"), ai("yo")]


def test_chain_run_outputs_repeating_the_history_are_deduplicated_by_content():
    run = {
        "inputs": {"messages": [{"role": "user", "content": "and tomorrow?"}]},
        "outputs": {
            "messages": [
                {"role": "user", "content": "weather today?"},
                {"role": "assistant", "content": "Sunny."},
                {"role": "user", "content": "and tomorrow?"},
                {"role": "assistant", "content": "Rain."},
            ]
        },
    }
    assert extract_transcript(run) == [
        human("weather today?"),
        ai("Sunny."),
        human("and tomorrow?"),
        ai("Rain."),
    ]


def test_run_outputs_starting_with_the_input_messages_give_each_message_once():
    asked = [
        {"type": "human", "content": "Book Tuesday.", "id": "m1"},
        {"type": "ai", "content": "Booked Wednesday.", "id": "m2"},
        {"type": "human", "content": "I said Tuesday!", "id": "m3"},
    ]
    answered = [*asked, {"type": "ai", "content": "Sorry, moved to Tuesday.", "id": "m4"}]
    run = {"inputs": {"messages": asked}, "outputs": {"messages": answered}}
    expected = [
        human("Book Tuesday."),
        ai("Booked Wednesday."),
        human("I said Tuesday!"),
        ai("Sorry, moved to Tuesday."),
    ]
    assert extract_transcript(run) == expected
    # the same as when both sides are read and merged (inputs as a tuple are not compared with
    # the outputs' list, so the shortcut that reads only the outputs is not taken)
    assert extract_transcript({**run, "inputs": {"messages": tuple(asked)}}) == expected


def test_run_with_an_unreadable_message_repeated_in_outputs_names_the_inputs():
    bad = {"role": "wizard", "content": "abracadabra"}
    run = {
        "inputs": {"messages": [bad]},
        "outputs": {"messages": [bad, {"role": "assistant", "content": "ok"}]},
    }
    with pytest.raises(TranscriptError, match=r"^inputs\['messages'\], item 0: .*wizard"):
        extract_transcript(run)


def test_chain_run_inputs_without_ids_match_outputs_with_ids():
    run = {
        "inputs": {"messages": [{"role": "user", "content": "hi"}]},
        "outputs": {
            "messages": [
                {"type": "human", "content": "hi", "id": "m1"},
                {"type": "ai", "content": "hello", "id": "m2"},
            ]
        },
    }
    assert extract_transcript(run) == [human("hi"), ai("hello")]


def test_wrap_openai_run():
    run = {
        "name": "ChatOpenAI",
        "run_type": "llm",
        "inputs": {"messages": OPENAI[:2], "model": "gpt-4o-mini", "temperature": 0},
        "outputs": {
            "id": "chatcmpl-1",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Which Rome?"}},
            ],
            "usage": {"prompt_tokens": 10},
        },
    }
    assert extract_transcript(run) == [human("Find flights to Rome."), ai("Which Rome?")]


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [
        ({"question": "What is 2+2?"}, {"answer": "4"}),
        ({"input": "What is 2+2?", "config": {"x": 1}}, {"output": "4"}),
        ({"query": "What is 2+2?"}, {"result": "4", "sources": []}),
        ({"user_message": "What is 2+2?"}, {"reply": "4"}),  # one string each, any key
        ({"question": "What is 2+2?", "role": "student"}, {"answer": "4"}),
    ],
)
def test_fallback_run_with_one_user_string_and_one_answer_string(inputs, outputs):
    run = {"inputs": inputs, "outputs": outputs}
    assert extract_transcript(run) == [human("What is 2+2?"), ai("4")]


def test_fallback_run_with_chat_history():
    run = {
        "inputs": {"input": "And in March?", "chat_history": [("user", "Sales?"), ("ai", "10")]},
        "outputs": {"output": "12"},
    }
    assert extract_transcript(run) == [
        human("Sales?"),
        ai("10"),
        human("And in March?"),
        ai("12"),
    ]


def test_pending_run_without_outputs():
    assert extract_transcript({"inputs": {"question": "hi"}, "outputs": None}) == [human("hi")]


def test_langsmith_run_object():
    run = Run(
        id=uuid.uuid4(),
        name="chat",
        run_type="chain",
        start_time=datetime(2025, 1, 1, tzinfo=timezone.utc),
        trace_id=uuid.uuid4(),
        inputs={"question": "hi"},
        outputs={"answer": "hello"},
    )
    assert extract_transcript(run) == [human("hi"), ai("hello")]


# -- 8. threads -------------------------------------------------------------------------------


def _run(inputs: Any, outputs: Any, start_time: Any = None) -> dict[str, Any]:
    run: dict[str, Any] = {"inputs": inputs, "outputs": outputs}
    if start_time is not None:
        run["start_time"] = start_time
    return run


def test_thread_dedup_by_message_id_keeps_repeated_text_with_new_ids():
    first = [
        {"type": "human", "content": "ok", "id": "h1"},
        {"type": "ai", "content": "Shall I send it?", "id": "a1"},
    ]
    second = [
        {"type": "human", "content": "ok", "id": "h2"},
        {"type": "ai", "content": "Shall I send it?", "id": "a2"},
    ]
    runs = [
        _run({"messages": first[:1]}, {"messages": first}),
        _run({"messages": second[:1]}, {"messages": [*first, *second]}),
    ]
    assert extract_thread(runs) == [
        human("ok"),
        ai("Shall I send it?"),
        human("ok"),
        ai("Shall I send it?"),
    ]


def test_thread_dedup_by_id_when_each_run_holds_only_its_own_turn():
    runs = [
        _run({"messages": [{"type": "human", "content": "a", "id": "1"}]}, {}),
        _run({"messages": [{"type": "human", "content": "a", "id": "1"}]}, {"output": "b"}),
        _run({"messages": [{"type": "human", "content": "c", "id": "3"}]}, {}),
    ]
    assert extract_thread(runs) == [human("a"), ai("b"), human("c")]


def test_thread_dedup_by_content_appends_only_the_non_overlapping_part():
    runs = [
        _run({"messages": [("user", "hi")]}, {"messages": [("assistant", "hello")]}),
        _run(
            {"messages": [("user", "hi"), ("assistant", "hello"), ("user", "bye")]},
            {"messages": [("assistant", "see you")]},
        ),
    ]
    assert extract_thread(runs) == [human("hi"), ai("hello"), human("bye"), ai("see you")]


def test_thread_of_independent_turns_is_concatenated():
    runs = [
        _run({"question": "hi"}, {"answer": "hello"}),
        _run({"question": "hi"}, {"answer": "hello again"}),
    ]
    assert extract_thread(runs) == [human("hi"), ai("hello"), human("hi"), ai("hello again")]


def test_thread_is_ordered_by_start_time_iso_strings_and_datetimes():
    start = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    runs = [
        _run({"question": "third"}, {"answer": "3"}, (start + timedelta(minutes=2)).isoformat()),
        _run({"question": "first"}, {"answer": "1"}, "2025-05-01T12:00:00Z"),
        _run({"question": "second"}, {"answer": "2"}, start.replace(tzinfo=None, minute=1)),
    ]
    texts = [turn.text for turn in extract_thread(runs)]
    assert texts == ["first", "1", "second", "2", "third", "3"]


def test_thread_keeps_the_given_order_when_a_start_time_is_missing():
    runs = [
        _run({"question": "b"}, {"answer": "2"}, "2025-05-01T12:00:00Z"),
        _run({"question": "a"}, {"answer": "1"}),
    ]
    assert [turn.text for turn in extract_thread(runs)] == ["b", "2", "a", "1"]


@pytest.mark.parametrize("wrap", [lambda runs: {"runs": runs}, list], ids=["runs-key", "list"])
def test_extract_transcript_detects_a_thread(wrap):
    runs = [
        _run({"question": "second"}, {"answer": "2"}, "2025-05-01T12:01:00+00:00"),
        _run({"question": "first"}, {"answer": "1"}, "2025-05-01T12:00:00+00:00"),
    ]
    assert [turn.text for turn in extract_transcript(wrap(runs))] == ["first", "1", "second", "2"]


def test_thread_of_run_objects():
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    runs = [
        Run(
            id=uuid.uuid4(),
            name="chat",
            run_type="chain",
            start_time=start + timedelta(seconds=index),
            trace_id=uuid.uuid4(),
            inputs={"question": question},
            outputs={"answer": answer},
        )
        for index, (question, answer) in enumerate([("hi", "hello"), ("why?", "because")])
    ]
    assert extract_thread(runs[::-1]) == [human("hi"), ai("hello"), human("why?"), ai("because")]


# -- non-text parts and empty texts -----------------------------------------------------------


def test_non_text_parts_become_placeholders():
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What's in this picture?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        },
        {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]},
        HumanMessage(
            content=[{"type": "file", "base64": "JVBERi0=", "mime_type": "application/pdf"}]
        ),
        AIMessage(content="A cat."),
    ]
    assert extract_transcript(messages) == [
        human("What's in this picture?\n[image]"),
        human("[audio]"),
        human("[file]"),
        ai("A cat."),
    ]


def test_text_blocks_run_together_and_reasoning_is_dropped():
    message = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "the user wants a greeting"},
            {"type": "text", "text": "Hello, "},
            {"type": "text", "text": "world."},
        ]
    )
    assert extract_transcript([message]) == [ai("Hello, world.")]


def test_empty_texts_are_dropped():
    messages = [
        HumanMessage(content="  "),
        HumanMessage(content="hi"),
        AIMessage(content=""),
        AIMessage(content=[{"type": "text", "text": "\n"}]),
        AIMessage(content="hello"),
    ]
    assert extract_transcript(messages) == [human("hi"), ai("hello")]


def test_empty_input_gives_no_turns():
    assert extract_transcript([]) == []
    assert extract_transcript({"messages": []}) == []


def test_long_tool_results_are_truncated():
    long_result = "word " * 100
    messages = [
        AIMessage(content="", tool_calls=[{"name": "fetch", "args": {}, "id": "c1"}]),
        ToolMessage(content=long_result, tool_call_id="c1", status="error"),
    ]
    (turn,) = extract_transcript(messages, include_tools=True)
    call, result = turn.text.split("\n")
    assert call == "[tool call fetch({})]"
    assert result.startswith("[tool error fetch: word word")
    assert result.endswith("…]")
    assert len(result) < 230


# -- errors -----------------------------------------------------------------------------------


def test_transcript_error_is_a_value_error():
    assert issubclass(TranscriptError, ValueError)


@pytest.mark.parametrize(
    ("obj", "found"),
    [
        ({"foo": 1, "bar": 2}, "a dict with keys ['foo', 'bar']"),
        (42, "an int"),
        ("just text", "a str"),
        ([1, 2], "a list of 2 items whose first item is an int"),
        ([{"foo": 1}], "whose first item is a dict with keys ['foo']"),
        (None, "a NoneType"),
    ],
)
def test_unrecognised_shapes_name_what_was_found(obj, found):
    with pytest.raises(TranscriptError) as excinfo:
        extract_transcript(obj)
    message = str(excinfo.value)
    assert message.startswith("unrecognised trace shape: ")
    assert found in message
    assert "{'messages': [...]}" in message


def test_unknown_role_raises_with_context():
    with pytest.raises(TranscriptError, match=r"item 1: .*'critic'") as excinfo:
        extract_transcript([("user", "hi"), {"role": "critic", "content": "meh"}])
    assert isinstance(excinfo.value.__cause__, ValueError)


def test_unknown_role_of_a_chat_message_raises():
    with pytest.raises(TranscriptError, match="ChatMessage with unknown role 'critic'"):
        extract_transcript([ChatMessage(role="critic", content="meh")])


def test_serialized_non_message_raises():
    with pytest.raises(TranscriptError, match="could not read a dict with keys"):
        extract_transcript([dumpd(PromptTemplate.from_template("{x}"))])


@pytest.mark.parametrize(
    "item",
    [{"type": "human", "data": "not a dict"}, {"type": "human"}, {"type": "human", "data": {}}],
)
def test_malformed_message_dicts_raise(item):
    with pytest.raises(TranscriptError, match="item 0: "):
        extract_transcript({"messages": [item]})


def test_malformed_messages_value_raises():
    with pytest.raises(TranscriptError, match="'messages' holds an int"):
        extract_transcript({"messages": 3})


def test_unrecognised_run_names_its_keys():
    with pytest.raises(TranscriptError) as excinfo:
        extract_transcript({"name": "step", "inputs": {"a": 1, "b": 2}, "outputs": {"c": [3]}})
    message = str(excinfo.value)
    assert "unrecognised run step" in message
    assert "['a', 'b']" in message
    assert "['c']" in message


def test_malformed_generations_raise():
    with pytest.raises(TranscriptError, match="generations"):
        extract_transcript({"inputs": {}, "outputs": {"generations": "oops"}})


def test_an_unreadable_thread_item_is_skipped_and_logged(caplog: pytest.LogCaptureFixture):
    broken = {"name": "broken", "inputs": {"messages": [{"role": "critic", "content": "x"}]}}
    runs = [_run({"question": "hi"}, {"answer": "hello"}), broken]
    with caplog.at_level(logging.WARNING, logger="langchain_perceived_error.core.transcript"):
        assert extract_thread(runs) == [human("hi"), ai("hello")]
    assert "thread item 1 (broken) skipped" in caplog.text
    assert "critic" in caplog.text


def test_a_thread_whose_every_item_is_unreadable_names_the_first():
    broken = {"name": "broken", "inputs": {"messages": [{"role": "critic", "content": "x"}]}}
    with pytest.raises(TranscriptError, match=r"thread item 0 \(broken\): .*critic"):
        extract_thread([broken, {**broken, "name": "broken too"}])


@pytest.mark.parametrize("runs", ["not runs", {"runs": []}, 3])
def test_extract_thread_rejects_non_sequences(runs):
    with pytest.raises(TranscriptError, match="a thread must be a list of runs"):
        extract_thread(runs)


def test_a_human_message_carrying_a_providers_tool_calls_merges_in_a_thread():
    # found by the differential tests of core/message_reader: a bare KeyError escaped the merge
    human = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", "HumanMessage"],
        "kwargs": {
            "content": "hi",
            "tool_calls": [
                {"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
    }
    run = {"inputs": {"messages": [human]}, "outputs": {"output": "hello"}}
    assert extract_thread([run, run]) == [
        Turn(role="human", text="hi"),
        Turn(role="ai", text="hello"),
    ]


# -- this package's own turns -------------------------------------------------------------------


def test_a_labelled_record_as_label_writes_it_is_read_to_its_own_turns():
    from langchain_perceived_error.core.schemas import LabelledRecord, Provenance, Turn, Verdict

    turns = [
        Turn(role="human", text="Book Tuesday."),
        Turn(role="ai", text="Booked Wednesday.\n  Anything else?"),
        Turn(role="human", text="No, I said Tuesday."),
    ]
    record = LabelledRecord(
        id="l1",
        turns=turns,
        label=Verdict(perceived_error=True, reason="The user corrects the day."),
        provenance=Provenance(kind="panel", by="a,b"),
    ).model_dump(mode="json")
    assert extract_transcript(record) == turns
    assert extract_transcript(record["turns"]) == turns  # a result line's `turns`, on its own


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # home-made logs: user / assistant roles, a system turn dropped
        ([{"role": "system", "text": "Be kind."}, {"role": "user", "text": "Hi"},
          {"role": "assistant", "text": "Hello"}], [("human", "Hi"), ("ai", "Hello")]),
        # a run whose sides are single turns (read before the turns shape existed; kept)
        ({"inputs": {"input": "hi"}, "outputs": {"role": "assistant", "text": "hello"}},
         [("human", "hi"), ("ai", "hello")]),
        ({"inputs": {"role": "user", "text": "hi"}, "outputs": {"output": "hello"}},
         [("human", "hi"), ("ai", "hello")]),
    ],
)  # fmt: skip
def test_role_and_text_dicts_in_other_shapes_are_read(record: Any, expected: list[Any]):
    assert [(t.role, t.text) for t in extract_transcript(record)] == expected


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ([{"role": "robot", "text": "x"}], "got role 'robot' and a str text"),
        ([{"role": "human", "text": 3}], "got role 'human' and a int text"),
        ("not a list", "unrecognised trace shape"),
    ],
)
def test_turns_that_are_not_the_package_s_own_are_named(turns: Any, message: str):
    with pytest.raises(TranscriptError) as raised:
        extract_transcript({"turns": turns})
    assert message in str(raised.value)
