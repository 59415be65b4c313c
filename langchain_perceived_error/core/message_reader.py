"""Direct reading of the commonest serialized message shapes, without LangChain's generic dispatch.

:func:`read_serialized` builds, for a dict in one of the shapes below, the message that
:mod:`~langchain_perceived_error.core.transcript`'s general reader builds for it: the same class
called with the same arguments. It skips only the dispatch around that call (``load``'s reviver
walk and warnings filter, ``convert_to_messages``' copies and type tests). Anything else, and
anything the call rejects, gives None: the general reader then reads the dict, or names what is
wrong with it, exactly as before.

- an lc constructor dict (``dumpd``) of a ``HumanMessage``, ``AIMessage``, ``SystemMessage`` or
  ``ToolMessage`` under its Python id, whose kwargs are message fields holding no serialized
  object: ``load(..., allowed_objects="messages")`` calls ``cls(**kwargs)`` for it;
- a ``message_to_dict`` dict ``{"type": ..., "data": {...}}`` of those four types:
  ``messages_from_dict`` calls ``cls(**data)``;
- an OpenAI-style ``{"role": ...}`` dict or a flat ``{"type": ..., "content": ...}`` dict with a
  human, AI, system or tool role and only known keys: ``convert_to_messages`` makes the
  constructor call :func:`_typed_message` makes (LangChain's ``_create_message_from_message_type``
  restricted to those roles, its quirks kept: unknown keys go to ``additional_kwargs``).

Building a pydantic message costs more than the transcript then does with it, so where that message
would be text and nothing else (see :class:`TextMessage`) no message is built: a ``TextMessage``
stands for it. :func:`plain_message` gives one for a plain ``{"role", "content"}`` dict or
``(role, text)`` pair.

``tests/unit_tests/test_message_reader.py`` compares both readers on every stored trace shape, on
generated ones and on near misses of text-only messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

__all__ = ["TextMessage", "plain_message", "read_serialized"]


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A message that is its text, standing for the LangChain message the general reader builds.

    Given only where that message would be a ``HumanMessage``, ``SystemMessage`` (kind "skip") or
    ``AIMessage`` whose construction succeeds and whose transcript is its string content: no tool
    calls (none given, none in ``additional_kwargs`` for the backward-compatible parser to find),
    no usage metadata, no ``model_provider`` whose translator could read the string otherwise,
    no ``reasoning_content``. It has what the transcript reads of such a message: its kind,
    content, id, and ``content_blocks`` (the one text block LangChain gives for it).
    """

    kind: Literal["human", "ai", "skip"]
    content: str
    id: str | None = None

    @property
    def content_blocks(self) -> list[dict[str, Any]]:
        return [{"type": "text", "text": self.content}] if self.content else []


_CLASSES = (HumanMessage, AIMessage, SystemMessage, ToolMessage)
# The ids ``dumpd`` writes for these classes; ``load`` maps each back to its class (tested).
_LC_CLASSES: dict[tuple[str, ...], type[BaseMessage]] = {tuple(c.lc_id()): c for c in _CLASSES}
_LC_KEYS = frozenset({"lc", "type", "id", "kwargs"})
# The fields of the four classes: any other kwarg (``template_format``, a chunk's
# ``tool_call_chunks``...) is left to the general reader.
_FIELDS = frozenset(
    {
        "content",
        "additional_kwargs",
        "response_metadata",
        "type",
        "name",
        "id",
        "example",
        "tool_calls",
        "invalid_tool_calls",
        "usage_metadata",
        "tool_call_id",
        "artifact",
        "status",
    }
)
_DICT_CLASSES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "ai": AIMessage,
    "system": SystemMessage,
    "tool": ToolMessage,
}
_TYPE_CLASSES: dict[str, type[BaseMessage]] = {
    **_DICT_CLASSES,
    "user": HumanMessage,
    "assistant": AIMessage,
}
# Keys a role or flat dict may carry besides its role and content (``refusal``: OpenAI's).
_TYPED_KEYS = (_FIELDS - {"content", "type"}) | {"refusal"}
_TEXT_KINDS: dict[type[BaseMessage], tuple[Literal["human", "ai", "skip"], str]] = {
    HumanMessage: ("human", "human"),  # (kind, the class's ``type``)
    SystemMessage: ("skip", "system"),
    AIMessage: ("ai", "ai"),
}
_TEXT_FIELDS = frozenset(
    {"content", "type", "id", "name", "additional_kwargs", "response_metadata"}
)
_TEXT_AI_FIELDS = _TEXT_FIELDS | {"example", "tool_calls", "invalid_tool_calls", "usage_metadata"}
_TEXT_FIELDS_OF: dict[type[BaseMessage], frozenset[str]] = {
    HumanMessage: _TEXT_FIELDS | {"example"},
    SystemMessage: _TEXT_FIELDS,
    AIMessage: _TEXT_AI_FIELDS,
}
_PLAIN_KINDS: dict[str, Literal["human", "ai", "skip"]] = {
    "human": "human",
    "user": "human",
    "ai": "ai",
    "assistant": "ai",
    "system": "skip",
}
_MAX_DEPTH = 32  # deeper kwargs are left to the general reader (``load`` stops at 200)
_ESCAPED_KEY = "__lc_escaped__"  # ``dumpd``'s marker for user dicts that hold an "lc" key


def plain_message(role: Any, content: Any) -> TextMessage | None:
    """A plain ``{"role", "content"}`` dict's or ``(role, text)`` pair's message, else None.

    The general reader builds ``HumanMessage``, ``AIMessage`` or ``SystemMessage(content=content)``
    for a string ``content`` and one of these roles.
    """
    kind = _PLAIN_KINDS.get(role) if isinstance(role, str) else None
    if kind is None or not isinstance(content, str):
        return None
    return TextMessage(kind, content)


def read_serialized(item: Any) -> BaseMessage | TextMessage | None:
    """The message the general reader builds for ``item``, or None when it is not a shape above."""
    if type(item) is not dict:
        return None
    try:
        if "lc" in item:
            return _lc_message(item)
        if "data" in item:
            return _dict_message(item)
        return _typed_message(item)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # the general reader reads it, or names what is wrong with it


def _construct(cls: type[BaseMessage], kwargs: dict[str, Any]) -> BaseMessage | TextMessage:
    """``cls(**kwargs)``, or the :class:`TextMessage` standing for it."""
    return _text_message(cls, kwargs) or cls(**kwargs)


def _text_message(cls: type[BaseMessage], kwargs: dict[str, Any]) -> TextMessage | None:
    """The TextMessage for ``cls(**kwargs)`` when that call succeeds with string content and
    nothing beside it the transcript reads (see :class:`TextMessage`), else None."""
    known = _TEXT_KINDS.get(cls)
    if known is None or not kwargs.keys() <= _TEXT_FIELDS_OF[cls]:
        return None
    kind, type_name = known
    content, message_id, name = kwargs.get("content"), kwargs.get("id"), kwargs.get("name")
    extra, metadata = kwargs.get("additional_kwargs", {}), kwargs.get("response_metadata", {})
    if not (
        type(content) is str
        and (message_id is None or type(message_id) is str)
        and (name is None or type(name) is str)
        and kwargs.get("type", type_name) == type_name
        and type(extra) is dict
        and type(metadata) is dict
    ):
        return None
    if cls is AIMessage and not (
        kwargs.get("tool_calls", []) == []
        and kwargs.get("invalid_tool_calls", []) == []
        and kwargs.get("usage_metadata") is None
        and "tool_calls" not in extra
        and not metadata.get("model_provider")
        and "reasoning_content" not in extra
    ):
        return None
    return TextMessage(kind, content, message_id)


def _lc_message(item: dict[str, Any]) -> BaseMessage | TextMessage | None:
    if item.keys() != _LC_KEYS or item["lc"] != 1 or item["type"] != "constructor":
        return None
    ident, kwargs = item["id"], item["kwargs"]
    if type(ident) is not list or type(kwargs) is not dict:
        return None
    cls = _LC_CLASSES.get(tuple(ident))
    if cls is None or not kwargs.keys() <= _FIELDS or not _holds_no_serialized(kwargs, 0):
        return None
    return _construct(cls, kwargs)


def _holds_no_serialized(value: Any, depth: int) -> bool:
    """No dict ``load`` would revive or unescape, at a depth it reads (as ``load`` walks it)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        if "lc" in value or _ESCAPED_KEY in value:
            return False
        return all(_holds_no_serialized(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_holds_no_serialized(v, depth + 1) for v in value)
    return True


def _dict_message(item: dict[str, Any]) -> BaseMessage | TextMessage | None:
    data = item["data"]
    cls = _DICT_CLASSES.get(item.get("type"))  # type: ignore[arg-type]  # unhashable: TypeError
    if cls is None or type(data) is not dict:
        return None
    return _construct(cls, data)


def _typed_message(item: dict[str, Any]) -> BaseMessage | TextMessage | None:
    if "role" in item:
        kind, content = item["role"], item.get("content")
        rest = {k: v for k, v in item.items() if k != "role" and k != "content"}
    elif "type" in item and "content" in item:
        kind, content = item["type"], item["content"]
        rest = {k: v for k, v in item.items() if k != "type" and k != "content"}
    else:
        return None
    cls = _TYPE_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None or not rest.keys() <= _TYPED_KEYS:
        return None
    # From here on, LangChain's ``_create_message_from_message_type(kind, content or "", **rest)``.
    name, tool_call_id = rest.pop("name", None), rest.pop("tool_call_id", None)
    tool_calls, message_id = rest.pop("tool_calls", None), rest.pop("id", None)
    kwargs: dict[str, Any] = {}
    if name is not None:
        kwargs["name"] = name
    if tool_call_id is not None:
        kwargs["tool_call_id"] = tool_call_id
    if rest:
        if response_metadata := rest.pop("response_metadata", None):
            kwargs["response_metadata"] = response_metadata
        kwargs["additional_kwargs"] = rest
        rest.update(rest.pop("additional_kwargs", {}))
    if message_id is not None:
        kwargs["id"] = message_id
    if tool_calls is not None:
        kwargs["tool_calls"] = [_tool_call(call) for call in tool_calls]
    extra: dict[str, Any] = kwargs.get("additional_kwargs", {})
    if cls is ToolMessage:
        artifact, status = extra.pop("artifact", None), extra.pop("status", None)
        if status is not None:
            kwargs["status"] = status
        return ToolMessage(content=content or "", artifact=artifact, **kwargs)
    if cls is not SystemMessage and (example := extra.pop("example", False)):
        kwargs["example"] = example
    return _construct(cls, {"content": content or "", **kwargs})


def _tool_call(call: Any) -> Any:
    """An OpenAI-format tool call in LangChain's format; other calls as they are."""
    if "function" not in call:
        return call
    args = call["function"]["arguments"]
    if isinstance(args, str):
        args = json.loads(args, strict=False)
    return {"name": call["function"]["name"], "args": args, "id": call["id"], "type": "tool_call"}
