"""Turn any trace shape into the ordered human and AI text turns the judge reads.

:func:`extract_transcript` detects the shape of its input:

- a list of LangChain messages, serialized messages (``dumpd`` lc dicts, ``message_to_dict``
  dicts, LangChain's flat ``{"type": "human", "content": ...}`` dicts), OpenAI chat dicts
  (``tool_calls``, role ``tool``), Anthropic content blocks (``text``, ``tool_use``,
  ``tool_result``), ``(role, text)`` pairs - mixed freely; an LLM-run batch ``[[...]]`` is read as
  its first prompt;
- a LangGraph state ``{"messages": [...]}`` (other keys are ignored);
- this package's own turns: ``{"turns": [{"role": "human" | "ai", "text": ...}, ...]}`` (a
  ``LabelledRecord`` as ``label`` writes it, a result line's ``turns``) or such a list of turns,
  read as they are (``user`` / ``assistant`` / ``system`` roles too, as home-made logs write
  them);
- a LangSmith run (a ``langsmith`` ``Run``/``RunTree`` or a dict with ``inputs``/``outputs``): an
  LLM run (``inputs.messages``, ``outputs.generations``), a chain or agent run (messages in
  ``inputs``/``outputs``), a ``wrap_openai`` run (``outputs.choices[].message``), or a run whose
  inputs hold one user string and outputs one answer string;
- a thread: ``{"runs": [...]}`` or a list of runs, merged in ``start_time`` order
  (:func:`extract_thread`); a run that cannot be read is skipped and logged, unless none can.

Message histories that repeat each other (a run's outputs repeating its inputs, each run of a
thread repeating the runs before it) are merged so every message appears once: by message id
when ids exist, else by role and content.

Tool calls, tool results and system messages are dropped; with ``include_tools=True`` tool
activity is kept as compact text inside AI turns (``[tool call search({"q": "x"})]``,
``[tool result search: ...]``). Streamed chunks of one message are merged into it, and streamed
pieces of a tool call (``tool_call_chunk``, ``input_json_delta``) are tool activity, never text.
Non-text parts become placeholders such as ``[image]``; serialized objects nested in a message that
cannot be loaded (``not_implemented``, constructors outside the messages allowlist) are dropped
from its metadata and become ``[unreadable]`` in its content; empty turns are dropped. Anything
unrecognised or malformed raises :class:`TranscriptError`.

The commonest serialized messages are read by :mod:`~langchain_perceived_error.core.message_reader`
without LangChain's generic dispatch, text-only ones as a ``TextMessage`` rather than a pydantic
message, and string content is rendered without ``content_blocks``: the same turns and errors as
the general path (``FAST_PATHS = False``), which the differential tests compare.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from langchain_core.load import load
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
    message_chunk_to_message,
    messages_from_dict,
)
from langsmith.schemas import RunBase

from langchain_perceived_error.core.message_reader import (
    TextMessage,
    plain_message,
    read_serialized,
)
from langchain_perceived_error.core.schemas import Role, Turn

__all__ = ["TranscriptError", "extract_thread", "extract_transcript"]

logger = logging.getLogger(__name__)

_Kind = Literal["human", "ai", "tool", "skip"]
# A LangChain message, or (fast paths) the text-only stand-in ``message_reader`` gives for one.
_Message = BaseMessage | TextMessage

_FOREIGN_ROLES: dict[str, _Kind] = {  # roles LangChain does not know, read as ChatMessage roles
    "tool-call": "skip",  # smolagents: repeats the assistant's "Called Tool: ..." message
    "tool-response": "tool",  # smolagents: the tool's observation
}
_ROLE_KINDS: dict[str, _Kind] = {
    **_FOREIGN_ROLES,
    "human": "human",
    "user": "human",
    "ai": "ai",
    "assistant": "ai",
    "tool": "tool",
    "function": "tool",
    "system": "skip",
    "developer": "skip",
    "remove": "skip",  # LangGraph's RemoveMessage
}
# Plain ``{"role", "content": str}`` dicts and ``(role, str)`` pairs with these roles become these
# classes directly: what ``convert_to_messages`` builds for them, without its generic dispatch.
_PLAIN_ROLE_CLASSES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "user": HumanMessage,
    "ai": AIMessage,
    "assistant": AIMessage,
    "system": SystemMessage,
}
_PLAIN_KEYS = frozenset({"role", "content"})
_TURN_KEYS = frozenset({"role", "text"})
_TURN_KINDS: dict[str, Literal["human", "ai", "skip"]] = {
    "human": "human",
    "user": "human",
    "ai": "ai",
    "assistant": "ai",
    "system": "skip",
}
_INPUT_KEYS = ("input", "question", "query", "prompt", "message")
_OUTPUT_KEYS = ("output", "answer", "response", "result", "content", "text")
_HISTORY_KEYS = ("chat_history", "history")
_TOOL_CALL_BLOCKS = frozenset({"tool_call", "server_tool_call", "invalid_tool_call"})
# Streamed pieces of a tool call: tool activity, never text of their own.
_TOOL_CHUNK_BLOCKS = frozenset({"tool_call_chunk", "server_tool_call_chunk", "input_json_delta"})
_TOOL_BLOCKS = _TOOL_CALL_BLOCKS | _TOOL_CHUNK_BLOCKS | {"server_tool_result", "tool_result"}
_UNREADABLE_BLOCK = {"type": "unreadable"}  # a content part that could not be loaded
_REASONING_BLOCKS = frozenset({"reasoning", "thinking", "redacted_thinking"})
_PLACEHOLDERS = {  # provider block types LangChain leaves unconverted -> standard names
    "text-plain": "file",
    "document": "file",
    "input_file": "file",
    "image_url": "image",
    "input_image": "image",
    "input_audio": "audio",
}
_TOOL_TEXT_LIMIT = 200
_EXPECTED = (
    "expected messages, {'messages': [...]}, {'turns': [...]}, a LangSmith run (inputs/outputs) "
    "or a thread {'runs': [...]}"
)
_READ_ERRORS = (ValueError, TypeError, KeyError, AttributeError, NotImplementedError)
# The fast paths (``message_reader``, plain-text rendering) give what the general path gives;
# False reads every message the general way (the differential tests and the benchmark's "before").
FAST_PATHS = True


class TranscriptError(ValueError):
    """The input is not a trace shape this module understands, or part of it is malformed."""


def extract_transcript(obj: Any, *, include_tools: bool = False) -> list[Turn]:
    """The ordered human and AI turns of a trace, whatever its shape (see the module docstring).

    Raises:
        TranscriptError: when the shape is unrecognised or a message cannot be read; the
            message names what was found.

    """
    return _to_turns(_messages(obj), include_tools=include_tools)


def extract_thread(runs: Sequence[Any], *, include_tools: bool = False) -> list[Turn]:
    """The turns of a thread: several runs (or traces) of one conversation, merged in order.

    Runs are ordered by ``start_time`` when every run has one, else kept in the given order.
    Overlapping histories are merged so each message appears once.

    Raises:
        TranscriptError: when ``runs`` is not a sequence or one of its items cannot be read.

    """
    return _to_turns(_thread_messages(runs), include_tools=include_tools)


# -- shape detection --------------------------------------------------------------------------


def _messages(obj: Any) -> list[_Message]:
    run = _as_run(obj)
    if run is not None:
        return _run_messages(run)
    if isinstance(obj, BaseMessage):
        return [_to_message(obj)]
    if isinstance(obj, Mapping):
        return _mapping_messages(obj)
    if _is_list(obj):
        if obj and all(_as_run(item) is not None for item in obj):
            return _thread_messages(obj)
        if obj and not _looks_like_message(obj[0]) and not _is_list(obj[0]):
            raise _unrecognised(obj)
        return _message_list(obj)
    raise _unrecognised(obj)


def _mapping_messages(obj: Mapping[str, Any]) -> list[_Message]:
    if _is_list(obj.get("runs")):
        return _thread_messages(obj["runs"])
    if "messages" in obj:
        return _message_list(obj["messages"], where="'messages'")
    if _is_list(obj.get("turns")):
        return _message_list(obj["turns"], where="'turns'")
    if _looks_like_message(obj):
        return [_to_message(obj)]
    raise _unrecognised(obj)


def _as_run(obj: Any) -> Mapping[str, Any] | None:
    """The run's fields when ``obj`` is a LangSmith run (object or dict), else None."""
    if isinstance(obj, RunBase):
        return {
            "id": obj.id,
            "name": obj.name,
            "start_time": obj.start_time,
            "inputs": obj.inputs,
            "outputs": obj.outputs,
        }
    if isinstance(obj, Mapping) and ("inputs" in obj or "outputs" in obj) and "messages" not in obj:
        return obj
    return None


def _is_list(obj: Any) -> bool:
    return isinstance(obj, (list, tuple))


def _is_role_pair(obj: Any) -> bool:
    return _is_list(obj) and len(obj) == 2 and isinstance(obj[0], str)


def _is_lc_dict(obj: Mapping[str, Any]) -> bool:
    return obj.get("lc") == 1 and obj.get("type") == "constructor" and _is_list(obj.get("id"))


def _looks_like_message(obj: Any) -> bool:
    if isinstance(obj, BaseMessage) or _is_role_pair(obj):
        return True
    if not isinstance(obj, Mapping):
        return False
    if "role" in obj:  # OpenAI / Anthropic; an assistant message may carry only tool_calls
        return "content" in obj or "tool_calls" in obj or _is_turn(obj)
    return _is_lc_dict(obj) or ("type" in obj and ("content" in obj or "data" in obj))


# -- messages ---------------------------------------------------------------------------------


def _message_list(value: Any, *, where: str = "the message list") -> list[_Message]:
    if not _is_list(value):
        msg = f"{where} holds {_describe(value)}; expected a list of messages"
        raise TranscriptError(msg)
    items = list(value)
    if items and all(isinstance(item, list) for item in items) and not _is_role_pair(items[0]):
        items = list(items[0])  # an LLM run's batch of prompts: [[...]] -> the first prompt
    messages = []
    for index, item in enumerate(items):
        try:
            messages.append(_read_message(item))
        except TranscriptError as e:
            msg = f"{where}, item {index}: {e}"
            raise TranscriptError(msg) from e
    return [_whole(message) for message in _merge_chunks(messages)]


def _merge_chunks(messages: Iterable[_Message]) -> list[_Message]:
    """Consecutive streamed chunks of one message (same type and id) summed into one chunk."""
    merged: list[_Message] = []
    for message in messages:
        previous = merged[-1] if merged else None
        if (
            isinstance(message, BaseMessageChunk)
            and isinstance(previous, BaseMessageChunk)
            and type(message) is type(previous)
            and message.id is not None
            and message.id == previous.id
        ):
            merged[-1] = previous + message
        else:
            merged.append(message)
    return merged


def _to_message(item: Any) -> _Message:
    """One whole message (a streamed chunk becomes the message it stands for)."""
    return _whole(_read_message(item))


def _whole(message: _Message) -> _Message:
    """A streamed chunk as the message it stands for; other messages as they are."""
    return message if isinstance(message, TextMessage) else message_chunk_to_message(message)


def _read_message(item: Any) -> _Message:
    """One message from any supported message shape, validated to have a known role."""
    try:
        message = _convert(item)
        _kind(message)
    except TranscriptError:
        raise
    except _READ_ERRORS as e:
        reason = str(e).strip().split("\n", 1)[0]  # drop LangChain's troubleshooting link
        msg = f"could not read {_describe(item)} as a message: {reason}"
        raise TranscriptError(msg) from e
    return message


def _convert(item: Any) -> _Message:
    if isinstance(item, BaseMessage):
        return item
    turn = _turn_message(item)
    if turn is not None:
        return turn
    plain = _plain_message(item)
    if plain is not None:
        return plain
    if FAST_PATHS:
        read = read_serialized(item)
        if read is not None:
            return read
    if isinstance(item, Mapping):
        if _is_lc_dict(item):
            return _load_lc_message(item)
        if isinstance(item.get("data"), Mapping) and "type" in item:
            return messages_from_dict([dict(item)])[0]
        if item.get("role") in _FOREIGN_ROLES:
            return ChatMessage(role=item["role"], content=item.get("content") or "")
        if "role" in item:
            # OpenAI allows an assistant message with tool calls and no content at all.
            return convert_to_messages([{"content": "", **item}])[0]
        if "type" in item and "content" in item:
            return convert_to_messages([dict(item)])[0]
    elif _is_role_pair(item):
        return convert_to_messages([(item[0], item[1])])[0]
    msg = f"{_describe(item)} is not a message"
    raise TranscriptError(msg)


def _is_turn(item: Mapping[str, Any]) -> bool:
    """A turn as this package writes it (``Turn`` as JSON), or as a home-made log does: exactly
    ``role`` and ``text``, a known role and string text."""
    return (
        item.keys() == _TURN_KEYS
        and isinstance(item["role"], str)
        and item["role"] in _TURN_KINDS
        and isinstance(item["text"], str)
    )


def _turn_message(item: Any) -> TextMessage | None:
    """The message of a ``{"role", "text"}`` turn (see :func:`_is_turn`; role ``system`` is
    dropped like a system message); None for anything with other keys.

    Raises:
        TranscriptError: for a dict of exactly those keys that is not such a turn.

    """
    if not (isinstance(item, Mapping) and item.keys() == _TURN_KEYS):
        return None
    if not _is_turn(item):
        role, text = item["role"], item["text"]
        msg = (
            "a turn {'role', 'text'} needs the role 'human' / 'user', 'ai' / 'assistant' or "
            f"'system' and a string text, got role {role!r} and a {type(text).__name__} text"
        )
        raise TranscriptError(msg)
    return TextMessage(_TURN_KINDS[item["role"]], item["text"])


def _plain_message(item: Any) -> _Message | None:
    """The message of a plain role dict or ``(role, text)`` pair with string content, else None."""
    if isinstance(item, dict) and item.keys() <= _PLAIN_KEYS:
        role, content = item.get("role"), item.get("content")
    elif isinstance(item, (list, tuple)) and len(item) == 2:
        role, content = item
    else:
        return None
    if FAST_PATHS:
        return plain_message(role, content)
    cls = _PLAIN_ROLE_CLASSES.get(role) if isinstance(role, str) else None
    if cls is None or not isinstance(content, str):
        return None
    return cls(content=content)


def _load_lc_message(item: Mapping[str, Any]) -> BaseMessage:
    try:
        loaded = _load(item)
    except _READ_ERRORS:
        # A part that cannot be loaded (a provider object dumped as ``not_implemented``, a
        # constructor outside the messages allowlist) must not cost the message its text.
        loaded = _load(_loadable(item))
    if not isinstance(loaded, BaseMessage):
        msg = f"the serialized object {item['id']!r} is not a message"
        raise TranscriptError(msg)
    return loaded


def _load(item: Mapping[str, Any]) -> Any:
    with warnings.catch_warnings():
        # ``load`` is marked beta and may warn (LangChainBetaWarning, a DeprecationWarning that
        # langchain_core exports only from its private ``_api``); the messages allowlist is stable.
        warnings.filterwarnings("ignore", message=r".* is in beta\.", category=DeprecationWarning)
        return load(dict(item), allowed_objects="messages")


def _loadable(item: Mapping[str, Any]) -> dict[str, Any]:
    """The serialized message without the serialized objects nested in its fields.

    They are dropped from metadata (``additional_kwargs``, ``response_metadata``...) and become an
    ``[unreadable]`` placeholder in the content. A chunk's tool calls are left to be derived again
    from its ``tool_call_chunks`` (LangChain JS dumps partial calls without the required ``id``).
    """
    kwargs = item.get("kwargs")
    if not isinstance(kwargs, Mapping):
        return dict(item)
    loadable = _without_serialized({k: v for k, v in kwargs.items() if k != "content"})
    content = kwargs.get("content", "")
    if _is_serialized(content):
        content = [_UNREADABLE_BLOCK]
    elif _is_list(content):
        content = [_UNREADABLE_BLOCK if _is_serialized(part) else part for part in content]
    loadable["content"] = _without_serialized(content)
    if loadable.get("tool_call_chunks"):
        loadable.pop("tool_calls", None)
        loadable.pop("invalid_tool_calls", None)
    return {**item, "kwargs": loadable}


def _without_serialized(value: Any) -> Any:
    """``value`` with every nested serialized object removed (dict entries and list items)."""
    if isinstance(value, Mapping):
        return {k: _without_serialized(v) for k, v in value.items() if not _is_serialized(v)}
    if _is_list(value):
        return [_without_serialized(v) for v in value if not _is_serialized(v)]
    return value


def _is_serialized(value: Any) -> bool:
    """A LangChain-serialized object: ``constructor``, ``not_implemented`` or ``secret``."""
    return isinstance(value, Mapping) and value.get("lc") == 1 and "type" in value and "id" in value


def _kind(message: _Message) -> _Kind:
    if isinstance(message, TextMessage):
        return message.kind
    if isinstance(message, HumanMessage):
        return "human"
    if isinstance(message, AIMessage):
        return "ai"
    if isinstance(message, (ToolMessage, FunctionMessage)):
        return "tool"
    role = message.role if isinstance(message, ChatMessage) else message.type
    kind = _ROLE_KINDS.get(str(role).lower())
    if kind is None:
        msg = f"a {type(message).__name__} with unknown role {role!r}"
        raise TranscriptError(msg)
    return kind


# -- runs -------------------------------------------------------------------------------------


def _run_messages(run: Mapping[str, Any]) -> list[_Message]:
    inputs, outputs = run.get("inputs"), run.get("outputs")
    repeated = _outputs_repeating_inputs(inputs, outputs)
    if repeated is not None:
        # A chain or agent run whose output state starts with its input messages, as LangGraph's
        # do: merging would keep exactly the outputs, so the inputs need not be read twice. When
        # the outputs cannot be read, both sides are read below so the error names the first.
        try:
            return _message_list(repeated, where="outputs['messages']")
        except TranscriptError:
            pass
    asked = _side_messages(inputs, _INPUT_KEYS, HumanMessage, where="inputs")
    answered = _side_messages(outputs, _OUTPUT_KEYS, AIMessage, where="outputs")
    if asked is None and answered is None:
        label = f" {_run_label(run)}".rstrip()
        msg = (
            f"unrecognised run{label}: inputs hold {_describe(inputs)}, "
            f"outputs hold {_describe(outputs)}; expected messages, generations, choices, "
            f"or one user string ({', '.join(_INPUT_KEYS)}) "
            f"and one answer string ({', '.join(_OUTPUT_KEYS)})"
        )
        raise TranscriptError(msg)
    return _merge(asked or [], answered or [])


def _outputs_repeating_inputs(inputs: Any, outputs: Any) -> list[Any] | None:
    """The outputs' message list when both sides hold one and it starts with the inputs' items."""
    if not (isinstance(inputs, Mapping) and isinstance(outputs, Mapping)):
        return None
    asked, answered = inputs.get("messages"), outputs.get("messages")
    if not (isinstance(asked, list) and isinstance(answered, list)):
        return None
    return answered if answered[: len(asked)] == asked else None


def _side_messages(
    io: Any, keys: Sequence[str], default: type[BaseMessage], *, where: str
) -> list[_Message] | None:
    """Messages of a run's inputs or outputs; [] when absent, None when unrecognised."""
    if io is None or (isinstance(io, Mapping) and not io):
        return []
    if not isinstance(io, Mapping):
        return None
    if "messages" in io:
        return _message_list(io["messages"], where=f"{where}['messages']")
    if "generations" in io:
        return _generation_messages(io["generations"])
    if "choices" in io:
        return _choice_messages(io["choices"])
    if _looks_like_message(io):
        return [_to_message(io)]
    messages = _value_messages(_answer_value(io, keys), default)
    if messages is None:
        return None
    history: Any = next((io[key] for key in _HISTORY_KEYS if _is_list(io.get(key))), [])
    return [*_message_list(history, where=f"{where} history"), *messages]


def _answer_value(io: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if io.get(key) not in (None, ""):
            return io[key]
    if len(io) == 1:
        return next(iter(io.values()))
    return None


def _value_messages(value: Any, default: type[BaseMessage]) -> list[_Message] | None:
    """Messages of one input or output value: a string, a message, messages or a state."""
    if isinstance(value, str):
        return [default(content=value)] if value.strip() else []
    if _looks_like_message(value):
        return [_to_message(value)]
    if isinstance(value, Mapping) and "messages" in value:
        return _message_list(value["messages"])
    if _is_list(value) and value and all(_looks_like_message(item) for item in value):
        return _message_list(value)
    return None


def _generation_messages(generations: Any) -> list[_Message]:
    first = generations[0] if _is_list(generations) and generations else None
    if _is_list(first):
        first = first[0] if first else None
    if not isinstance(first, Mapping):
        msg = f"outputs['generations'] holds {_describe(generations)}; expected [[generation]]"
        raise TranscriptError(msg)
    if first.get("message") is not None:
        return [_to_message(first["message"])]
    text = first.get("text")
    return [AIMessage(content=text)] if isinstance(text, str) and text.strip() else []


def _choice_messages(choices: Any) -> list[_Message]:
    first = choices[0] if _is_list(choices) and choices else None
    message = first.get("message") if isinstance(first, Mapping) else None
    if message is None:
        msg = f"outputs['choices'] holds {_describe(choices)}; expected [{{'message': ...}}]"
        raise TranscriptError(msg)
    return [_to_message(message)]


def _run_label(run: Any) -> str:
    fields = _as_run(run) or {}
    return " ".join(str(fields[key]) for key in ("name", "id") if fields.get(key))


# -- threads and de-duplication ---------------------------------------------------------------


def _thread_messages(runs: Any) -> list[_Message]:
    if not _is_list(runs):
        msg = f"a thread must be a list of runs; found {_describe(runs)}"
        raise TranscriptError(msg)
    ordered = _by_start_time(runs)
    history: list[_Message] = []
    skipped: list[tuple[str, TranscriptError]] = []
    for index, run in enumerate(ordered):
        try:
            messages = _messages(run)
        except TranscriptError as e:
            # One odd run (an unreadable side run, a repr instead of messages) must not cost the
            # thread the turns of the others: it is skipped and logged, unless every run is odd.
            label = _run_label(run)
            where = f"thread item {index}{f' ({label})' if label else ''}"
            logger.warning("%s skipped: %s", where, e)
            skipped.append((where, e))
            continue
        history = _merge(history, messages)
    if skipped and len(skipped) == len(ordered):
        where, error = skipped[0]
        msg = f"{where}: {error}"
        raise TranscriptError(msg) from error
    return history


def _by_start_time(items: Sequence[Any]) -> list[Any]:
    times = [_start_time(item) for item in items]
    if any(time is None for time in times):
        return list(items)
    order = sorted(range(len(items)), key=lambda index: (times[index], index))
    return [items[index] for index in order]


def _start_time(item: Any) -> datetime | None:
    run = _as_run(item)
    value = run.get("start_time") if run is not None else None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _merge(history: list[_Message], new: list[_Message]) -> list[_Message]:
    """``history`` followed by what ``new`` adds to it, each message once."""
    same = _Same()
    if _is_subsequence(history, new, same):
        return list(new)  # ``new`` repeats the whole history (and maybe more)
    if all(message.id for message in (*history, *new)):
        seen = {message.id for message in history}
        return [*history, *(message for message in new if message.id not in seen)]
    overlap = next(
        (
            size
            for size in range(min(len(history), len(new)), 0, -1)
            if all(map(same, history[-size:], new[:size]))
        ),
        0,
    )
    return [*history, *new[overlap:]]


def _is_subsequence(part: Sequence[_Message], whole: Sequence[_Message], same: _Same) -> bool:
    remaining = iter(whole)
    return all(any(same(message, other) for other in remaining) for message in part)


class _Same:
    """Whether two messages are the same one: by id when both have one, else by role and content.

    Content keys are computed once per message (one instance serves one merge).
    """

    def __init__(self) -> None:
        self._keys: dict[int, tuple[str, str, str, str]] = {}

    def __call__(self, first: _Message, second: _Message) -> bool:
        if first.id and second.id:
            return first.id == second.id
        if _kind(first) != _kind(second):  # the keys' first fields differ: no need to build them
            return False
        text, other = first.content, second.content
        if isinstance(text, str) and isinstance(other, str) and text != other:
            return False  # so do their second fields (the dumped content)
        return self._key(first) == self._key(second)

    def _key(self, message: _Message) -> tuple[str, str, str, str]:
        key = self._keys.get(id(message))
        if key is None:
            key = self._keys[id(message)] = _content_key(message)
        return key


def _content_key(message: _Message) -> tuple[str, str, str, str]:
    # An AIMessage's tool calls are LangChain's {"name", "args", ...}; another message may carry
    # a provider's own list as an extra field (an OpenAI "function" call on a human message).
    calls = [
        (call.get("name"), call.get("args")) if isinstance(call, Mapping) else call
        for call in getattr(message, "tool_calls", None) or []
    ]
    return (
        _kind(message),
        json.dumps(message.content, sort_keys=True, default=str),
        json.dumps(calls, sort_keys=True, default=str),
        str(getattr(message, "tool_call_id", "")),
    )


# -- turns ------------------------------------------------------------------------------------


def _to_turns(messages: Iterable[_Message], *, include_tools: bool) -> list[Turn]:
    turns: list[tuple[Role, list[str]]] = []
    tool_names: dict[str, str] = {}
    for message in messages:
        kind = _kind(message)
        if kind == "skip":
            continue
        text, tool_lines = _render(message, kind, tool_names if include_tools else None)
        if kind == "ai":
            _add_turn(turns, "ai", [text, *tool_lines])
            continue
        _attach_tool_lines(turns, tool_lines)
        if kind == "human":
            _add_turn(turns, "human", [text])
    return [Turn(role=role, text="\n".join(lines)) for role, lines in turns]


def _add_turn(turns: list[tuple[Role, list[str]]], role: Role, lines: list[str]) -> None:
    kept = [line for line in lines if line]
    if kept:
        turns.append((role, kept))


def _attach_tool_lines(turns: list[tuple[Role, list[str]]], lines: list[str]) -> None:
    """Tool results belong to the AI turn that asked for them (or a new AI turn)."""
    if lines and turns and turns[-1][0] == "ai":
        turns[-1][1].extend(lines)
    else:
        _add_turn(turns, "ai", lines)


def _render(
    message: _Message, kind: _Kind, tool_names: dict[str, str] | None
) -> tuple[str, list[str]]:
    """A message's visible text (with placeholders) and its tool activity as compact lines.

    ``tool_names`` None: tool activity is left out, so its lines are not built (the content is
    still read, so what cannot be read fails alike).
    """
    if isinstance(message, TextMessage):
        return message.content.strip(), []  # its one text block: what the general path makes
    if FAST_PATHS:
        fast = _fast_render(message, kind, include_tools=tool_names is not None)
        if fast is not None:
            return fast, []
    if kind == "tool":
        if tool_names is None:
            _blocks(message)
            return "", []
        tool_call_id = str(getattr(message, "tool_call_id", ""))
        name = message.name or tool_names.get(tool_call_id)
        error = getattr(message, "status", None) == "error"
        return "", [_result_line(name, _Text.of_blocks(_blocks(message)), error=error)]
    text = _Text()
    tool_lines: list[str] = []
    seen_calls: set[str] = set()
    for block in _blocks(message):
        line = _tool_line(block, tool_names, seen_calls)
        if line is None:
            text.add_block(block)
        elif line:
            tool_lines.append(line)
    return text.joined(), tool_lines


def _fast_render(message: BaseMessage, kind: _Kind, *, include_tools: bool) -> str | None:
    """What the general path renders for text-only content, without ``content_blocks``; None
    when it has no tool lines to make and content that is not all text.

    String content is one text block; list content of strings and ``text`` blocks is text blocks
    run together. Tool calls and reasoning beside the text give no text of their own, and no line
    when tools are left out. Only a provider's translator (``model_provider``) or v1 output could
    read the content otherwise.
    """
    if include_tools and (kind == "tool" or not _is_plain_text(message)):
        return None  # tool lines to make
    if isinstance(message, AIMessage) and (
        message.response_metadata.get("model_provider")
        or message.response_metadata.get("output_version") == "v1"
    ):
        return None
    content = message.content
    if isinstance(content, str):
        text: str | None = content.strip()
    else:
        text = _list_text(content)
    return "" if text is not None and kind == "tool" else text


def _list_text(content: list[Any]) -> str | None:
    """Strings and ``text`` blocks run together and stripped, as ``_Text`` joins them; else None."""
    pieces: list[str] = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
        elif (
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ):
            pieces.append(part["text"])
        else:
            return None
    return "".join(pieces).strip()


def _blocks(message: _Message) -> list[Mapping[str, Any]]:
    if _is_plain_text(message):  # the common case, without LangChain's five block translators
        return [{"type": "text", "text": message.content}] if message.content else []
    try:
        return [block for block in message.content_blocks if isinstance(block, Mapping)]
    except _READ_ERRORS as e:
        msg = f"could not read the content of a {type(message).__name__}: {e}"
        raise TranscriptError(msg) from e


def _is_plain_text(message: _Message) -> bool:
    """String content and nothing ``content_blocks`` would add to it (tool calls, reasoning)."""
    if isinstance(message, TextMessage):
        return True
    if not isinstance(message.content, str):
        return False
    if isinstance(message, AIMessage):
        return not (
            message.tool_calls
            or message.invalid_tool_calls
            or message.additional_kwargs
            or message.response_metadata.get("model_provider")
        )
    return True


def _tool_line(
    block: Mapping[str, Any], tool_names: dict[str, str] | None, seen_calls: set[str]
) -> str | None:
    """The compact line for a tool block, "" for a repeated call, None for non-tool blocks.

    With ``tool_names`` None (tool activity left out) a tool block gives "" (no line to build).
    """
    kind = block.get("type")
    if kind == "non_standard" and isinstance(block.get("value"), Mapping):
        block, kind = _anthropic_tool_block(block["value"])
    if tool_names is None:
        return "" if kind in _TOOL_BLOCKS else None
    if kind in _TOOL_CHUNK_BLOCKS and not block.get("name"):
        return ""  # a fragment of a streamed call's arguments; its named chunk shows the call
    if kind in _TOOL_CALL_BLOCKS or kind in _TOOL_CHUNK_BLOCKS:
        call_id, name = str(block.get("id") or ""), str(block.get("name") or "tool")
        if call_id in seen_calls:
            return ""
        seen_calls.add(call_id)
        tool_names[call_id] = name
        return _call_line(name, block.get("args"))
    if kind in ("server_tool_result", "tool_result"):
        call_id = str(block.get("tool_call_id") or "")
        output = block.get("output")
        error = block.get("status") == "error"
        return _result_line(tool_names.get(call_id), _Text.of_value(output), error=error)
    return None


def _anthropic_tool_block(value: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
    """Anthropic ``tool_use`` / ``tool_result`` blocks in standard terms; others keep their type."""
    kind = value.get("type")
    if kind == "tool_use":
        block = {"id": value.get("id"), "name": value.get("name"), "args": value.get("input")}
        return block, "tool_call"
    if kind == "tool_result":
        status = "error" if value.get("is_error") else "success"
        block = {"tool_call_id": value.get("tool_use_id"), "output": value.get("content")}
        return {**block, "status": status}, "tool_result"
    return value, kind


def _call_line(name: str, args: Any) -> str:
    rendered = args if isinstance(args, str) else json.dumps(args or {}, ensure_ascii=False)
    return f"[tool call {name}({_compact(rendered)})]"


def _result_line(name: str | None, text: str, *, error: bool) -> str:
    label = "tool error" if error else "tool result"
    return f"[{label} {name}: {_compact(text)}]" if name else f"[{label}: {_compact(text)}]"


def _compact(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _TOOL_TEXT_LIMIT:
        return text
    return text[:_TOOL_TEXT_LIMIT].rstrip() + "…"


class _Text:
    """Visible text of a message: text blocks run together, other parts on their own lines."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._in_text = False

    @classmethod
    def of_blocks(cls, blocks: Iterable[Mapping[str, Any]]) -> str:
        text = cls()
        for block in blocks:
            text.add_block(block)
        return text.joined()

    @classmethod
    def of_value(cls, value: Any) -> str:
        """Text of raw provider content: a string, or a list of strings and blocks."""
        if isinstance(value, str):
            return value
        text = cls()
        for item in value if _is_list(value) else [value]:
            if isinstance(item, str):
                text.add_text(item)
            elif isinstance(item, Mapping):
                text.add_block(item)
        return text.joined()

    def add_text(self, value: str) -> None:
        if self._in_text:
            self._parts[-1] += value
        else:
            self._parts.append(value)
        self._in_text = True

    def add_block(self, block: Mapping[str, Any]) -> None:
        if block.get("type") == "non_standard" and isinstance(block.get("value"), Mapping):
            block = block["value"]
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            self.add_text(block["text"])
        elif kind not in _REASONING_BLOCKS:
            self._parts.append(f"[{_PLACEHOLDERS.get(str(kind), kind or 'non-text')}]")
            self._in_text = False

    def joined(self) -> str:
        return "\n".join(part.strip() for part in self._parts if part.strip())


# -- error messages ---------------------------------------------------------------------------


def _unrecognised(obj: Any) -> TranscriptError:
    return TranscriptError(f"unrecognised trace shape: {_describe(obj)}; {_EXPECTED}")


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = [str(key) for key in obj]
        shown = repr(keys) if len(keys) <= 10 else repr(keys[:10])[:-1] + ", ...]"
        return f"a dict with keys {shown}" if keys else "an empty dict"
    if _is_list(obj):
        kind = type(obj).__name__
        if not obj:
            return f"an empty {kind}"
        return f"a {kind} of {len(obj)} items whose first item is {_describe_item(obj[0])}"
    return _describe_item(obj)


def _describe_item(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return f"a dict with keys {[str(key) for key in obj][:10]}"
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
