"""Per-label decision thresholds of a multi-label model: tuning, saving, applying (numpy only).

numpy and json only, so the ONNX predict path applies them without importing torch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

THRESHOLDS_FILE = "thresholds.json"
# 0.05 … 0.95: 0.5 is on the grid, so a label keeps it unless validation says otherwise
GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))


def f1_at(scores: np.ndarray, gold: np.ndarray, threshold: float) -> float:
    """F1 of one label when its score >= threshold counts as present (0 when nothing is)."""
    pred = scores >= threshold
    tp = float(np.sum(pred & (gold == 1)))
    denom = float(np.sum(pred)) + float(np.sum(gold == 1))
    return 2 * tp / denom if denom else 0.0


def tune_thresholds(
    probs: np.ndarray, gold: np.ndarray, grid: Sequence[float] = GRID
) -> tuple[np.ndarray, list[float]]:
    """One threshold per label: the grid value with the best F1 on these rows (ties: nearest 0.5).

    A label without any positive row keeps 0.5: there is nothing to tune it on. Returns the
    thresholds and each label's F1 at its threshold.
    """
    thresholds, best_f1 = [], []
    for j in range(probs.shape[1]):
        if not np.any(gold[:, j] == 1):
            thresholds.append(0.5)
            best_f1.append(0.0)
            continue
        scored = [(f1_at(probs[:, j], gold[:, j], t), -abs(t - 0.5), t) for t in grid]
        f1, _, t = max(scored)
        thresholds.append(float(t))
        best_f1.append(round(f1, 4))
    return np.asarray(thresholds, dtype=np.float64), best_f1


def save_thresholds(
    model_dir: Path, labels: Sequence[str], thresholds: np.ndarray, **info: Any
) -> Path:
    """DIR/model/thresholds.json: label → threshold, and how they were chosen."""
    path = model_dir / THRESHOLDS_FILE
    payload = {
        "labels": list(labels),
        "thresholds": {n: float(t) for n, t in zip(labels, thresholds, strict=True)},
        **info,
    }
    path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return path


def load_thresholds(
    model_dir: Path, labels: Sequence[str] | None = None, *, default: float | None = None
) -> np.ndarray | None:
    """The saved thresholds in the model's label order; without the file `default` for every
    label (a BCE model from elsewhere), or None."""
    path = Path(model_dir) / THRESHOLDS_FILE
    if not path.exists():
        if default is None or labels is None:
            return None
        return np.full(len(labels), default, dtype=np.float64)
    saved = json.loads(path.read_text(encoding="utf-8"))
    order = list(labels) if labels is not None else saved["labels"]
    return np.asarray([saved["thresholds"][n] for n in order], dtype=np.float64)


def is_multi_label(model_dir: Path) -> bool:
    """The saved model was trained with BCE on label sets (config.json problem_type)."""
    config = Path(model_dir) / "config.json"
    if not config.exists():
        return False
    return json.loads(config.read_text(encoding="utf-8")).get("problem_type") == (
        "multi_label_classification"
    )


def label_sets(
    probs: np.ndarray, labels: Sequence[str], thresholds: np.ndarray
) -> list[list[tuple[str, float]]]:
    """Per row, the (label, score) pairs at or above their label's threshold, best first."""
    out = []
    for row in probs:
        hits = [(labels[j], float(row[j])) for j in np.flatnonzero(row >= thresholds)]
        out.append(sorted(hits, key=lambda h: -h[1]))
    return out


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function, stable for large |x|."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits))
