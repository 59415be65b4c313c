"""The judge as a LangSmith evaluator: a ``RunEvaluator`` and a plain-function evaluator.

:class:`PerceivedErrorEvaluator` plugs into ``langsmith.evaluate`` / ``aevaluate`` (and anything
else that calls ``evaluate_run``). :func:`create_perceived_error_evaluator` builds a plain function
``(*, outputs, **kwargs) -> dict`` that works both as a ``langsmith`` function evaluator (it judges
the run's outputs) and as an openevals trajectory evaluator (``run_multiturn_simulation(...,
trajectory_evaluators=[...])`` passes the simulated conversation as ``outputs``).

Every entry point maps a :class:`~langchain_perceived_error.core.schemas.JudgeResult` with one
function, :func:`evaluation_result`, so the feedback looks the same wherever it comes from.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol, get_args

from langsmith.evaluation.evaluator import EvaluationResult, RunEvaluator
from langsmith.run_helpers import get_tracing_context, tracing_context
from langsmith.schemas import Example, Run

from langchain_perceived_error.core.evidence import with_evidence_note
from langchain_perceived_error.core.prompts import PROMPT_VERSION
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import ModelSpec
from langchain_perceived_error.judge.runner import PerceivedErrorJudge, resolve_judge

__all__ = [
    "DEFAULT_KEY",
    "THREAD_ID_KEYS",
    "PerceivedErrorEvaluator",
    "Source",
    "ThreadReader",
    "ajudge_quietly",
    "create_async_perceived_error_evaluator",
    "create_perceived_error_evaluator",
    "evaluation_result",
    "judge_quietly",
    "thread_id_of",
]

DEFAULT_KEY = "perceived_error"
"""The feedback key every evaluator here writes unless told otherwise."""

THREAD_ID_KEYS = ("thread_id", "session_id", "conversation_id")
"""Run metadata keys LangSmith groups threads by, in the order they are looked up."""

Source = Literal["run", "outputs", "thread"]
"""What :class:`PerceivedErrorEvaluator` reads from a run (see its docstring)."""

_RAW_OUTPUT_LIMIT = 1000


class ThreadReader(Protocol):
    """Reads the runs (root traces) of one thread: ``reader(project_id=..., thread_id=...)``.

    It may be sync or async (return an awaitable); an async reader needs ``aevaluate_run``, and
    ``aevaluate_run`` calls a sync reader directly (blocking the loop while it reads).
    ``functools.partial(read_thread, clients)`` from ``langchain_perceived_error.online.threads``
    fits, as does any ``lambda project_id, thread_id: [...]``.
    """

    def __call__(
        self, *, project_id: str, thread_id: str
    ) -> Sequence[Any] | Awaitable[Sequence[Any]]:
        """The thread's runs, in any order (the transcript orders them by start time)."""
        ...


@contextmanager
def _judge_tracing() -> Iterator[None]:
    """Keep the judge graph's LangChain runs local when LangSmith traces in "local" mode.

    ``evaluate(..., upload_results=False)`` runs evaluators (and targets) with tracing set to
    ``"local"``: LangSmith's own ``@traceable`` keeps those runs in memory, but LangChain's tracer
    only sees a truthy value and would post every node of the judge graph to the server. Turning
    tracing off around the judge restores the "no upload" promise (zero requests).
    """
    if get_tracing_context().get("enabled") == "local":
        with tracing_context(enabled=False):
            yield
    else:
        yield


def judge_quietly(judge: PerceivedErrorJudge, record: Any) -> JudgeResult:
    """``judge.judge(record)``, uploading nothing when LangSmith traces locally (see above)."""
    with _judge_tracing():
        return judge.judge(record)


async def ajudge_quietly(judge: PerceivedErrorJudge, record: Any) -> JudgeResult:
    """Async :func:`judge_quietly`."""
    with _judge_tracing():
        return await judge.ajudge(record)


def evaluation_result(
    result: JudgeResult, *, key: str = DEFAULT_KEY, prompt_version: str = PROMPT_VERSION
) -> EvaluationResult:
    """Map one judgement to a LangSmith ``EvaluationResult`` (the single mapping used here).

    - judged: ``score`` 1 (perceived error) or 0, ``value`` the judge's confidence (the
      probability of a perceived error; None when the judge gives none), ``comment`` the
      verdict's reason, followed by ``(evidence: turn N of M)`` when the user turn it rests on
      is known (counted from 1; ``extra["evidence_turn"]`` is the 0-based index);
    - skipped: no score, ``comment`` ``"skipped: <why>"``;
    - failed: no score (never a silent 0), ``comment`` the error, ``extra["error"] = True``.

    ``extra`` carries ``status``, ``attempts``, ``input_tokens``, ``output_tokens`` and
    ``latency_s``, and for a judged result ``confidence`` and ``evidence_turn`` when known;
    ``evaluator_info`` carries the model and ``prompt_version``: the version of the prompt the
    judge sent (``judge.prompt_version``; :data:`PROMPT_VERSION` for the default full prompt).
    """
    extra: dict[str, Any] = {
        "status": result.status.value,
        "attempts": result.attempts,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "latency_s": round(result.latency_s, 4),
    }
    info = {"model": result.model, "prompt_version": prompt_version}
    if result.status is JudgeStatus.JUDGED and result.verdict is not None:
        if result.confidence is not None:
            extra["confidence"] = result.confidence
        if result.evidence_turn is not None:
            extra["evidence_turn"] = result.evidence_turn
        return EvaluationResult(
            key=key,
            score=int(result.verdict.perceived_error),
            value=result.confidence,
            comment=with_evidence_note(result.verdict.reason, result.evidence_turn, result.turns),
            evaluator_info=info,
            extra=extra,
        )
    if result.status is JudgeStatus.SKIPPED:
        return EvaluationResult(
            key=key, comment=f"skipped: {result.skip_reason}", evaluator_info=info, extra=extra
        )
    extra["error"] = True
    if result.raw_output:
        extra["raw_output"] = result.raw_output[:_RAW_OUTPUT_LIMIT]
    return EvaluationResult(
        key=key,
        comment=result.error or "the judge returned no verdict",
        evaluator_info=info,
        extra=extra,
    )


def thread_id_of(run: Run | Mapping[str, Any]) -> str | None:
    """The thread id in a run's metadata (``thread_id``, ``session_id`` or ``conversation_id``)."""
    if isinstance(run, Mapping):
        extra = run.get("extra") or {}
        metadata = run.get("metadata") or extra.get("metadata") or {}
    else:
        metadata = (run.extra or {}).get("metadata") or {}
    for key in THREAD_ID_KEYS:
        value = metadata.get(key)
        if value not in (None, ""):
            return str(value)
    return None


class PerceivedErrorEvaluator(RunEvaluator):
    """Scores a LangSmith run for perceived error: 1 flagged, 0 not flagged.

    Use it in ``langsmith.evaluate(target, data=..., evaluators=[PerceivedErrorEvaluator()])`` or
    ``aevaluate`` (``aevaluate_run`` is natively async: it awaits the judge, no thread pool).

    ``source`` picks what is judged:

    - ``"run"`` (default): the run's inputs and outputs, merged (a chat app whose inputs hold the
      history and whose outputs hold the reply, or a replayed conversation);
    - ``"outputs"``: the run's outputs only, for targets that return the whole conversation
      (simulations, replays) while their inputs hold something else;
    - ``"thread"``: every trace of the run's thread. The thread id comes from the run's metadata
      (``thread_id``, ``session_id`` or ``conversation_id``), the project from ``run.session_id``,
      and the runs from ``thread_reader(project_id=..., thread_id=...)``.

    Results (one per run, key ``key``):

    - judged: ``score`` 1 or 0, ``comment`` the judge's one-sentence reason;
    - skipped (no user turn after an assistant turn, so nothing a user could have reacted to):
      NO score, ``comment`` ``"skipped: <why>"`` and ``extra["status"] == "skipped"``; LangSmith
      averages ignore it, so single-turn runs do not dilute the flagged rate;
    - failed (no valid verdict; a run that errored without outputs; an unreadable thread): NO
      score, ``comment`` the error and ``extra["error"] is True`` (shown as an evaluator error in
      LangSmith), never a silent 0.

    ``extra`` also carries ``status``, ``attempts``, ``input_tokens``, ``output_tokens`` and
    ``latency_s``; ``evaluator_info`` the model and prompt version (see :func:`evaluation_result`).
    """

    def __init__(
        self,
        model: ModelSpec = None,
        *,
        key: str = DEFAULT_KEY,
        source: Source = "run",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        include_tools: bool = False,
        judge: PerceivedErrorJudge | None = None,
        thread_reader: ThreadReader | None = None,
    ) -> None:
        """Build the judge from ``model`` (see ``resolve_model``), or use a ready ``judge``.

        Raises:
            ValueError: for an unknown ``source``, ``source="thread"`` without a
                ``thread_reader``, or both ``model`` and ``judge``.
            ModelSpecError: when ``model`` cannot be resolved.

        """
        if source not in get_args(Source):
            msg = f"source must be one of {get_args(Source)}, got {source!r}"
            raise ValueError(msg)
        if source == "thread" and thread_reader is None:
            msg = (
                "source='thread' needs a thread_reader(project_id=..., thread_id=...) that "
                "returns the thread's runs, e.g. functools.partial(read_thread, clients) from "
                "langchain_perceived_error.online.threads"
            )
            raise ValueError(msg)
        self.key = key
        self.source: Source = source
        self.thread_reader = thread_reader
        self.judge = resolve_judge(
            model, judge, max_attempts=max_attempts, include_tools=include_tools
        )

    def __repr__(self) -> str:
        """Name, key, model and source (shown in LangSmith's evaluator error logs)."""
        return (
            f"{type(self).__name__}(key={self.key!r}, model={self.judge.model_name!r}, "
            f"source={self.source!r})"
        )

    @property
    def feedback_keys(self) -> list[str]:
        """The one feedback key this evaluator writes (used by the runner on exceptions)."""
        return [self.key]

    # -- reading ---------------------------------------------------------------------------------
    def _thread_request(self, run: Run) -> tuple[str, str]:
        thread_id = thread_id_of(run)
        if thread_id is None:
            msg = (
                f"run {run.id} has no thread id: none of {', '.join(THREAD_ID_KEYS)} is set in "
                "its metadata"
            )
            raise ValueError(msg)
        if run.session_id is None:
            msg = f"run {run.id} has no session_id (project id): cannot read its thread"
            raise ValueError(msg)
        return str(run.session_id), thread_id

    def _direct_record(self, run: Run) -> Any:
        """The record judged for ``source`` run/outputs (no I/O).

        Raises:
            ValueError: for a run that failed without outputs (nothing the app said to judge).

        """
        if run.error and not run.outputs:
            msg = f"the run failed without outputs: {run.error}"
            raise ValueError(msg)
        if self.source == "outputs":
            return {"id": str(run.id), "outputs": run.outputs or {}}
        return run

    def _read_thread(self, run: Run) -> Sequence[Any] | Awaitable[Sequence[Any]]:
        assert self.thread_reader is not None  # checked in __init__
        project_id, thread_id = self._thread_request(run)
        return self.thread_reader(project_id=project_id, thread_id=thread_id)

    def _thread_record(self, run: Run, runs: Sequence[Any]) -> dict[str, Any]:
        if not runs:
            msg = f"the thread {thread_id_of(run)!r} of run {run.id} has no runs"
            raise ValueError(msg)
        return {"id": thread_id_of(run), "runs": list(runs)}

    def _failed(self, run: Run, error: Exception) -> EvaluationResult:
        what = f"the thread of run {run.id}" if self.source == "thread" else f"run {run.id}"
        result = JudgeResult(
            id=str(run.id),
            status=JudgeStatus.FAILED,
            error=f"cannot read {what}: {type(error).__name__}: {error}",
            model=self.judge.model_name,
        )
        return evaluation_result(result, key=self.key, prompt_version=self.judge.prompt_version)

    # -- evaluating ------------------------------------------------------------------------------
    def evaluate_run(
        self,
        run: Run,
        example: Example | None = None,
        evaluator_run_id: Any = None,
    ) -> EvaluationResult:
        """Judge ``run`` (``example`` and ``evaluator_run_id`` are accepted and unused)."""
        try:
            if self.source != "thread":
                record = self._direct_record(run)
            else:
                record = self._thread_record(run, _sync_runs(self._read_thread(run)))
        except Exception as e:
            return self._failed(run, e)
        result = judge_quietly(self.judge, record)
        return evaluation_result(result, key=self.key, prompt_version=self.judge.prompt_version)

    async def aevaluate_run(
        self,
        run: Run,
        example: Example | None = None,
        evaluator_run_id: Any = None,
    ) -> EvaluationResult:
        """Async :meth:`evaluate_run`: awaits the judge (and an async thread reader) directly."""
        try:
            if self.source != "thread":
                record = self._direct_record(run)
            else:
                runs = self._read_thread(run)
                if inspect.isawaitable(runs):
                    runs = await runs
                record = self._thread_record(run, runs)
        except Exception as e:
            return self._failed(run, e)
        return evaluation_result(
            await ajudge_quietly(self.judge, record),
            key=self.key,
            prompt_version=self.judge.prompt_version,
        )


def _sync_runs(runs: Sequence[Any] | Awaitable[Sequence[Any]]) -> Sequence[Any]:
    if inspect.isawaitable(runs):
        if inspect.iscoroutine(runs):
            runs.close()  # never awaited: close it so Python does not warn
        msg = "the thread_reader is async: use aevaluate_run (langsmith.aevaluate)"
        raise TypeError(msg)
    return runs


def create_perceived_error_evaluator(
    model: ModelSpec = None,
    *,
    key: str = DEFAULT_KEY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
    judge: PerceivedErrorJudge | None = None,
) -> Callable[..., dict[str, Any]]:
    """A plain function evaluator ``(*, outputs, **kwargs) -> dict`` that judges ``outputs``.

    ``outputs`` is anything the transcript reader understands: a run's outputs such as
    ``{"messages": [...]}`` (in ``langsmith.evaluate``) or an openevals simulation trajectory (in
    ``run_multiturn_simulation(..., trajectory_evaluators=[...])``). The dict has ``key``,
    ``score``, ``value``, ``comment``, ``evaluator_info`` and ``extra``, as in
    :func:`evaluation_result`.
    """
    bound = resolve_judge(model, judge, max_attempts=max_attempts, include_tools=include_tools)

    def perceived_error(*, outputs: Any, **kwargs: Any) -> dict[str, Any]:
        return _as_dict(
            evaluation_result(
                judge_quietly(bound, outputs), key=key, prompt_version=bound.prompt_version
            )
        )

    perceived_error.__name__ = key
    return perceived_error


def create_async_perceived_error_evaluator(
    model: ModelSpec = None,
    *,
    key: str = DEFAULT_KEY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
    judge: PerceivedErrorJudge | None = None,
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Async :func:`create_perceived_error_evaluator` (for ``aevaluate`` and async simulations)."""
    bound = resolve_judge(model, judge, max_attempts=max_attempts, include_tools=include_tools)

    async def perceived_error(*, outputs: Any, **kwargs: Any) -> dict[str, Any]:
        return _as_dict(
            evaluation_result(
                await ajudge_quietly(bound, outputs), key=key, prompt_version=bound.prompt_version
            )
        )

    perceived_error.__name__ = key
    return perceived_error


def _as_dict(result: EvaluationResult) -> dict[str, Any]:
    """A result as the plain dict function evaluators return (``score`` always present)."""
    return {
        "key": result.key,
        "score": result.score,
        "value": result.value,
        "comment": result.comment,
        "evaluator_info": result.evaluator_info,
        "extra": result.extra,
    }
