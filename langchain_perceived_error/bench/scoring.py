"""Score each model's run against the labels: metrics, intervals, tokens, cost and latency.

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
- calibration (:mod:`~langchain_perceived_error.bench.calibration`): over judged records with a
  confidence, ECE and Brier with bootstrap intervals, the reliability bins, the precision-recall
  curve and the threshold reaching ``settings.target_precision``; None when the judge gave no
  confidence at all.
- compact tokens and cost: the tokens and cost of the same calls with the compact prompt of a
  judge fine-tuned on it. When the run sent the full prompt (``ModelRun.prompt``, from
  ``bench --prompt full``, the default) they are ESTIMATED: each call's reported input tokens
  less the estimated difference between the two system prompts (the one token estimator, 4
  characters a token), the cost from the price table as above. When it sent the compact prompt
  (``--prompt compact``) they are the MEASURED figures, the same as the input tokens and cost
  (nothing is subtracted: the difference is already absent). None when the model reports no
  usage or has no price, or when the run mixes both prompts (``ModelRun.prompt`` is None).
- latency: per record, the summed wall time of its model calls (format retries included), over
  records with at least one call; p50 and p95. Calls are timed as
  :mod:`~langchain_perceived_error.bench.runner` describes: a cached re-run reports the same
  latency as the run that filled the cache, never the microseconds a hit takes. ``cache_hits``
  counts the calls served from the cache, ``model_calls`` the live ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_perceived_error.bench.calibration import CalibrationReport, calibration_report
from langchain_perceived_error.bench.pricing import ModelPrice, price_for
from langchain_perceived_error.bench.runner import BenchSettings, ModelRun
from langchain_perceived_error.core.metrics import (
    METRIC_NAMES,
    ConfusionMatrix,
    Estimate,
    bootstrap_matrices,
    estimate,
    percentile,
    proportion_estimate,
)
from langchain_perceived_error.core.prompts import (
    COMPACT_SYSTEM_PROMPT,
    SYSTEM_PROMPT,
    PromptStyle,
)
from langchain_perceived_error.core.schemas import JudgeStatus
from langchain_perceived_error.core.tokens import estimate_tokens

__all__ = ["COMPACT_SAVING_PER_CALL", "ModelScore", "score_run"]

COMPACT_SAVING_PER_CALL = estimate_tokens([("system", SYSTEM_PROMPT)]) - estimate_tokens(
    [("system", COMPACT_SYSTEM_PROMPT)]
)
"""Input tokens a call saves with the compact prompt instead of the full one (estimated)."""


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
    compact_mean_input_tokens: float | None
    """Mean input tokens per record with the compact prompt (estimated from a full-prompt run,
    measured in a compact-prompt run; module docstring)."""
    compact_usd_per_1k: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    model_calls: int
    cache_hits: int
    wall_s: float
    calibration: CalibrationReport | None = None
    prompt: PromptStyle | None = "full"
    """The system prompt the run sent (``ModelRun.prompt``)."""

    @property
    def compact_measured(self) -> bool:
        """Whether the compact columns are measured (a compact-prompt run), not estimated."""
        return self.prompt == "compact"


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _cost(price: ModelPrice | None, tokens: tuple[int, int, int], reported: bool) -> float | None:
    if price is None:
        return None
    if not reported and (price.input or price.output):
        return None  # a paid model that reported no tokens: unknown, not $0
    return price.cost(tokens[0], tokens[1], tokens[2])


def _compact(
    run: ModelRun, price: ModelPrice | None, tokens: tuple[int, int, int], *, reported: bool
) -> tuple[list[int] | None, float | None]:
    """Per-record input tokens and the total cost with the compact prompt (module docstring)."""
    if run.prompt is None:  # a mix of both prompts: neither measured nor estimable
        return None, None
    if run.prompt == "compact":  # the compact prompt was sent: measured, nothing to subtract
        measured = [o.input_tokens for o in run.outcomes if o.reached_model]
        return [t for t in measured if t is not None], _cost(price, tokens, reported)
    compact = [
        max(0, o.input_tokens - COMPACT_SAVING_PER_CALL * (o.model_calls + o.cache_hits))
        for o in run.outcomes
        if o.reached_model and o.input_tokens is not None
    ]
    return compact, _cost(price, (sum(compact), tokens[1], min(tokens[2], sum(compact))), reported)


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
    compact, compact_usd = _compact(run, price, tokens, reported=bool(inputs or outputs))
    latencies = sorted(o.model_latency_s for o in called if o.model_latency_s is not None)
    n = len(outcomes)
    calibrated = [(o.confidence, o.label) for o in judged if o.confidence is not None]
    calibration = (
        calibration_report(
            calibrated,
            without_confidence=len(judged) - len(calibrated),
            target_precision=settings.target_precision,
            resamples=settings.resamples,
            seed=settings.seed,
            confidence=settings.confidence,
        )
        if calibrated
        else None
    )
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
        compact_mean_input_tokens=None if compact is None else _mean(compact),
        compact_usd_per_1k=None if compact_usd is None or not n else compact_usd / n * 1000,
        latency_p50_s=percentile(latencies, 0.5) if latencies else None,
        latency_p95_s=percentile(latencies, 0.95) if latencies else None,
        model_calls=sum(o.model_calls for o in outcomes),
        cache_hits=sum(o.cache_hits for o in outcomes),
        wall_s=run.wall_s,
        calibration=calibration,
        prompt=run.prompt,
    )
