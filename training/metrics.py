"""Classification metrics (pure): overall, per label, and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def compute_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]
) -> dict[str, Any]:
    """The contract's keys (precision/recall/f1 weighted) plus macro F1, per-label scores and the matrix."""
    labels = list(range(len(label_names)))
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    pw, rw, fw, _ = precision_recall_fscore_support(
        yt, yp, labels=labels, average="weighted", zero_division=0
    )
    _, _, fm, _ = precision_recall_fscore_support(
        yt, yp, labels=labels, average="macro", zero_division=0
    )
    return {
        "n": len(yt),
        "accuracy": float(accuracy_score(yt, yp)) if len(yt) else float("nan"),
        "precision": float(pw),
        "recall": float(rw),
        "f1": float(fw),
        "f1_macro": float(fm),
        # accuracy within a label = recall of that label
        "per_label_accuracy": {name: float(r[i]) for i, name in enumerate(label_names)},
        "per_label": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion_matrix(yt, yp, labels=labels).tolist(),
        "labels": list(label_names),
    }


def summary(metrics: dict[str, Any] | None) -> dict[str, float] | None:
    """Accuracy and F1 only, for baseline tables."""
    if not metrics:
        return None
    return {"accuracy": metrics["accuracy"], "f1": metrics["f1"], "f1_macro": metrics["f1_macro"]}
