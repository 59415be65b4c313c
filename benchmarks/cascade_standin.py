"""A SCRIPTED stand-in for an expensive judge model, for measuring a cascade without a key.

It is not a model and claims nothing about any model: it reads the transcript the judge sends,
looks up that conversation's label, and answers the label on a seeded share ``accuracy`` of the
conversations and the opposite on the rest. Which conversations it gets wrong is decided by a
SHA-256 of ``seed`` and the transcript, independently of how hard they are, so its errors are
known exactly. A real model's errors are not independent of difficulty (the records a cheap judge
cannot settle are likely harder for it too): that is what a real model must confirm.

Each answer reports ``usage_metadata`` (input tokens estimated from the messages with
``langchain_core``'s ``count_tokens_approximately``, 25 output tokens) so that the benchmark
prices it like a model of the price it is given. A transcript it has no label for gets an answer
that is not JSON, so the judge records a failure (it never guesses).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from langchain_perceived_error.core.prompts import render_transcript, render_verdict
from langchain_perceived_error.core.transcript import extract_transcript

__all__ = ["STANDIN_NAME", "ScriptedStandIn", "transcript_key"]

STANDIN_NAME = "scripted-stand-in"
_OUTPUT_TOKENS = 25


def transcript_key(rendered: str) -> str:
    """The lookup key of a rendered ``<transcript>`` block."""
    return hashlib.sha256(rendered.encode("utf-8")).hexdigest()


def _fraction(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64


class ScriptedStandIn(BaseChatModel):
    """Answers each known conversation's label on a seeded share of them, the opposite otherwise."""

    labels: dict[str, bool] = Field(default_factory=dict)
    """Label by :func:`transcript_key` of the rendered transcript."""
    accuracy: float = 0.9
    seed: int = 0
    model_name: str = STANDIN_NAME

    @classmethod
    def for_records(
        cls, records: Iterable[tuple[Any, bool]], *, accuracy: float, seed: int
    ) -> ScriptedStandIn:
        """A stand-in that knows the label of each ``(payload, label)`` record."""
        labels = {
            transcript_key(render_transcript(extract_transcript(payload))): label
            for payload, label in records
        }
        return cls(labels=labels, accuracy=accuracy, seed=seed)

    @property
    def _llm_type(self) -> str:
        return "scripted-stand-in"

    def answers_right(self, key: str) -> bool:
        """Whether the stand-in answers this conversation's label (else the opposite)."""
        return _fraction(f"{self.seed}:{key}") < self.accuracy

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = str(messages[-1].content)
        start = text.find("<transcript>")
        key = transcript_key(text[start:]) if start >= 0 else ""
        label = self.labels.get(key)
        if label is None:
            content = "no label for this transcript"
        else:
            verdict = label if self.answers_right(key) else not label
            content = render_verdict(verdict, "Scripted stand-in answer (not a model).")
        tokens = count_tokens_approximately(messages)
        usage = UsageMetadata(
            input_tokens=tokens,
            output_tokens=_OUTPUT_TOKENS,
            total_tokens=tokens + _OUTPUT_TOKENS,
        )
        message = AIMessage(content=content, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])
