"""Evaluate an agent before release with simulated users (openevals multi-turn simulations).

:func:`simulation_target` runs an openevals multi-turn simulation per example and returns the
conversation as the run's outputs (judge it with ``PerceivedErrorEvaluator(source="outputs")``);
:func:`simulation_record` turns one simulation result into a record the judge reads. openevals is
an optional dependency (``pip install 'langchain-perceived-error[simulation]'``).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any

from langchain_perceived_error.evaluation.targets import AsyncTarget, Target

__all__ = ["UserFactory", "asimulation_target", "simulation_record", "simulation_target"]

UserFactory = Callable[[Mapping[str, Any]], Any]
"""Builds the simulated user of one example from its inputs (a list of fixed replies or a
callable openevals accepts)."""


def _simulators() -> ModuleType:
    try:
        return importlib.import_module("openevals.simulators")
    except ImportError as e:
        msg = "simulated users need openevals: pip install 'langchain-perceived-error[simulation]'"
        raise ImportError(msg) from e


def simulation_record(result: Any, *, record_id: str | None = None) -> dict[str, Any]:
    """A record the judge reads from an openevals simulation result (or a bare trajectory).

    ``result`` is what ``run_multiturn_simulation`` returns (``{"trajectory": [...],
    "evaluator_results": [...]}``), a ``{"messages": [...]}`` dict or the trajectory list itself.
    The record is ``{"messages": trajectory}`` plus ``"id"`` when ``record_id`` is given.

    Raises:
        TypeError: when no trajectory list is found.

    """
    if isinstance(result, Mapping):
        trajectory = result.get("trajectory", result.get("messages"))
    else:
        trajectory = result
    if not isinstance(trajectory, list):
        found = sorted(result) if isinstance(result, Mapping) else type(result).__name__
        msg = f"expected a simulation result with a 'trajectory' list, got {found}"
        raise TypeError(msg)
    record: dict[str, Any] = {"messages": list(trajectory)}
    if record_id is not None:
        record["id"] = record_id
    return record


def _simulation_kwargs(
    inputs: Mapping[str, Any],
    app: Callable[..., Any],
    user: UserFactory | None,
    max_turns: int | None,
    stopping_condition: Callable[..., Any] | None,
) -> dict[str, Any]:
    if user is not None:
        simulated_user = user(inputs)
    elif isinstance(inputs.get("user_responses"), list):
        simulated_user = inputs["user_responses"]
    else:
        msg = (
            "no simulated user: pass user=<factory of a simulated user from the example inputs> "
            f"or give examples a 'user_responses' list (inputs keys: {sorted(inputs)})"
        )
        raise ValueError(msg)
    turns = inputs.get("max_turns", max_turns)
    if turns is None and stopping_condition is None and isinstance(simulated_user, list):
        turns = len(simulated_user)
    return {
        "app": app,
        "user": simulated_user,
        "max_turns": turns,
        "stopping_condition": stopping_condition,
        "thread_id": str(inputs.get("thread_id") or uuid.uuid4()),
    }


def simulation_target(
    app: Callable[..., Any],
    *,
    user: UserFactory | None = None,
    max_turns: int | None = None,
    stopping_condition: Callable[..., bool] | None = None,
) -> Target:
    """A target that runs one openevals multi-turn simulation of ``app`` per example.

    The simulated user is ``user(example inputs)`` (e.g. ``create_llm_simulated_user(...)`` with a
    persona from the inputs), else the example's ``inputs["user_responses"]`` (fixed replies, one
    per turn). ``max_turns`` defaults to ``inputs["max_turns"]``, else the number of fixed replies.
    The outputs are ``{"messages": trajectory}``: judge them with
    ``PerceivedErrorEvaluator(source="outputs")`` or ``create_perceived_error_evaluator()``.

    Raises:
        ImportError: when openevals is not installed (with the install hint).

    """
    simulators = _simulators()

    def simulated_conversation(inputs: dict[str, Any]) -> dict[str, Any]:
        kwargs = _simulation_kwargs(inputs, app, user, max_turns, stopping_condition)
        return simulation_record(simulators.run_multiturn_simulation(**kwargs))

    return simulated_conversation


def asimulation_target(
    app: Callable[..., Any],
    *,
    user: UserFactory | None = None,
    max_turns: int | None = None,
    stopping_condition: Callable[..., Awaitable[bool]] | None = None,
) -> AsyncTarget:
    """Async :func:`simulation_target` (``run_multiturn_simulation_async``, for ``aevaluate``)."""
    simulators = _simulators()

    async def simulated_conversation(inputs: dict[str, Any]) -> dict[str, Any]:
        kwargs = _simulation_kwargs(inputs, app, user, max_turns, stopping_condition)
        return simulation_record(await simulators.run_multiturn_simulation_async(**kwargs))

    return simulated_conversation
