"""The confusion matrix against hand-computed values, edge cases and seeded bootstrap intervals."""

import pytest

from langchain_perceived_error.core.metrics import (
    METRIC_NAMES,
    ConfusionMatrix,
    bootstrap_matrices,
    cohen_kappa,
    estimate,
    percentile,
    proportion_estimate,
)


def pairs(tp=0, fp=0, fn=0, tn=0):
    return [(True, True)] * tp + [(False, True)] * fp + [(True, False)] * fn + [(False, False)] * tn


def test_hand_computed_values():
    # tp=3 fp=1 fn=2 tn=4 (n=10)
    m = ConfusionMatrix.from_pairs(pairs(tp=3, fp=1, fn=2, tn=4))
    assert m == ConfusionMatrix(tp=3, fp=1, fn=2, tn=4)
    assert m.n == 10
    assert m.accuracy == pytest.approx(0.7)
    assert m.precision == pytest.approx(0.75)
    assert m.recall == pytest.approx(0.6)
    # F1 = 2*.75*.6 / (.75+.6) = 2tp / (2tp+fp+fn) = 6/9
    assert m.f1 == pytest.approx(6 / 9)
    # po = .7; pe = (4*5 + 6*5) / 100 = .5; kappa = (.7-.5)/(1-.5) = .4
    assert m.kappa == pytest.approx(0.4)
    assert m.predicted_positive_rate == pytest.approx(0.4)
    assert m.label_positive_rate == pytest.approx(0.5)


def test_kappa_below_chance_is_negative():
    # always wrong: po = 0; pe = (1*1 + 1*1)/4 = .5 -> kappa = -1
    m = ConfusionMatrix(tp=0, fp=1, fn=1, tn=0)
    assert m.kappa == pytest.approx(-1.0)
    assert m.f1 == 0.0


def test_no_positives_at_all_leaves_positive_metrics_undefined():
    m = ConfusionMatrix(tn=5)
    assert m.accuracy == 1.0
    assert m.precision is None  # nothing predicted positive
    assert m.recall is None  # nothing labelled positive
    assert m.f1 is None  # no positives anywhere
    assert m.kappa is None  # chance agreement is 1: kappa undefined


def test_false_alarms_without_positive_labels():
    # labels all false, 2 flagged: precision 0, recall undefined, F1 0, kappa 0
    m = ConfusionMatrix(fp=2, tn=3)
    assert m.precision == 0.0
    assert m.recall is None
    assert m.f1 == 0.0
    # po = .6; pe = (2*0 + 3*5)/25 = .6 -> kappa 0
    assert m.kappa == pytest.approx(0.0)


def test_all_one_class_and_all_right():
    m = ConfusionMatrix(tp=4)
    assert (m.accuracy, m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0, 1.0)
    assert m.kappa is None


def test_empty_matrix_is_all_undefined():
    m = ConfusionMatrix()
    assert all(m.metric(name) is None for name in METRIC_NAMES)
    assert m.predicted_positive_rate is None


def test_unknown_metric_name_is_an_error():
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        ConfusionMatrix().metric("auc")


def test_percentile_interpolates_like_numpy():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    values = [float(v) for v in range(101)]
    assert percentile(values, 0.025) == pytest.approx(2.5)
    assert percentile(values, 0.95) == pytest.approx(95.0)
    assert percentile([7.0], 0.95) == 7.0
    with pytest.raises(ValueError, match="empty"):
        percentile([], 0.5)


def test_bootstrap_is_deterministic_with_a_seed():
    data = pairs(tp=30, fp=7, fn=9, tn=54)
    m = ConfusionMatrix.from_pairs(data)
    first = [estimate(m, bootstrap_matrices(data, seed=1), n) for n in METRIC_NAMES]
    second = [estimate(m, bootstrap_matrices(data, seed=1), n) for n in METRIC_NAMES]
    other = [estimate(m, bootstrap_matrices(data, seed=2), n) for n in METRIC_NAMES]
    assert first == second
    assert first != other
    for e in first:
        assert e.low is not None
        assert e.high is not None
        assert e.low <= e.value <= e.high
    accuracy = first[0]
    assert accuracy.value == pytest.approx(0.84)
    assert 0.75 < accuracy.low < 0.84 < accuracy.high < 0.92


def test_bootstrap_resamples_keep_the_item_count():
    data = pairs(tp=2, fn=1, tn=7)
    matrices = bootstrap_matrices(data, resamples=50, seed=0)
    assert len(matrices) == 50
    assert all(m.n == 10 for m in matrices)
    assert bootstrap_matrices([], resamples=5) == []
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_matrices(data, resamples=0)


def test_interval_of_a_perfect_judge_is_a_point():
    data = pairs(tp=5, tn=5)
    m = ConfusionMatrix.from_pairs(data)
    e = estimate(m, bootstrap_matrices(data, seed=0), "accuracy")
    assert (e.value, e.low, e.high) == (1.0, 1.0, 1.0)


def test_interval_is_none_when_the_metric_is_mostly_undefined():
    data = pairs(tn=20)  # recall is undefined in every resample
    m = ConfusionMatrix.from_pairs(data)
    e = estimate(m, bootstrap_matrices(data, seed=0), "recall")
    assert (e.value, e.low, e.high) == (None, None, None)


def test_proportion_estimate():
    e = proportion_estimate([True] * 8 + [False] * 2, seed=3)
    assert e.value == pytest.approx(0.8)
    assert e.low < 0.8 < e.high
    assert proportion_estimate([True] * 8 + [False] * 2, seed=3) == e
    assert proportion_estimate([]).value is None


# -- Cohen's kappa of two label lists (the panel's pairs) -----------------------------------------


def test_kappa_edge_cases():
    assert cohen_kappa([True, False], [True, False]) == pytest.approx(1.0)
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)
    assert cohen_kappa([], []) is None
    assert cohen_kappa([False, False], [False, False]) is None  # one class: undefined
    with pytest.raises(ValueError, match="paired"):
        cohen_kappa([True], [])


def test_added_counts_one_more_pair_without_changing_the_matrix():
    m = ConfusionMatrix(tp=1)
    assert m.added(True, False) == ConfusionMatrix(tp=1, fn=1)
    assert m.added(False, True).fp == 1
    assert m.added(False, False).tn == 1
    assert m == ConfusionMatrix(tp=1)
