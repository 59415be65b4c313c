"""The fast paths of transcript reading give exactly what the general path gives.

``core.message_reader`` builds the commonest serialized messages without LangChain's dispatch
(or, for text-only ones, a ``TextMessage`` standing for the message), and ``transcript._render``
renders string content without ``content_blocks``. With ``transcript.FAST_PATHS`` off every
message takes the general path. These tests read every trace shape the repository holds (the
bundled sample, the benchmark's traces, the nasty-records corpus, the recorded payloads under
tests/data/real, the threads of tests/fixtures) and generated ones both ways, whole and message by
message, and require the same turns, the same errors, and the same messages: equal LangChain
messages, or a ``TextMessage`` where the general path's message gives the transcript exactly what
it gives (kind, content, id, de-duplication key, content blocks, rendering with and without tools).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.load import dumpd
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)

from langchain_perceived_error.core import message_reader, transcript
from langchain_perceived_error.core.message_reader import TextMessage
from langchain_perceived_error.core.transcript import (
    extract_thread,
    extract_transcript,
)
from tests.fixtures.conversation_runs import conversation

ROOT = Path(__file__).resolve().parents[2]
JSONL = [
    ROOT / "cookbook" / "data" / "sample_traces.jsonl",
    ROOT / "benchmarks" / "data" / "agent_traces.jsonl",
    ROOT / "tests" / "data" / "nasty_records.jsonl",
]
REAL = sorted((ROOT / "tests" / "data" / "real").glob("*.json"))


def stored_records() -> list[Any]:
    records: list[Any] = []
    for path in JSONL:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except (ValueError, RecursionError):
                    records.append(line)  # the corpus holds broken lines on purpose
    records.extend(json.loads(path.read_text(encoding="utf-8")) for path in REAL)
    for flagged in (False, True):
        messages, _ = conversation(flagged)
        records.append({"messages": messages})
    return records


def parts(value: Any, depth: int = 0) -> Iterator[Any]:
    """Every dict and list inside ``value`` (the messages of a record among them)."""
    if depth > 40:
        return
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from parts(item, depth + 1)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from parts(item, depth + 1)


def outcome(read: Any, obj: Any, **kwargs: Any) -> Any:
    """What ``read`` gives for ``obj``: its result, or the error it raises (type and text)."""
    try:
        return read(obj, **kwargs)
    except Exception as e:  # any error: both paths must fail alike, whatever the failure
        return (type(e).__name__, str(e))


def both_ways(monkeypatch: pytest.MonkeyPatch, read: Any, obj: Any, **kwargs: Any) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(transcript, "FAST_PATHS", False)
        general = outcome(read, obj, **kwargs)
    fast = outcome(read, obj, **kwargs)
    return fast, general


def without_random_ids(blocks: Any) -> list[Any]:
    """Blocks without the ``lc_<uuid4>`` ids LangChain draws for converted parts."""
    return [
        {k: v for k, v in block.items() if not (k == "id" and str(v).startswith("lc_"))}
        if isinstance(block, dict)
        else block
        for block in blocks
    ]


def read_one(item: Any) -> Any:
    """What the transcript reads of ``item``'s message, under the current ``FAST_PATHS``."""
    message = transcript._read_message(item)
    kind = transcript._kind(message)
    seen: tuple[Any, ...] = (
        kind,
        message.content,
        message.id,
        transcript._content_key(message),
        without_random_ids(transcript._blocks(message)),
        without_random_ids(message.content_blocks),
    )
    if kind != "skip":
        seen += (transcript._render(message, kind, None), transcript._render(message, kind, {}))
    if isinstance(message, TextMessage):
        return "text", seen
    return "message", seen, type(message), message.model_dump(), message.model_fields_set


def same_message(fast: Any, general: Any) -> bool:
    """Equal outcomes (messages or errors), or a TextMessage where the general message reads
    the same."""
    if fast == general:
        return True
    return fast[0] == "text" and general[0] == "message" and fast[1] == general[1]


def test_every_stored_trace_reads_the_same_both_ways(monkeypatch):
    records = stored_records()
    assert len(records) > 150
    for record in records:
        for include_tools in (False, True):
            fast, general = both_ways(
                monkeypatch, extract_transcript, record, include_tools=include_tools
            )
            assert fast == general, record
            if isinstance(record, dict) and isinstance(record.get("runs"), list):
                fast, general = both_ways(
                    monkeypatch, extract_thread, record["runs"], include_tools=include_tools
                )
                assert fast == general, record


def test_every_stored_message_and_part_reads_the_same_both_ways(monkeypatch):
    read, text_only = 0, 0
    for record in stored_records():
        for part in parts(record):
            fast, general = both_ways(monkeypatch, read_one, part)
            assert same_message(fast, general), part
            fast_read = message_reader.read_serialized(part)
            read += fast_read is not None
            text_only += isinstance(fast_read, TextMessage)
            for include_tools in (False, True):  # a part may itself be a trace
                fast, general = both_ways(
                    monkeypatch, extract_transcript, part, include_tools=include_tools
                )
                assert fast == general, part
    assert read > 300  # the fast reader does serve the stored shapes ...
    assert 100 < text_only < read  # ... as TextMessages and as LangChain messages


@pytest.mark.parametrize("cls", [HumanMessage, AIMessage, SystemMessage, ToolMessage])
def test_load_maps_each_id_the_fast_reader_knows_to_its_class(cls):
    ident = [i for i, c in message_reader._LC_CLASSES.items() if c is cls]
    assert len(ident) == 1
    kwargs = {"content": "x", "tool_call_id": "c1"} if cls is ToolMessage else {"content": "x"}
    item = {"lc": 1, "type": "constructor", "id": list(ident[0]), "kwargs": kwargs}
    assert type(transcript._load(item)) is cls  # ``load(..., allowed_objects="messages")``
    named = {**item, "kwargs": {**kwargs, "content": ["x"]}}  # list content: not a TextMessage
    assert type(message_reader.read_serialized(named)) is cls
    assert message_reader.read_serialized(named) == transcript._load(named)


def test_the_fast_reader_leaves_other_shapes_to_the_general_one():
    human = dumpd(HumanMessage(content="x"))
    nested = {**human, "kwargs": {**human["kwargs"], "additional_kwargs": {"o": {"lc": 1}}}}
    escaped = {**human, "kwargs": {**human["kwargs"], "additional_kwargs": {"__lc_escaped__": {}}}}
    jinja = {**human, "kwargs": {**human["kwargs"], "template_format": "jinja2"}}
    js_id = {**human, "id": ["langchain_core", "messages", "HumanMessage"]}
    for item in (
        nested,
        escaped,
        jinja,
        js_id,
        {"role": "developer", "content": "x"},
        {"role": "tool-response", "content": "x"},
        {"role": "user", "content": "x", "type": "text"},
        {"type": "chat", "data": {"content": "x", "role": "bot"}},
        {"type": "AIMessageChunk", "data": {"content": "x"}},
        {"type": "ai", "content": "x", "message_type": "y"},
        {"role": "assistant", "content": None, "tool_calls": [{"function": {"arguments": "{"}}]},
        {"role": "tool", "content": "x"},  # no tool_call_id: invalid, the general path says so
        [("human", "x")],
        "text",
    ):
        assert message_reader.read_serialized(item) is None, item


# -- generated messages in every serialized shape, valid and broken --------------------------

TEXT = st.text(max_size=12)
BLOCK = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}),
    st.fixed_dictionaries(
        {"type": st.just("text"), "text": st.one_of(TEXT, st.none())},
        optional={"source_type": st.just("text"), "citations": st.none(), "index": st.just(0)},
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["image_url", "thinking", "reasoning"])}),
    st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": TEXT, "name": TEXT, "input": st.just({})}
    ),
)
CONTENT = st.one_of(TEXT, st.lists(st.one_of(TEXT, BLOCK), max_size=3))
ODD = st.one_of(st.none(), st.integers(), TEXT, st.lists(TEXT, max_size=2), st.just({"lc": 1}))
CALL = st.fixed_dictionaries(
    {"name": TEXT, "args": st.dictionaries(TEXT, TEXT, max_size=2), "id": TEXT}
)
OPENAI_CALL = st.builds(
    lambda call_id, name, args: {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": args},
    },
    TEXT,
    TEXT,
    st.one_of(st.just('{"q": "x"}'), st.just("[1]"), st.just("{"), TEXT),
)


@st.composite
def messages(draw: st.DrawFn) -> BaseMessage:
    cls = draw(st.sampled_from([HumanMessage, AIMessage, SystemMessage, ToolMessage]))
    fields: dict[str, Any] = {"content": draw(CONTENT)}
    if draw(st.booleans()):
        fields["id"] = draw(TEXT)
    if draw(st.booleans()):
        fields["name"] = draw(TEXT)
    if cls is ToolMessage:
        fields["tool_call_id"] = draw(TEXT)
        fields["status"] = draw(st.sampled_from(["success", "error"]))
    if cls is AIMessage:
        fields["tool_calls"] = draw(st.lists(CALL, max_size=2))
        if draw(st.booleans()):
            fields["additional_kwargs"] = {"reasoning_content": draw(TEXT)}
        if draw(st.booleans()):
            fields["response_metadata"] = draw(
                st.sampled_from(
                    [
                        {"model_provider": "openai"},
                        {"model_provider": "anthropic"},
                        {"output_version": "v1"},
                    ]
                )
            )
    return cls(**fields)


def flat(message: BaseMessage) -> dict[str, Any]:
    return {"type": message.type, **message_to_dict(message)["data"]}


def openai(message: BaseMessage) -> dict[str, Any]:
    role = {"human": "user", "ai": "assistant"}.get(message.type, message.type)
    shaped: dict[str, Any] = {"role": role, "content": message.content}
    if isinstance(message, ToolMessage):
        shaped["tool_call_id"] = message.tool_call_id
    if isinstance(message, AIMessage) and message.tool_calls:
        shaped["content"] = None
        shaped["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
            }
            for call in message.tool_calls
        ]
    return shaped


SHAPES = [dumpd, message_to_dict, flat, openai]


@st.composite
def serialized(draw: st.DrawFn) -> Any:
    """A generated message in one serialized shape, sometimes with a field broken or added."""
    item = draw(st.sampled_from(SHAPES))(draw(messages()))
    target = item.get("kwargs") or item.get("data") or item
    change = draw(st.sampled_from(["none", "set", "drop", "openai_call"]))
    if change == "set":
        key = draw(
            st.sampled_from(
                [
                    "content",
                    "type",
                    "role",
                    "id",
                    "name",
                    "tool_calls",
                    "tool_call_id",
                    "additional_kwargs",
                    "response_metadata",
                    "example",
                    "artifact",
                    "status",
                    "refusal",
                    "lc",
                    "other",
                ]
            )
        )
        target[key] = draw(ODD)
    elif change == "drop" and target:
        target.pop(draw(st.sampled_from(sorted(target))))
    elif change == "openai_call":
        target["tool_calls"] = draw(st.lists(OPENAI_CALL, min_size=1, max_size=2))
    return item


GENERATED = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@GENERATED
@given(items=st.lists(serialized(), min_size=1, max_size=4), include_tools=st.booleans())
def test_generated_messages_read_the_same_both_ways(monkeypatch, items, include_tools):
    for item in items:
        fast, general = both_ways(monkeypatch, read_one, item)
        assert same_message(fast, general), item
    fast, general = both_ways(monkeypatch, extract_transcript, items, include_tools=include_tools)
    assert fast == general
    state = {"messages": items}
    run = {"inputs": state, "outputs": {"messages": [*items, items[-1]]}}
    fast, general = both_ways(monkeypatch, extract_thread, [run, run], include_tools=include_tools)
    assert fast == general


# -- near misses: text-only messages with one field that may make them more than text ---------

RAW_CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
USAGE = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
CHANGES: list[tuple[str, Any]] = [
    ("id", 5),
    ("id", None),
    ("id", "m1"),
    ("name", 5),
    ("name", "n"),
    ("type", "ai"),
    ("type", "human"),
    ("additional_kwargs", {"tool_calls": [RAW_CALL]}),
    ("additional_kwargs", {"function_call": {"name": "f", "arguments": "{}"}}),
    ("additional_kwargs", {"reasoning_content": "r"}),
    ("additional_kwargs", {"reasoning_content": 5}),
    ("additional_kwargs", None),
    ("additional_kwargs", {"refusal": "no"}),
    ("response_metadata", {"model_provider": "openai"}),
    ("response_metadata", {"model_provider": "anthropic"}),
    ("response_metadata", {"output_version": "v1"}),
    ("response_metadata", []),
    ("usage_metadata", USAGE),
    ("usage_metadata", "x"),
    ("tool_calls", None),
    ("tool_calls", [{"name": "f", "args": {}, "id": "c1"}]),
    ("tool_calls", [RAW_CALL]),
    ("tool_calls", ()),
    ("invalid_tool_calls", [{"name": "f", "args": "{", "id": "c1", "error": None}]),
    ("invalid_tool_calls", None),
    ("example", True),
    ("content", None),
    ("content", 5),
    ("content", ["x"]),
    ("content", [{"type": "text", "text": "x", "source_type": "text"}]),
    ("content", [{"type": "text", "text": None}]),
    ("content", [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "u"}}]),
    ("content", [{"type": "text", "text": "x"}, 5]),
    ("content", "  padded  "),
    ("tool_call_id", "c1"),
    ("status", "error"),
    ("other", 1),
]
TEXT_LIST = [" a", {"type": "text", "text": "b "}]
BASES = [
    HumanMessage(content="hi", id="h1"),
    AIMessage(content="yes"),
    SystemMessage(content="s"),
    HumanMessage(content=TEXT_LIST),
    AIMessage(content=TEXT_LIST),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__)
def test_near_misses_of_text_messages_read_the_same_both_ways(monkeypatch, shape):
    compared = 0
    for base in BASES:
        for key, value in CHANGES:
            item = shape(base)
            target = item.get("kwargs") or item.get("data") or item
            target[key] = value
            fast, general = both_ways(monkeypatch, read_one, item)
            assert same_message(fast, general), item
            for include_tools in (False, True):
                fast, general = both_ways(
                    monkeypatch, extract_transcript, [item], include_tools=include_tools
                )
                assert fast == general, item
            compared += 1
    assert compared == len(BASES) * len(CHANGES)
