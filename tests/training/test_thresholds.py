"""Per-label threshold tuning and multi-label metrics, on tables small enough to check by hand."""

from __future__ import annotations

import numpy as np

from training.metrics_multilabel import multilabel_metrics
from training.thresholds import label_sets, tune_thresholds


def test_each_label_gets_the_threshold_of_its_best_f1_nearest_half_on_ties() -> None:
    """Label 0 needs a low threshold, label 1 is separable around 0.5, label 2 has no positives."""
    probs = np.array(
        [
            [0.90, 0.80, 0.70],
            [0.35, 0.60, 0.20],
            [0.32, 0.40, 0.10],
            [0.10, 0.20, 0.60],
        ]
    )
    gold = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    thresholds, f1 = tune_thresholds(probs, gold)
    # label 0: every grid value in (0.10, 0.32] gives F1 1.0; 0.30 is the one nearest 0.5
    # label 1: (0.40, 0.60] gives F1 1.0; 0.50 itself lies there, so it stays
    # label 2: no positive row to tune on: 0.5
    assert thresholds.tolist() == [0.3, 0.5, 0.5]
    assert f1 == [1.0, 1.0, 0.0]
    at_half = multilabel_metrics(gold, probs >= 0.5, ["a", "b", "c"])
    tuned = multilabel_metrics(gold, probs >= thresholds, ["a", "b", "c"])
    assert tuned["per_label"]["a"]["f1"] > at_half["per_label"]["a"]["f1"]


def test_multilabel_metrics_by_hand() -> None:
    """Exact match, micro and macro F1, per-label support on four rows."""
    gold = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    pred = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    m = multilabel_metrics(gold, pred, ["x", "y"])
    assert m["exact_match"] == m["accuracy"] == 0.5  # rows 0 and 3
    # x: tp 2, fp 1, fn 0 → P 2/3, R 1, F1 0.8; y: tp 1, fp 0, fn 1 → P 1, R 0.5, F1 2/3
    assert np.isclose(m["per_label"]["x"]["f1"], 0.8)
    assert np.isclose(m["per_label"]["y"]["f1"], 2 / 3)
    assert m["per_label"]["x"]["support"] == 2 and m["per_label"]["y"]["support"] == 2
    assert np.isclose(m["f1_macro"], (0.8 + 2 / 3) / 2)
    # micro: tp 3, fp 1, fn 1 → F1 0.75
    assert np.isclose(m["f1_micro"], 0.75) and m["f1"] == m["f1_micro"]
    assert np.isclose(m["hamming_loss"], 2 / 8)


def test_label_sets_apply_each_labels_own_threshold() -> None:
    """A score counts when it reaches its label's threshold; best first; an empty set is allowed."""
    probs = np.array([[0.35, 0.55, 0.9], [0.1, 0.2, 0.3]])
    sets = label_sets(probs, ["a", "b", "c"], np.array([0.3, 0.6, 0.5]))
    assert [[n for n, _ in row] for row in sets] == [["c", "a"], []]
