"""Calibration figures of bench (issue 16): Brier, ECE, reliability bins, PR curve, threshold."""

from __future__ import annotations

import pytest

from langchain_perceived_error.bench.calibration import (
    brier_score,
    calibration_estimates,
    calibration_report,
    expected_calibration_error,
    precision_recall_curve,
    reliability_bins,
    threshold_for_precision,
)


def test_brier_of_known_cases() -> None:
    assert brier_score([]) is None
    assert brier_score([(1.0, True), (0.0, False)]) == 0.0
    assert brier_score([(0.0, True), (1.0, False)]) == 1.0
    # the base rate for everyone scores b(1-b)
    pairs = [(0.25, True)] + [(0.25, False)] * 3
    assert brier_score(pairs) == pytest.approx(0.25 * 0.75)
    with pytest.raises(ValueError, match="within"):
        brier_score([(1.2, True)])


def test_ece_and_bins_by_hand() -> None:
    # bin [0.2, 0.3): 4 items at 0.2, 1 positive -> gap 0.05; bin [0.9, 1.0]: 2 at 1.0, 1 pos -> 0.5
    pairs = [(0.2, True), (0.2, False), (0.2, False), (0.2, False), (1.0, True), (1.0, False)]
    bins = reliability_bins(pairs)
    assert [b.count for b in bins] == [0, 0, 4, 0, 0, 0, 0, 0, 0, 2]
    assert bins[2].mean_confidence == pytest.approx(0.2)
    assert bins[2].positive_rate == pytest.approx(0.25)
    assert bins[0].mean_confidence is None  # an empty bin has no mean, not 0
    assert expected_calibration_error(pairs) == pytest.approx(4 / 6 * 0.05 + 2 / 6 * 0.5)
    calibrated = [(0.5, True), (0.5, False)]
    assert expected_calibration_error(calibrated) == 0.0
    assert expected_calibration_error([]) is None
    with pytest.raises(ValueError, match="bins"):
        reliability_bins(pairs, bins=0)


def test_intervals_are_seeded_and_hold_the_spread() -> None:
    pairs = [(0.9, True)] * 9 + [(0.9, False)] + [(0.1, False)] * 9 + [(0.1, True)]
    ece, brier = calibration_estimates(pairs, resamples=200, seed=3)
    assert (ece, brier) == calibration_estimates(pairs, resamples=200, seed=3)
    assert brier.low is not None
    assert brier.high is not None
    assert brier.low <= brier.value <= brier.high
    assert brier.high > brier.low
    assert ece.value == pytest.approx(0.0)


def test_precision_recall_curve_and_threshold() -> None:
    pairs = [(0.9, True), (0.9, True), (0.7, True), (0.7, False), (0.3, False), (0.3, True)]
    curve = precision_recall_curve(pairs)
    assert [p.threshold for p in curve] == [0.9, 0.7, 0.3]  # ties flag together
    assert [p.flagged for p in curve] == [2, 4, 6]
    assert [p.precision for p in curve] == [1.0, 0.75, pytest.approx(4 / 6)]
    assert [p.recall for p in curve] == [0.5, 0.75, 1.0]
    assert threshold_for_precision(curve, 0.75).threshold == 0.7
    assert threshold_for_precision(curve, 0.8).threshold == 0.9
    assert threshold_for_precision(curve, 0.6).threshold == 0.3
    assert threshold_for_precision(precision_recall_curve([(0.5, False)]), 0.9) is None
    with pytest.raises(ValueError, match="target precision"):
        threshold_for_precision(curve, 0.0)


def test_report_counts_items_without_confidence() -> None:
    report = calibration_report([(0.8, True), (0.2, False)], without_confidence=3, resamples=20)
    assert report.items == 2
    assert report.without_confidence == 3
    assert report.threshold is None  # no target asked
    data = report.to_dict()
    assert data["without_confidence"] == 3
    assert len(data["bins"]) == 10
