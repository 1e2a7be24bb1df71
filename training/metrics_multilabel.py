"""Multi-label metrics (pure), as the go_emotions card reports them: per label, micro, macro, exact match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import hamming_loss, precision_recall_fscore_support


def multilabel_metrics(
    gold: np.ndarray, pred: np.ndarray, label_names: Sequence[str]
) -> dict[str, Any]:
    """Per-label P/R/F1/support, micro and macro averages, exact match and Hamming loss.

    The contract's keys are filled so every reader of report.json works: `accuracy` is the exact
    match (subset accuracy), `precision`/`recall`/`f1` the micro averages, `per_label_accuracy`
    each label's recall (as for single-label tasks).
    """
    y, p = np.asarray(gold, dtype=int), np.asarray(pred, dtype=int)
    n = len(y)
    pl, rl, fl, sl = precision_recall_fscore_support(y, p, average=None, zero_division=0)
    avg = {
        kind: precision_recall_fscore_support(y, p, average=kind, zero_division=0)[:3]
        for kind in ("micro", "macro")
    }
    exact = float(np.mean(np.all(y == p, axis=1))) if n else float("nan")
    return {
        "n": n,
        "multi_label": True,
        "exact_match": exact,
        "accuracy": exact,
        "precision": float(avg["micro"][0]),
        "recall": float(avg["micro"][1]),
        "f1": float(avg["micro"][2]),
        "precision_micro": float(avg["micro"][0]),
        "recall_micro": float(avg["micro"][1]),
        "f1_micro": float(avg["micro"][2]),
        "precision_macro": float(avg["macro"][0]),
        "recall_macro": float(avg["macro"][1]),
        "f1_macro": float(avg["macro"][2]),
        "hamming_loss": float(hamming_loss(y, p)) if n else float("nan"),
        "labels_per_title": {
            "gold": round(float(y.sum(axis=1).mean()), 3) if n else 0.0,
            "predicted": round(float(p.sum(axis=1).mean()), 3) if n else 0.0,
        },
        "per_label_accuracy": {name: float(rl[i]) for i, name in enumerate(label_names)},
        "per_label": {
            name: {
                "precision": float(pl[i]),
                "recall": float(rl[i]),
                "f1": float(fl[i]),
                "support": int(sl[i]),
            }
            for i, name in enumerate(label_names)
        },
        "labels": list(label_names),
    }


def training_metric_fn(eval_pred: Any) -> dict[str, float]:
    """Validation exact match and macro F1 under per-label tuned thresholds, the final decision rule.

    At a fixed 0.5 an early BCE model predicts no label at all (F1 0), which would stop training
    before it learns; the thresholds tuned here are the ones tuning picks after training.
    """
    from training.thresholds import sigmoid, tune_thresholds

    probs = sigmoid(np.asarray(eval_pred.predictions, dtype=np.float64))
    gold = (np.asarray(eval_pred.label_ids) >= 0.5).astype(int)
    thresholds, f1 = tune_thresholds(probs, gold)
    pred = (probs >= thresholds).astype(int)
    return {
        "accuracy": float(np.mean(np.all(gold == pred, axis=1))),
        "f1_macro": float(np.mean(f1)),
    }
