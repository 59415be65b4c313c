"""Calibration of a judge's confidence against labels, in pure Python (no numpy needed).

A judge's ``confidence`` is its probability that a perceived error is present. This module says
how far that probability can be trusted, and fits the small table the offline ``rules`` judge
ships (:data:`~langchain_perceived_error.rules.confidence.RULES_CALIBRATION`):

- :func:`brier_score`: the mean squared gap between the probability and the 0/1 label (0 is
  perfect; always saying the base rate ``b`` scores ``b(1 - b)``).
- :func:`expected_calibration_error` (ECE): probabilities grouped in ``bins`` equal-width bins;
  the share-weighted mean gap between each bin's mean probability and its share of positives.
- :func:`reliability_bins`: those bins, for the reliability diagram.
- :func:`calibration_estimates`: ECE and Brier with seeded percentile bootstrap intervals.
- :func:`precision_recall_curve` and :func:`threshold_for_precision`: flag when the confidence
  is at least a threshold; the lowest threshold whose precision reaches a target.
- :func:`fit_isotonic`: pool-adjacent-violators over the distinct scores, each block's rate
  shrunk toward the base rate by ``prior_weight`` pseudo-items (so a block never says 0 or 1
  from a handful of items): a non-decreasing step table ``((score, probability), ...)``.

Items without a confidence (a judge that gives none, a skipped or failed record) are left out
by the callers, and counted by them; nothing here invents one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_perceived_error.core.metrics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Estimate,
    percentile,
)

__all__ = [
    "DEFAULT_BINS",
    "CalibrationReport",
    "PrecisionRecallPoint",
    "ReliabilityBin",
    "brier_score",
    "calibration_estimates",
    "calibration_report",
    "expected_calibration_error",
    "fit_isotonic",
    "precision_recall_curve",
    "reliability_bins",
    "threshold_for_precision",
]

DEFAULT_BINS = 10
"""Equal-width probability bins of the ECE and the reliability diagram."""

Pair = tuple[float, bool]
"""``(confidence, label)``."""


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of the reliability diagram: ``[low, high)`` (the last bin includes 1.0)."""

    low: float
    high: float
    count: int
    mean_confidence: float | None
    positive_rate: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class PrecisionRecallPoint:
    """Flag every item whose confidence is at least ``threshold``."""

    threshold: float
    precision: float | None
    recall: float | None
    flagged: int

    def to_dict(self) -> dict[str, float | int | None]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _check(pairs: Sequence[Pair]) -> None:
    for confidence, _ in pairs:
        if not 0.0 <= confidence <= 1.0:
            msg = f"a confidence must be within [0, 1], got {confidence}"
            raise ValueError(msg)


def brier_score(pairs: Sequence[Pair]) -> float | None:
    """Mean of ``(confidence - label)^2``; None for no items."""
    _check(pairs)
    if not pairs:
        return None
    return sum((p - float(y)) ** 2 for p, y in pairs) / len(pairs)


def _bin_index(confidence: float, bins: int) -> int:
    return min(int(confidence * bins), bins - 1)


def reliability_bins(pairs: Sequence[Pair], bins: int = DEFAULT_BINS) -> list[ReliabilityBin]:
    """``bins`` equal-width bins over [0, 1] with their counts, mean confidence and positives."""
    if bins < 1:
        msg = f"bins must be at least 1, got {bins}"
        raise ValueError(msg)
    _check(pairs)
    sums = [[0, 0.0, 0] for _ in range(bins)]  # count, sum of confidence, positives
    for p, y in pairs:
        cell = sums[_bin_index(p, bins)]
        cell[0] += 1
        cell[1] += p
        cell[2] += int(y)
    return [
        ReliabilityBin(
            low=i / bins,
            high=(i + 1) / bins,
            count=int(n),
            mean_confidence=total / n if n else None,
            positive_rate=positives / n if n else None,
        )
        for i, (n, total, positives) in enumerate(sums)
    ]


def expected_calibration_error(pairs: Sequence[Pair], bins: int = DEFAULT_BINS) -> float | None:
    """Share-weighted mean ``|mean confidence - positive rate|`` over the bins; None if empty."""
    if not pairs:
        return None
    return sum(
        b.count / len(pairs) * abs(b.mean_confidence - b.positive_rate)
        for b in reliability_bins(pairs, bins)
        if b.count and b.mean_confidence is not None and b.positive_rate is not None
    )


def calibration_estimates(
    pairs: Sequence[Pair],
    *,
    bins: int = DEFAULT_BINS,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[Estimate, Estimate]:
    """``(ECE, Brier)``, each with a seeded percentile bootstrap interval over the items."""
    if not pairs:
        return Estimate(None), Estimate(None)
    rng = random.Random(seed)
    eces: list[float] = []
    briers: list[float] = []
    for _ in range(resamples):
        sample = rng.choices(pairs, k=len(pairs))
        eces.append(expected_calibration_error(sample, bins) or 0.0)
        briers.append(brier_score(sample) or 0.0)
    tail = (1.0 - confidence) / 2.0

    def interval(values: list[float]) -> tuple[float, float]:
        ordered = sorted(values)
        return percentile(ordered, tail), percentile(ordered, 1.0 - tail)

    return (
        Estimate(expected_calibration_error(pairs, bins), *interval(eces)),
        Estimate(brier_score(pairs), *interval(briers)),
    )


def precision_recall_curve(pairs: Sequence[Pair]) -> list[PrecisionRecallPoint]:
    """One point per distinct confidence, highest threshold first (flag when >= threshold)."""
    _check(pairs)
    positives = sum(1 for _, y in pairs if y)
    ordered = sorted(pairs, key=lambda pair: -pair[0])
    points: list[PrecisionRecallPoint] = []
    tp = flagged = 0
    for i, (p, y) in enumerate(ordered):
        flagged += 1
        tp += int(y)
        if i + 1 < len(ordered) and ordered[i + 1][0] == p:
            continue  # ties flag together
        points.append(
            PrecisionRecallPoint(
                threshold=p,
                precision=tp / flagged,
                recall=tp / positives if positives else None,
                flagged=flagged,
            )
        )
    return points


def threshold_for_precision(
    curve: Sequence[PrecisionRecallPoint], target: float
) -> PrecisionRecallPoint | None:
    """The lowest threshold (most recall) whose precision is at least ``target``; None if none."""
    if not 0.0 < target <= 1.0:
        msg = f"the target precision must be within (0, 1], got {target}"
        raise ValueError(msg)
    reaching = [pt for pt in curve if pt.precision is not None and pt.precision >= target]
    return min(reaching, key=lambda pt: pt.threshold) if reaching else None


def fit_isotonic(
    scores: Sequence[float], labels: Sequence[bool], *, prior_weight: float = 1.0
) -> tuple[tuple[float, float], ...]:
    """A non-decreasing step table ``((score, probability), ...)`` fitted to the labels.

    Pool adjacent violators over the distinct scores (ascending), then each pooled block's
    positive rate is shrunk toward the overall base rate: ``(positives + w * base) / (n + w)``
    with ``w = prior_weight``. Every distinct score gets its block's probability.
    """
    if len(scores) != len(labels):
        msg = f"{len(scores)} scores but {len(labels)} labels"
        raise ValueError(msg)
    if not scores:
        msg = "cannot fit a calibration on no items"
        raise ValueError(msg)
    if prior_weight < 0:
        msg = f"prior_weight must not be negative, got {prior_weight}"
        raise ValueError(msg)
    base = sum(labels) / len(labels)
    groups: dict[float, list[int]] = {}
    for score, label in zip(scores, labels, strict=True):
        cell = groups.setdefault(score, [0, 0])
        cell[0] += 1
        cell[1] += int(label)
    # blocks: [scores in block, n, positives]
    blocks: list[tuple[list[float], int, int]] = []
    for score in sorted(groups):
        n, positives = groups[score]
        blocks.append(([score], n, positives))
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][1] >= blocks[-1][2] / blocks[-1][1]:
            last = blocks.pop()
            prev = blocks.pop()
            blocks.append((prev[0] + last[0], prev[1] + last[1], prev[2] + last[2]))
    table: list[tuple[float, float]] = []
    running = 0.0
    for block_scores, n, positives in blocks:
        probability = max(running, (positives + prior_weight * base) / (n + prior_weight))
        running = probability
        table.extend((score, round(probability, 4)) for score in block_scores)
    return tuple(table)


@dataclass(frozen=True)
class CalibrationReport:
    """How well one judge's confidence is calibrated against the labels."""

    items: int
    """Judged items with a confidence (the only ones measured)."""
    without_confidence: int
    """Judged items whose judge gave no confidence (left out)."""
    ece: Estimate
    brier: Estimate
    bins: list[ReliabilityBin]
    curve: list[PrecisionRecallPoint]
    target_precision: float | None
    threshold: PrecisionRecallPoint | None
    """The lowest threshold reaching ``target_precision`` (None: unreachable or not asked)."""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "items": self.items,
            "without_confidence": self.without_confidence,
            "ece": self.ece.to_dict(),
            "brier": self.brier.to_dict(),
            "bins": [b.to_dict() for b in self.bins],
            "precision_recall": [p.to_dict() for p in self.curve],
            "target_precision": self.target_precision,
            "threshold": self.threshold.to_dict() if self.threshold else None,
        }


def calibration_report(
    pairs: Sequence[Pair],
    *,
    without_confidence: int = 0,
    target_precision: float | None = None,
    bins: int = DEFAULT_BINS,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CalibrationReport:
    """Every calibration figure of ``(confidence, label)`` pairs."""
    ece, brier = calibration_estimates(
        pairs, bins=bins, resamples=resamples, seed=seed, confidence=confidence
    )
    curve = precision_recall_curve(pairs)
    threshold = (
        threshold_for_precision(curve, target_precision) if target_precision is not None else None
    )
    return CalibrationReport(
        items=len(pairs),
        without_confidence=without_confidence,
        ece=ece,
        brier=brier,
        bins=reliability_bins(pairs, bins),
        curve=curve,
        target_precision=target_precision,
        threshold=threshold,
    )
