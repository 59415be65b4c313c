"""The targets of ``langsmith.evaluate``: replay a recorded conversation, or run the judge.

:func:`replay_target` returns the recorded conversation as the run's outputs, so
``evaluate(replay_target, data=examples, evaluators=[PerceivedErrorEvaluator()])`` scores each
recorded conversation. :func:`judge_target` makes the judge itself the target (its verdict as
:func:`judge_output`), to measure it against labels
(:mod:`~langchain_perceived_error.evaluation.label_experiments`). The judge runs through
:func:`~langchain_perceived_error.evaluation.evaluators.judge_quietly`, which keeps its LangGraph
runs from being posted when LangSmith traces in "local" (no upload) mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_perceived_error.core.schemas import JudgeResult
from langchain_perceived_error.evaluation.evaluators import ajudge_quietly, judge_quietly
from langchain_perceived_error.evaluation.examples import LABEL_KEY
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import ModelSpec
from langchain_perceived_error.judge.runner import PerceivedErrorJudge, resolve_judge

__all__ = [
    "AsyncTarget",
    "Target",
    "ajudge_target",
    "areplay_target",
    "judge_output",
    "judge_target",
    "replay_target",
]

Target = Callable[[dict[str, Any]], dict[str, Any]]
"""A ``langsmith.evaluate`` target: an example's inputs in, the run's outputs out."""
AsyncTarget = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""A ``langsmith.aevaluate`` target."""


def _messages_of(inputs: Mapping[str, Any]) -> list[Any]:
    messages = inputs.get("messages")
    if not isinstance(messages, list):
        msg = f"expected inputs with a 'messages' list, got keys {sorted(inputs)}"
        raise TypeError(msg)
    return messages


def replay_target(inputs: dict[str, Any]) -> dict[str, Any]:
    """A ``langsmith.evaluate`` target that replays the recorded conversation as its outputs.

    Raises:
        TypeError: when the inputs hold no ``messages`` list.

    """
    return {"messages": _messages_of(inputs)}


async def areplay_target(inputs: dict[str, Any]) -> dict[str, Any]:
    """Async :func:`replay_target`, for ``langsmith.aevaluate`` (which takes async targets only)."""
    return replay_target(inputs)


def judge_output(result: JudgeResult) -> dict[str, Any]:
    """A judgement as a target's outputs (what LangSmith shows for each run of the judge).

    ``perceived_error`` is None unless judged; ``reason`` then holds the skip reason or error.
    """
    return {
        LABEL_KEY: result.perceived_error,
        "reason": result.reason,
        "status": result.status.value,
        "model": result.model,
        "attempts": result.attempts,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
    }


def judge_target(
    model: ModelSpec = None,
    *,
    judge: PerceivedErrorJudge | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
) -> Target:
    """The judge as a ``langsmith.evaluate`` target: example inputs in, :func:`judge_output` out.

    The inputs (``{"messages": [...]}`` or any shape the judge reads) are judged as they are.
    """
    bound = resolve_judge(model, judge, max_attempts=max_attempts, include_tools=include_tools)

    def perceived_error_judge(inputs: dict[str, Any]) -> dict[str, Any]:
        return judge_output(judge_quietly(bound, inputs))

    return perceived_error_judge


def ajudge_target(
    model: ModelSpec = None,
    *,
    judge: PerceivedErrorJudge | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
) -> AsyncTarget:
    """Async :func:`judge_target`, for ``langsmith.aevaluate``."""
    bound = resolve_judge(model, judge, max_attempts=max_attempts, include_tools=include_tools)

    async def perceived_error_judge(inputs: dict[str, Any]) -> dict[str, Any]:
        return judge_output(await ajudge_quietly(bound, inputs))

    return perceived_error_judge
