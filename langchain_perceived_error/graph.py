"""The judge graph: extract -> judge -> validate -> (retry -> judge) -> done | failed.

```
START -> extract --(skipped | failed)--> END
            |
            v
          judge <--(invalid, attempts left)-- validate --(valid | no attempts left)--> END
            |                                     ^
            +-------------------------------------+
```

``extract`` turns any trace shape into human/AI turns and decides eligibility (no model call for a
trace with no user turn after an assistant turn). ``judge`` calls the chat model; transient
transport errors (429, 5xx, timeouts) are retried there by a LangGraph ``RetryPolicy`` with
exponential backoff. ``validate`` parses the verdict; on invalid output the model is asked again
with the validation error, at most ``max_attempts`` calls in all, then the result is ``failed``
with the last error and raw output. A failure is never reported as ``perceived_error: false``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from langchain_perceived_error.eligibility import skip_reason
from langchain_perceived_error.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.prompts import build_judge_messages, build_retry_messages
from langchain_perceived_error.records import UnreadableRecord
from langchain_perceived_error.retries import DEFAULT_TRANSPORT_RETRY, is_transient_error
from langchain_perceived_error.schemas import JudgeResult, JudgeStatus, Turn, Verdict
from langchain_perceived_error.transcript import TranscriptError, extract_transcript

__all__ = ["DEFAULT_MAX_ATTEMPTS", "JudgeState", "build_judge_graph", "result_from_state"]

DEFAULT_MAX_ATTEMPTS = 3
"""Model calls allowed per trace, the first one included, before a format failure."""


class JudgeState(TypedDict, total=False):
    """What flows through the judge graph. Only ``record`` is needed as input."""

    record: Any
    turns: list[Turn]
    retry_messages: list[BaseMessage]
    raw_output: str | None
    finish_reason: str | None
    verdict: Verdict | None
    status: JudgeStatus | None
    skip_reason: str | None
    error: str | None
    attempts: int
    input_tokens: int | None
    output_tokens: int | None


def _as_turns(record: Any, include_tools: bool) -> list[Turn]:
    if isinstance(record, UnreadableRecord):
        raise TranscriptError(record.error)
    if isinstance(record, Sequence) and record and all(isinstance(t, Turn) for t in record):
        return list(record)
    return extract_transcript(record, include_tools=include_tools)


def _add(total: int | None, value: Any) -> int | None:
    if not isinstance(value, int):
        return total
    return (total or 0) + value


def _make_extract(include_tools: bool) -> Any:
    def extract(state: JudgeState) -> JudgeState:
        try:
            turns = _as_turns(state["record"], include_tools)
        except TranscriptError as e:
            return {"status": JudgeStatus.FAILED, "error": f"unreadable trace: {e}", "turns": []}
        reason = skip_reason(turns)
        if reason is not None:
            return {"turns": turns, "status": JudgeStatus.SKIPPED, "skip_reason": reason}
        return {"turns": turns, "attempts": 0, "retry_messages": []}

    return extract


def _model_update(state: JudgeState, reply: BaseMessage) -> JudgeState:
    usage = reply.usage_metadata if isinstance(reply, AIMessage) else None
    metadata = reply.response_metadata or {}
    return {
        "raw_output": reply.text,
        "finish_reason": metadata.get("finish_reason") or metadata.get("stop_reason"),
        "attempts": state.get("attempts", 0) + 1,
        "input_tokens": _add(state.get("input_tokens"), usage and usage.get("input_tokens")),
        "output_tokens": _add(state.get("output_tokens"), usage and usage.get("output_tokens")),
    }


def _model_failure(state: JudgeState, exc: Exception) -> JudgeState:
    """A non-transient model error (bad key, unknown model, request too large): record it."""
    return {
        "status": JudgeStatus.FAILED,
        "error": f"model call failed: {type(exc).__name__}: {exc}",
        "attempts": state.get("attempts", 0) + 1,
    }


def _make_judge(model: BaseChatModel) -> RunnableLambda[JudgeState, JudgeState]:
    def messages_for(state: JudgeState) -> list[BaseMessage]:
        return build_judge_messages(state["turns"]) + state.get("retry_messages", [])

    def judge(state: JudgeState, config: RunnableConfig) -> JudgeState:
        try:
            reply = model.invoke(messages_for(state), config)
        except Exception as e:
            if is_transient_error(e):
                raise  # the node's RetryPolicy backs off and calls again
            return _model_failure(state, e)
        return _model_update(state, reply)

    async def ajudge(state: JudgeState, config: RunnableConfig) -> JudgeState:
        try:
            reply = await model.ainvoke(messages_for(state), config)
        except Exception as e:
            if is_transient_error(e):
                raise
            return _model_failure(state, e)
        return _model_update(state, reply)

    return RunnableLambda(judge, afunc=ajudge, name="judge")


def _make_validate(max_attempts: int) -> Any:
    def validate(state: JudgeState) -> JudgeState:
        raw = state.get("raw_output") or ""
        try:
            verdict = parse_verdict(raw)
        except VerdictParseError as e:
            error = str(e)
            if state.get("finish_reason") == "length":
                error = f"the reply was cut off at the token limit; {error}"
            if state.get("attempts", 0) >= max_attempts:
                return {
                    "status": JudgeStatus.FAILED,
                    "error": f"no valid verdict after {state.get('attempts', 0)} attempts: {error}",
                }
            retry = build_retry_messages(raw, error)
            return {"retry_messages": state.get("retry_messages", []) + retry, "error": error}
        return {"status": JudgeStatus.JUDGED, "verdict": verdict, "error": None}

    return validate


# A state with a status is finished (skipped, failed or judged): route it to the end.
def _route_after_extract(state: JudgeState) -> Literal["judge", "__end__"]:
    return "__end__" if state.get("status") else "judge"


def _route_after_judge(state: JudgeState) -> Literal["validate", "__end__"]:
    return "__end__" if state.get("status") else "validate"


def _route_after_validate(state: JudgeState) -> Literal["judge", "__end__"]:
    return "__end__" if state.get("status") else "judge"


def build_judge_graph(
    model: BaseChatModel,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
    transport_retry: RetryPolicy | None = DEFAULT_TRANSPORT_RETRY,
) -> CompiledStateGraph[JudgeState, None, JudgeState, JudgeState]:
    """Build the compiled judge graph for ``model``.

    Args:
        model: the judge chat model (see :func:`~langchain_perceived_error.resolve_model`).
        max_attempts: model calls allowed per trace, format retries included (>= 1).
        include_tools: keep tool calls and results as compact text in the transcript.
        transport_retry: backoff for transient transport errors; ``None`` disables it.

    Invoke with ``{"record": <any trace shape>}``; turn the final state into a
    :class:`~langchain_perceived_error.JudgeResult` with :func:`result_from_state`.

    """
    if max_attempts < 1:
        msg = f"max_attempts must be at least 1, got {max_attempts}"
        raise ValueError(msg)
    builder = StateGraph(JudgeState)
    builder.add_node("extract", _make_extract(include_tools))
    builder.add_node("judge", _make_judge(model), retry_policy=transport_retry)
    builder.add_node("validate", _make_validate(max_attempts))
    builder.add_edge(START, "extract")
    builder.add_conditional_edges("extract", _route_after_extract)
    builder.add_conditional_edges("judge", _route_after_judge)
    builder.add_conditional_edges("validate", _route_after_validate)
    return builder.compile(name="perceived_error_judge")


def result_from_state(
    state: JudgeState, *, record_id: str | None, model: str, started: float
) -> JudgeResult:
    """The typed result of a finished graph run (``started`` is a ``time.perf_counter()``)."""
    status = state.get("status") or JudgeStatus.FAILED
    failed = status is JudgeStatus.FAILED
    return JudgeResult(
        id=record_id,
        status=status,
        verdict=state.get("verdict") if status is JudgeStatus.JUDGED else None,
        skip_reason=state.get("skip_reason"),
        error=(state.get("error") or "the judge stopped without a verdict") if failed else None,
        raw_output=state.get("raw_output") if failed else None,
        attempts=state.get("attempts", 0),
        model=model,
        input_tokens=state.get("input_tokens"),
        output_tokens=state.get("output_tokens"),
        latency_s=time.perf_counter() - started,
        turns=state.get("turns", []),
    )
