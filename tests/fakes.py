"""Fake chat models for tests where the model itself does not matter."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr


class ScriptedError(Exception):
    """An SDK-like error carrying an HTTP status code."""

    def __init__(self, status_code: int, message: str = "scripted failure") -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code


class ScriptedChatModel(BaseChatModel):
    """Answers from a script, in order; an Exception in the script is raised instead.

    Records every list of messages it receives. ``delay_s`` sleeps before answering (for
    concurrency tests); ``usage`` adds usage_metadata to each reply. When the script runs out
    the last entry repeats.
    """

    script: list[Any]
    delay_s: float = 0.0
    usage: tuple[int, int] | None = (100, 20)
    model_name: str = "scripted"
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _in_flight: int = PrivateAttr(default=0)
    _max_in_flight: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        return self._calls

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    def _next(self, messages: Sequence[BaseMessage]) -> ChatResult:
        with self._lock:
            index = len(self._calls)
            self._calls.append(list(messages))
        entry = self.script[min(index, len(self.script) - 1)]
        if isinstance(entry, Exception):
            raise entry
        message = entry if isinstance(entry, AIMessage) else AIMessage(content=entry)
        if self.usage and message.usage_metadata is None:
            message.usage_metadata = {
                "input_tokens": self.usage[0],
                "output_tokens": self.usage[1],
                "total_tokens": sum(self.usage),
            }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _exit(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._enter()
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self._next(messages)
        finally:
            self._exit()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._enter()
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            return self._next(messages)
        finally:
            self._exit()


class RunTree(BaseCallbackHandler):
    """The callback events a tracer (LangSmith's included) receives: each run and its parent."""

    def __init__(self) -> None:
        self.runs: dict[Any, tuple[str, Any]] = {}

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kwargs):
        self.runs[run_id] = (kwargs.get("name") or "", parent_run_id)

    def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, **kwargs):
        self.runs[run_id] = ("<model call>", parent_run_id)

    def children(self, name: str) -> list[list[str]]:
        """The children of every run called ``name``, in start order (routing runs left out)."""
        parents = [run_id for run_id, (n, _) in self.runs.items() if n == name]
        return [
            [n for n, p in self.runs.values() if p == parent and not n.startswith("_route")]
            for parent in parents
        ]
