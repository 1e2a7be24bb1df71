"""Scoring the finetuned model on a split or real data, and the error analysis of real mistakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from datasets import Dataset

from training.metrics import compute_metrics


@dataclass
class Scored:
    """Predictions on one dataset: metrics, probabilities and per-example loss."""

    metrics: dict[str, Any]
    probs: np.ndarray
    preds: np.ndarray
    losses: np.ndarray


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def score(probs: np.ndarray, gold: Sequence[int], label_names: Sequence[str]) -> Scored:
    """Metrics, predictions and per-example loss from class probabilities."""
    y = np.asarray(gold)
    preds = probs.argmax(axis=1)
    losses = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))
    return Scored(compute_metrics(y, preds, label_names), probs, preds, losses)


def error_analysis(
    texts: Sequence[str],
    gold: Sequence[int],
    scored: Scored,
    label_names: Sequence[str],
    k: int = 10,
) -> dict[str, list[dict[str, Any]]]:
    """The k real examples with the highest loss, and the k most confident correct ones."""

    def row(i: int) -> dict[str, Any]:
        return {
            "text": texts[i],
            "gold": label_names[gold[i]],
            "predicted": label_names[int(scored.preds[i])],
            "confidence": round(float(scored.probs[i].max()), 4),
            "loss": round(float(scored.losses[i]), 4),
        }

    worst = np.argsort(-scored.losses)[:k]
    correct = np.flatnonzero(scored.preds == np.asarray(gold))
    confident = correct[np.argsort(-scored.probs[correct].max(axis=1))][:k]
    return {
        "highest_loss": [row(int(i)) for i in worst],
        "most_confident_correct": [row(int(i)) for i in confident],
    }


def per_label_gap(synthetic: dict[str, Any], real: dict[str, Any]) -> dict[str, float]:
    """Synthetic minus real accuracy per label."""
    s, r = synthetic["per_label_accuracy"], real["per_label_accuracy"]
    return {k: round(s[k] - r[k], 4) for k in s if k in r}


def to_dataset_texts(ds: Dataset) -> tuple[list[str], list[int]]:
    """Texts and label ids of a dataset."""
    return list(ds["text"]), list(ds["label"])
