"""The one confusion matrix: binary agreement, its metrics and seeded bootstrap intervals.

Every comparison of two binary raters in the package counts into :class:`ConfusionMatrix`: a judge
against labels (the benchmark's scores, ``evaluation``'s ``LabelScore``), two panel members against
each other (``datasets.panel.PairAgreement``; :func:`cohen_kappa` for two label lists). Pure Python
(no numpy needed), in the core because every layer that measures agreement may import it.

Conventions (a metric is None when it is undefined, never a made-up 0 or 1):

- accuracy = (tp + tn) / n; None when n = 0.
- precision = tp / (tp + fp); None when nothing was predicted positive.
- recall = tp / (tp + fn); None when nothing is labelled positive.
- F1 = 2tp / (2tp + fp + fn), the harmonic mean of precision and recall where both exist; it is 0
  when there are positives (labelled or predicted) but no true positive, and None when there are
  no positives at all (tp + fp + fn = 0).
- Cohen's kappa = (po - pe) / (1 - pe), po the observed agreement and pe the agreement expected
  from the two marginals; None when pe = 1 (labels and predictions are the same single class).
- Intervals: percentile bootstrap. Items are resampled with replacement ``resamples`` times from
  a :class:`random.Random` seeded with ``seed``, so an interval is reproducible; a resample in
  which the metric is undefined is left out, and the interval is None when more than half are.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "METRIC_NAMES",
    "ConfusionMatrix",
    "Estimate",
    "bootstrap_matrices",
    "cohen_kappa",
    "estimate",
    "percentile",
    "proportion_estimate",
]

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "kappa")
"""The metrics :meth:`ConfusionMatrix.metric` computes, in report order."""


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of a binary judge against binary labels (positive = perceived error)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[bool, bool]]) -> ConfusionMatrix:
        """Count ``(label, predicted)`` pairs."""
        counts = [0, 0, 0, 0]
        for label, predicted in pairs:
            counts[_cell(label, predicted)] += 1
        return cls(*counts)

    def added(self, label: bool, predicted: bool) -> ConfusionMatrix:
        """A copy of this matrix with one more ``(label, predicted)`` pair counted."""
        counts = [self.tp, self.fp, self.fn, self.tn]
        counts[_cell(label, predicted)] += 1
        return ConfusionMatrix(*counts)

    @property
    def n(self) -> int:
        """Items counted."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float | None:
        """Share of items where the prediction equals the label."""
        return (self.tp + self.tn) / self.n if self.n else None

    @property
    def precision(self) -> float | None:
        """Of the items predicted positive, the share labelled positive."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Of the items labelled positive, the share predicted positive."""
        positives = self.tp + self.fn
        return self.tp / positives if positives else None

    @property
    def f1(self) -> float | None:
        """2tp / (2tp + fp + fn); None when there are no positives at all."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond chance; None when chance agreement is 1."""
        n = self.n
        if not n:
            return None
        observed = (self.tp + self.tn) / n
        expected = (
            (self.tp + self.fp) * (self.tp + self.fn) + (self.fn + self.tn) * (self.fp + self.tn)
        ) / (n * n)
        if math.isclose(expected, 1.0):
            return None
        return (observed - expected) / (1.0 - expected)

    @property
    def predicted_positive_rate(self) -> float | None:
        """Share of items predicted positive (the judge's flag rate)."""
        return (self.tp + self.fp) / self.n if self.n else None

    @property
    def label_positive_rate(self) -> float | None:
        """Share of items labelled positive (the base rate)."""
        return (self.tp + self.fn) / self.n if self.n else None

    def metric(self, name: str) -> float | None:
        """One of :data:`METRIC_NAMES` by name."""
        if name not in METRIC_NAMES:
            msg = f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}"
            raise ValueError(msg)
        value: float | None = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, int]:
        """The four counts."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


def _cell(label: bool, predicted: bool) -> int:
    """Index into (tp, fp, fn, tn)."""
    if predicted:
        return 0 if label else 1
    return 2 if label else 3


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two raters' boolean labels on the same items (a ConfusionMatrix's).

    ``(p_o - p_e) / (1 - p_e)``: observed agreement corrected for the agreement expected by
    chance from each rater's own rate of ``true``. None when there are no items, or when chance
    agreement is 1 (both raters gave one and the same label to everything: kappa is undefined).

    Raises:
        ValueError: when the sequences differ in length.

    """
    if len(first) != len(second):
        msg = f"kappa needs paired labels, got {len(first)} and {len(second)}"
        raise ValueError(msg)
    return ConfusionMatrix.from_pairs(zip(first, second, strict=True)).kappa


@dataclass(frozen=True)
class Estimate:
    """A point value with a bootstrap interval (each None when undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """``{"value", "low", "high"}``."""
        return {"value": self.value, "low": self.low, "high": self.high}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, linearly interpolated (numpy's default)."""
    if not sorted_values:
        msg = "percentile of an empty sequence"
        raise ValueError(msg)
    if not 0.0 <= q <= 1.0:
        msg = f"quantile must be within [0, 1], got {q}"
        raise ValueError(msg)
    position = q * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def bootstrap_matrices(
    pairs: Sequence[tuple[bool, bool]],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> list[ConfusionMatrix]:
    """``resamples`` confusion matrices of ``pairs`` resampled with replacement (seeded)."""
    if resamples < 1:
        msg = f"resamples must be at least 1, got {resamples}"
        raise ValueError(msg)
    if not pairs:
        return []
    cells = [_cell(label, predicted) for label, predicted in pairs]
    rng = random.Random(seed)
    matrices = []
    for _ in range(resamples):
        counts = [0, 0, 0, 0]
        for cell in rng.choices(cells, k=len(cells)):
            counts[cell] += 1
        matrices.append(ConfusionMatrix(*counts))
    return matrices


def _interval(
    values: Iterable[float | None], total: int, confidence: float
) -> tuple[float | None, float | None]:
    defined = sorted(v for v in values if v is not None)
    if not defined or len(defined) * 2 < total:
        return None, None
    tail = (1.0 - confidence) / 2.0
    return percentile(defined, tail), percentile(defined, 1.0 - tail)


def estimate(
    matrix: ConfusionMatrix,
    resampled: Sequence[ConfusionMatrix],
    name: str,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The metric ``name`` of ``matrix`` with a percentile interval over ``resampled``."""
    low, high = _interval((m.metric(name) for m in resampled), len(resampled), confidence)
    return Estimate(matrix.metric(name), low, high)


def proportion_estimate(
    outcomes: Sequence[bool],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The share of True ``outcomes`` with a seeded percentile bootstrap interval."""
    if not outcomes:
        return Estimate(None)
    rng = random.Random(seed)
    n = len(outcomes)
    shares: list[float | None] = [sum(rng.choices(outcomes, k=n)) / n for _ in range(resamples)]
    low, high = _interval(shares, resamples, confidence)
    return Estimate(sum(outcomes) / n, low, high)
