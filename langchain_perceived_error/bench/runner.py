"""Judge labelled items with each model, recording every record's model calls.

Each record's calls are counted by a callback (live calls, cache hits, cached input tokens) and
timed from LangChain's cache check to the reply (the model call itself, any client-side rate-limit
wait included, no callback or event-loop overhead): by a
:class:`~langchain_perceived_error.bench.cache.CallTimer`, or by the ``--cache``, which stores the
time with the reply, so a cached re-run reports the same latency as the run that filled the cache.
The items come from :mod:`~langchain_perceived_error.bench.data`; the runs are scored by
:mod:`~langchain_perceived_error.bench.scoring`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.caches import BaseCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

from langchain_perceived_error.bench.cache import CallTimer, cache_marker, with_cache
from langchain_perceived_error.bench.data import LabelledItem
from langchain_perceived_error.core.metrics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
)
from langchain_perceived_error.core.prompts import PromptStyle
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import ModelSpec, model_name, resolve_model
from langchain_perceived_error.judge.runner import DEFAULT_CONCURRENCY, PerceivedErrorJudge
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "BenchSettings",
    "ItemOutcome",
    "ModelRun",
    "arun_benchmark",
    "build_judges",
    "run_benchmark",
]


# -- per-record call recording -------------------------------------------------------------------


class _CallRecorder(BaseCallbackHandler):
    """Counts one record's model calls, cache hits, latency and cached input tokens."""

    run_inline = True

    def __init__(self) -> None:
        self._starts: dict[UUID, float] = {}
        self.live_calls = 0
        self.cache_hits = 0
        self.latency_s = 0.0
        self.latency_known = True
        self.cached_input_tokens = 0

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        self._starts[run_id] = time.perf_counter()

    def _elapsed(self, run_id: UUID) -> float | None:
        started = self._starts.pop(run_id, None)
        return None if started is None else time.perf_counter() - started

    def _add_latency(self, seconds: float | None) -> None:
        if seconds is None:
            self.latency_known = False
        else:
            self.latency_s += seconds

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        elapsed = self._elapsed(run_id)
        generation = response.generations[0][0] if response.generations else None
        message = generation.message if isinstance(generation, ChatGeneration) else None
        marker = cache_marker(message) if message is not None else None
        if marker is not None and marker.hit:
            self.cache_hits += 1
        else:
            self.live_calls += 1
        # with a cache, its measurement (miss to reply) serves a live call and its re-runs alike
        self._add_latency(elapsed if marker is None else marker.latency_s)
        usage = getattr(message, "usage_metadata", None) or {}
        details = usage.get("input_token_details") or {}
        self.cached_input_tokens += int(details.get("cache_read") or 0)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.live_calls += 1
        self._add_latency(self._elapsed(run_id))


_RECORDER: ContextVar[_CallRecorder | None] = ContextVar(
    "perceived_error_bench_recorder", default=None
)
register_configure_hook(_RECORDER, inheritable=True)


# -- judging ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSettings:
    """How the benchmark judges and scores."""

    concurrency: int = DEFAULT_CONCURRENCY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    include_tools: bool = False
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    confidence: float = DEFAULT_CONFIDENCE
    target_precision: float | None = None
    """Calibration: report the lowest confidence threshold whose precision reaches this."""
    prompt: PromptStyle = "full"
    """The system prompt every judge :func:`build_judges` makes sends (``--prompt``): ``full``
    for base and frontier models, ``compact`` for a model fine-tuned on it. The ``rules`` judge
    reads only the transcript, whatever the prompt."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ItemOutcome:
    """One labelled item as one model judged it."""

    id: str
    label: bool
    status: JudgeStatus
    predicted: bool | None
    reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int
    model_calls: int
    cache_hits: int
    model_latency_s: float | None
    confidence: float | None = None
    """The judge's probability of a perceived error (None when it gives none)."""
    evidence_turn: int | None = None
    """The 0-based index of the user turn the verdict rests on, when located."""

    @property
    def reached_model(self) -> bool:
        """Whether at least one model call (live or cached) was made for this item."""
        return self.model_calls + self.cache_hits > 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``predictions.jsonl`` line, without the model)."""
        return {
            "id": self.id,
            "label": self.label,
            "status": self.status.value,
            "predicted": self.predicted,
            "reason": self.reason,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "model_calls": self.model_calls,
            "cache_hits": self.cache_hits,
            "model_latency_s": self.model_latency_s,
            "confidence": self.confidence,
            "evidence_turn": self.evidence_turn,
        }


@dataclass
class ModelRun:
    """Every item's outcome for one model."""

    spec: str
    model: str
    outcomes: list[ItemOutcome] = field(default_factory=list)
    wall_s: float = 0.0
    prompt: PromptStyle | None = "full"
    """The system prompt the judge sent (its ``prompt``); None when the run mixes two (a
    cascade of judges with different prompts). Scoring reads it: with ``compact`` the measured
    tokens are the compact prompt's."""


def _outcome(item: LabelledItem, result: JudgeResult, recorder: _CallRecorder) -> ItemOutcome:
    calls = recorder.live_calls + recorder.cache_hits
    return ItemOutcome(
        id=item.id,
        label=item.label,
        status=result.status,
        predicted=result.perceived_error,
        reason=result.reason,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        cached_input_tokens=recorder.cached_input_tokens,
        model_calls=recorder.live_calls,
        cache_hits=recorder.cache_hits,
        model_latency_s=recorder.latency_s if calls and recorder.latency_known else None,
        confidence=result.confidence,
        evidence_turn=result.evidence_turn,
    )


def _spec_label(spec: ModelSpec) -> str | None:
    return spec.strip() if isinstance(spec, str) else None


def build_judges(
    models: Sequence[ModelSpec],
    *,
    cache: BaseCache | None = None,
    settings: BenchSettings | None = None,
    timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    **judge_options: Any,
) -> list[tuple[str, PerceivedErrorJudge]]:
    """``(label, judge)`` per model spec, each model reading and writing ``cache`` when given
    (else a :class:`~langchain_perceived_error.bench.cache.CallTimer`, which times calls, stores
    nothing).

    Resolving every spec first makes a bad spec or a missing key fail before any judging;
    ``timeout`` bounds each model request (see :func:`resolve_model`).
    ``judge_options`` go to :class:`PerceivedErrorJudge` (e.g. ``transport_retry``); the prompt
    is ``settings.prompt``, so that the report records the prompt the judges sent.

    Raises:
        ModelSpecError: for a spec that cannot be resolved.
        TypeError: when ``judge_options`` holds ``prompt`` (give ``BenchSettings(prompt=...)``).

    """
    settings = settings or BenchSettings()
    if "prompt" in judge_options:
        msg = "build_judges() takes the prompt from settings: pass BenchSettings(prompt=...)"
        raise TypeError(msg)
    judges = []
    for spec in models:
        # without a disk cache, a CallTimer times calls the same way (miss to reply)
        model = with_cache(
            resolve_model(spec, timeout=timeout), CallTimer() if cache is None else cache
        )
        judge = PerceivedErrorJudge(
            model,
            max_attempts=settings.max_attempts,
            include_tools=settings.include_tools,
            prompt=settings.prompt,
            **judge_options,
        )
        judges.append((_spec_label(spec) or model_name(model), judge))
    return judges


async def _judge_items(
    judge: PerceivedErrorJudge,
    items: Sequence[LabelledItem],
    concurrency: int,
    on_outcome: Callable[[ItemOutcome], None] | None,
) -> list[ItemOutcome]:
    limit = asyncio.Semaphore(concurrency)

    async def one(item: LabelledItem) -> ItemOutcome:
        async with limit:
            recorder = _CallRecorder()
            _RECORDER.set(recorder)  # this task's context only
            result = await judge.ajudge(item.payload)
        outcome = _outcome(item, result, recorder)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(one(item) for item in items)))


async def arun_benchmark(
    items: Sequence[LabelledItem],
    judges: Sequence[tuple[str, PerceivedErrorJudge]],
    *,
    settings: BenchSettings | None = None,
    on_outcome: Callable[[ItemOutcome], None] | None = None,
) -> list[ModelRun]:
    """Judge every item with every judge (one model after the other), in input order."""
    settings = settings or BenchSettings()
    if settings.concurrency < 1:
        msg = f"concurrency must be at least 1, got {settings.concurrency}"
        raise ValueError(msg)
    runs = []
    for label, judge in judges:
        started = time.perf_counter()
        outcomes = await _judge_items(judge, items, settings.concurrency, on_outcome)
        wall_s = time.perf_counter() - started
        runs.append(ModelRun(label, judge.model_name, outcomes, wall_s, prompt=judge.prompt))
    return runs


def run_benchmark(
    items: Sequence[LabelledItem],
    judges: Sequence[tuple[str, PerceivedErrorJudge]],
    *,
    settings: BenchSettings | None = None,
    on_outcome: Callable[[ItemOutcome], None] | None = None,
) -> list[ModelRun]:
    """Sync :func:`arun_benchmark` (use the async one inside a running event loop).

    It runs its own event loop, and the models' async HTTP clients (bound to that loop) are closed
    (``aclose()``, e.g. ChatFireworks') before it ends, so no connection outlives it: a model
    with such a client serves async calls in one ``run_benchmark`` only.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_run_then_close(items, judges, settings, on_outcome))
    msg = "run_benchmark() cannot run inside an event loop; await arun_benchmark() instead"
    raise RuntimeError(msg)


async def _run_then_close(
    items: Sequence[LabelledItem],
    judges: Sequence[tuple[str, PerceivedErrorJudge]],
    settings: BenchSettings | None,
    on_outcome: Callable[[ItemOutcome], None] | None,
) -> list[ModelRun]:
    try:
        return await arun_benchmark(items, judges, settings=settings, on_outcome=on_outcome)
    finally:
        for _, judge in judges:
            aclose = getattr(judge.model, "aclose", None)
            if callable(aclose):
                await aclose()
