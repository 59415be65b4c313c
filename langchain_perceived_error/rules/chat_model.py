"""The offline judge behind the chat-model interface: :class:`RulesJudge`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_perceived_error.core.evidence import (
    CONFIDENCE_METADATA_KEY,
    EVIDENCE_TURN_METADATA_KEY,
)
from langchain_perceived_error.core.prompts import parse_rendered_transcript, render_verdict
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.rules.confidence import assess_turns

__all__ = ["RulesJudge"]


def _transcript_turns(messages: Sequence[BaseMessage]) -> list[Turn]:
    """The turns of the last user message that holds a rendered ``<transcript>`` block."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and "<transcript>" in message.text:
            try:
                return parse_rendered_transcript(message.text)
            except ValueError:
                continue
    msg = (
        "RulesJudge needs the judge prompt from build_judge_messages(): none of the "
        f"{len(messages)} message(s) holds a <transcript> block"
    )
    raise ValueError(msg)


class RulesJudge(BaseChatModel):
    """The offline perceived-error judge: deterministic rules behind a chat-model interface.

    It answers the messages from
    :func:`~langchain_perceived_error.core.prompts.build_judge_messages` with one verdict JSON
    object, exactly as an LLM judge must, so it runs through the same graph. It needs no keys
    or network and reports no token usage. Its reply's ``response_metadata`` carries the
    calibrated confidence and the evidence turn
    (:func:`~langchain_perceived_error.rules.confidence.assess_turns`) under the keys of
    :mod:`langchain_perceived_error.core.evidence`.

    Example:
        .. code-block:: python

            from langchain_perceived_error.core.prompts import build_judge_messages
            from langchain_perceived_error.rules import RulesJudge
            from langchain_perceived_error.core.schemas import Turn

            turns = [
                Turn(role="human", text="Book it for Tuesday."),
                Turn(role="ai", text="Booked for Wednesday."),
                Turn(role="human", text="No, I said Tuesday."),
            ]
            RulesJudge().invoke(build_judge_messages(turns)).content
            # '{"perceived_error":true,"reason":"The user corrects the assistant: ..."}'

    """

    model_name: str = "rules"
    """The name reported for this judge."""

    @property
    def _llm_type(self) -> str:
        return "perceived-error-rules"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _respond(self, messages: Sequence[BaseMessage]) -> ChatResult:
        assessment = assess_turns(_transcript_turns(messages))
        verdict = assessment.verdict
        message = AIMessage(
            content=render_verdict(verdict.perceived_error, verdict.reason),
            response_metadata={
                "model_name": self.model_name,
                CONFIDENCE_METADATA_KEY: assessment.confidence,
                EVIDENCE_TURN_METADATA_KEY: assessment.evidence_turn,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Judge the transcript in ``messages``; raises ValueError when there is none."""
        return self._respond(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """The same as :meth:`_generate`, run directly (the rules are CPU-cheap)."""
        return self._respond(messages)
