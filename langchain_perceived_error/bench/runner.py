"""Judge a labelled set with each model, and score every model against the labels.

Data: any JSONL (or .json) of labelled conversations, mapped by field names, never by dataset:
:class:`FieldMapping` names the conversation field (any shape the judge reads), the boolean label
field (``null`` = ambiguous: dropped) and the id field; dotted names reach nested fields
(``outputs.perceived_error``). ``slices`` keep records whose field equals a value
(``{"source_dataset": ("SelfFeeding",)}``); ``limit`` keeps the first N labelled records.

How skipped and failed records count (the same rules for every model):

- accuracy, precision, recall, F1 and Cohen's kappa are over JUDGED records only (a verdict and a
  label): the quality of the verdicts a judge gives. ``skipped`` (no user turn after an assistant
  turn: no model call, the same records for every model) and ``failed`` (no valid verdict) are
  counted beside them.
- ``e2e_accuracy`` is over ALL labelled records, as the pipeline behaves in production: a skipped
  record counts as predicted ``false`` (it can hold no perceived error and gets no flag), and a
  failed record is always wrong. A judge that fails often cannot hide behind a high accuracy.
- ``positive_rate`` is the share of judged records flagged; ``label_positive_rate`` the share of
  all labelled records labelled true.
- tokens: means over records that reached the model (judged or failed after a call), summed over
  format retries; None when the model reports no usage (``rules``).
- cost: the price table's cost of every call made (cached input tokens at the cached price when
  the provider reports them), divided by ALL labelled records: skipped records cost $0, as in
  production. "n/a" when the model has no price, or has a non-zero price but reported no tokens.
- latency: per record, the summed wall time of its model calls (format retries included), over
  records with at least one call; p50 and p95. A call is timed from LangChain's cache check to
  the reply (the model call itself, any client-side rate-limit wait included, no callback or
  event-loop overhead): by a :class:`~langchain_perceived_error.cache.CallTimer`, or by the
  ``--cache``, which stores the time with the reply, so a cached re-run reports the same latency
  as the run that filled the cache, never the microseconds a hit takes. ``cache_hits`` counts the
  calls served from the cache, ``model_calls`` the live ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.caches import BaseCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

from langchain_perceived_error.bench.metrics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    METRIC_NAMES,
    ConfusionMatrix,
    Estimate,
    bootstrap_matrices,
    estimate,
    percentile,
    proportion_estimate,
)
from langchain_perceived_error.cache import CallTimer, cache_marker, with_cache
from langchain_perceived_error.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge import DEFAULT_CONCURRENCY, PerceivedErrorJudge
from langchain_perceived_error.models import ModelSpec, model_name, resolve_model
from langchain_perceived_error.pricing import ModelPrice, price_for
from langchain_perceived_error.records import ReadReport, UnreadableRecord, read_records
from langchain_perceived_error.schemas import JudgeResult, JudgeStatus

__all__ = [
    "BenchDataError",
    "BenchSettings",
    "DataSummary",
    "FieldMapping",
    "ItemOutcome",
    "LabelledItem",
    "ModelRun",
    "ModelScore",
    "arun_benchmark",
    "build_judges",
    "load_labelled",
    "parse_slices",
    "run_benchmark",
    "score_run",
]


class BenchDataError(ValueError):
    """The labelled data cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class FieldMapping:
    """Which record fields hold the conversation, the boolean label and the id."""

    messages_field: str = "messages"
    label_field: str = "perceived_error"
    id_field: str = "id"


@dataclass(frozen=True)
class LabelledItem:
    """One labelled conversation: ``payload`` is what the judge reads."""

    id: str
    label: bool
    payload: Any


@dataclass
class DataSummary:
    """Where the items came from and what was left out."""

    path: str
    mapping: FieldMapping
    slices: dict[str, tuple[str, ...]]
    limit: int | None
    records: int = 0
    outside_slice: int = 0
    null_label: int = 0
    over_limit: int = 0
    used: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "messages_field": self.mapping.messages_field,
            "label_field": self.mapping.label_field,
            "id_field": self.mapping.id_field,
            "slices": {k: list(v) for k, v in self.slices.items()},
            "limit": self.limit,
            "records": self.records,
            "outside_slice": self.outside_slice,
            "null_label_dropped": self.null_label,
            "over_limit": self.over_limit,
            "used": self.used,
        }


_MISSING = object()


def _field(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]``, following dots into nested mappings; ``_MISSING`` when absent."""
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def parse_slices(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``["source_dataset=SelfFeeding", ...]`` -> ``{field: values}``.

    A record is kept when, for every field named, its value equals one of the values given for it
    (fields AND, values of one field OR). Booleans compare as ``true``/``false``, null as ``null``.

    Raises:
        BenchDataError: for a spec without ``=`` or with an empty field name.

    """
    slices: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            msg = f"bad slice {spec!r}: use FIELD=VALUE, e.g. source_dataset=SelfFeeding"
            raise BenchDataError(msg)
        slices.setdefault(name.strip(), []).append(value.strip())
    return {name: tuple(values) for name, values in slices.items()}


def _label(value: Any, where: str, label_field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    msg = f"{where}: {label_field!r} must be true, false, 1, 0 or null, got {value!r}"
    raise BenchDataError(msg)


def load_labelled(
    path: str | Path,
    mapping: FieldMapping | None = None,
    *,
    slices: Mapping[str, Sequence[str]] | None = None,
    limit: int | None = None,
) -> tuple[list[LabelledItem], DataSummary]:
    """Read labelled items from a .jsonl (or .json) file, streaming it line by line.

    Records outside ``slices`` and records with a null label are dropped and counted; then the
    first ``limit`` items are kept. The conversation field's value is judged as it is (a message
    list, a LangGraph state, a run or a thread). A record without an id gets ``file:line``.

    Raises:
        BenchDataError: when the file cannot be read, a line is not a JSON object, or a kept
            record lacks the conversation or label field or has a non-boolean label.

    """
    mapping = mapping or FieldMapping()
    wanted = {name: tuple(values) for name, values in (slices or {}).items()}
    summary = DataSummary(str(path), mapping, wanted, limit)
    if limit is not None and limit < 1:
        msg = f"limit must be at least 1, got {limit}"
        raise BenchDataError(msg)
    report = ReadReport()
    items: list[LabelledItem] = []
    for sourced in read_records([str(path)], report):
        summary.records += 1
        record, where = sourced.payload, sourced.source
        if isinstance(record, UnreadableRecord):
            raise BenchDataError(record.error)
        if not isinstance(record, Mapping):
            msg = f"{where}: expected a JSON object, got {type(record).__name__}"
            raise BenchDataError(msg)
        if any(_as_text(_field(record, f)) not in values for f, values in wanted.items()):
            summary.outside_slice += 1
            continue
        raw_label = _field(record, mapping.label_field)
        messages = _field(record, mapping.messages_field)
        for name, value in ((mapping.label_field, raw_label), (mapping.messages_field, messages)):
            if value is _MISSING:
                msg = f"{where} has no {name!r} field (fields: {sorted(record)})"
                raise BenchDataError(msg)
        label = _label(raw_label, where, mapping.label_field)
        if label is None:
            summary.null_label += 1
            continue
        if limit is not None and len(items) >= limit:
            summary.over_limit += 1
            continue
        record_id = _field(record, mapping.id_field)
        item_id = where if record_id is _MISSING or record_id is None else str(record_id)
        items.append(LabelledItem(item_id, label, messages))
    if report.unreadable_sources:
        msg = f"cannot read the labelled data: {'; '.join(report.unreadable_sources)}"
        raise BenchDataError(msg)
    summary.used = len(items)
    return items, summary


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
        }


@dataclass
class ModelRun:
    """Every item's outcome for one model."""

    spec: str
    model: str
    outcomes: list[ItemOutcome] = field(default_factory=list)
    wall_s: float = 0.0


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
    )


def _spec_label(spec: ModelSpec) -> str | None:
    return spec.strip() if isinstance(spec, str) else None


def build_judges(
    models: Sequence[ModelSpec],
    *,
    cache: BaseCache | None = None,
    settings: BenchSettings | None = None,
    **judge_options: Any,
) -> list[tuple[str, PerceivedErrorJudge]]:
    """``(label, judge)`` per model spec, each model reading and writing ``cache`` when given
    (else a :class:`~langchain_perceived_error.cache.CallTimer`, which times calls, stores nothing).

    Resolving every spec first makes a bad spec or a missing key fail before any judging.
    ``judge_options`` go to :class:`PerceivedErrorJudge` (e.g. ``transport_retry``).

    Raises:
        ModelSpecError: for a spec that cannot be resolved.

    """
    settings = settings or BenchSettings()
    judges = []
    for spec in models:
        # without a disk cache, a CallTimer times calls the same way (miss to reply)
        model = with_cache(resolve_model(spec), CallTimer() if cache is None else cache)
        judge = PerceivedErrorJudge(
            model,
            max_attempts=settings.max_attempts,
            include_tools=settings.include_tools,
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
        runs.append(ModelRun(label, judge.model_name, outcomes, time.perf_counter() - started))
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


# -- scoring ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelScore:
    """One model's row of the benchmark (see the module docstring for every definition)."""

    spec: str
    model: str
    n: int
    judged: int
    skipped: int
    failed: int
    matrix: ConfusionMatrix
    metrics: dict[str, Estimate]
    e2e_accuracy: Estimate
    positive_rate: float | None
    label_positive_rate: float | None
    mean_input_tokens: float | None
    mean_output_tokens: float | None
    total_input_tokens: int
    total_output_tokens: int
    total_cached_input_tokens: int
    price: ModelPrice | None
    usd_total: float | None
    usd_per_1k: float | None
    batch_usd_per_1k: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    model_calls: int
    cache_hits: int
    wall_s: float


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _cost(price: ModelPrice | None, tokens: tuple[int, int, int], reported: bool) -> float | None:
    if price is None:
        return None
    if not reported and (price.input or price.output):
        return None  # a paid model that reported no tokens: unknown, not $0
    return price.cost(tokens[0], tokens[1], tokens[2])


def score_run(
    run: ModelRun,
    *,
    prices: Mapping[str, ModelPrice] | None = None,
    settings: BenchSettings | None = None,
) -> ModelScore:
    """Metrics, intervals, tokens, cost and latency of one model's run."""
    settings = settings or BenchSettings()
    outcomes = run.outcomes
    judged = [o for o in outcomes if o.status is JudgeStatus.JUDGED and o.predicted is not None]
    pairs = [(o.label, bool(o.predicted)) for o in judged]
    matrix = ConfusionMatrix.from_pairs(pairs)
    resampled = bootstrap_matrices(pairs, resamples=settings.resamples, seed=settings.seed)
    metrics = {
        name: estimate(matrix, resampled, name, confidence=settings.confidence)
        for name in METRIC_NAMES
    }
    e2e = [o.status is not JudgeStatus.FAILED and bool(o.predicted) == o.label for o in outcomes]
    called = [o for o in outcomes if o.reached_model]
    inputs = [o.input_tokens for o in called if o.input_tokens is not None]
    outputs = [o.output_tokens for o in called if o.output_tokens is not None]
    tokens = (sum(inputs), sum(outputs), sum(o.cached_input_tokens for o in outcomes))
    price = price_for(run.model, prices) or price_for(run.spec, prices)
    usd = _cost(price, tokens, bool(inputs or outputs))
    batch = price.batch() if price else None
    batch_usd = _cost(batch, tokens, bool(inputs or outputs))
    latencies = sorted(o.model_latency_s for o in called if o.model_latency_s is not None)
    n = len(outcomes)
    return ModelScore(
        spec=run.spec,
        model=run.model,
        n=n,
        judged=len(judged),
        skipped=sum(o.status is JudgeStatus.SKIPPED for o in outcomes),
        failed=sum(o.status is JudgeStatus.FAILED for o in outcomes),
        matrix=matrix,
        metrics=metrics,
        e2e_accuracy=proportion_estimate(
            e2e, resamples=settings.resamples, seed=settings.seed, confidence=settings.confidence
        ),
        positive_rate=matrix.predicted_positive_rate,
        label_positive_rate=sum(o.label for o in outcomes) / n if n else None,
        mean_input_tokens=_mean(inputs),
        mean_output_tokens=_mean(outputs),
        total_input_tokens=tokens[0],
        total_output_tokens=tokens[1],
        total_cached_input_tokens=tokens[2],
        price=price,
        usd_total=usd,
        usd_per_1k=None if usd is None or not n else usd / n * 1000,
        batch_usd_per_1k=None if batch_usd is None or not n else batch_usd / n * 1000,
        latency_p50_s=percentile(latencies, 0.5) if latencies else None,
        latency_p95_s=percentile(latencies, 0.95) if latencies else None,
        model_calls=sum(o.model_calls for o in outcomes),
        cache_hits=sum(o.cache_hits for o in outcomes),
        wall_s=run.wall_s,
    )
