"""Length-sorted batching of token ids (numpy only, so the fast predict path needs no torch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BatchFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def run_sorted(
    ids: Sequence[Sequence[int]], pad: int, batch_size: int, width: int, run: BatchFn
) -> np.ndarray:
    """Run batches of equal token length over tokenised titles; `width`-wide rows back in order."""
    if not ids:
        return np.zeros((0, width), dtype=np.float32)
    # sorting by tokens leaves (almost) no padding in any batch
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(ids), width), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        cols = int(lengths[idx].max())
        input_ids = np.full((len(idx), cols), pad, dtype=np.int64)
        mask = np.zeros((len(idx), cols), dtype=np.int64)
        for row, i in enumerate(idx):
            # right padding whatever the tokenizer says: absolute position embeddings (BERT, ALBERT)
            # would shift under left padding and change the scores
            n = int(lengths[i])
            input_ids[row, :n] = ids[i]
            mask[row, :n] = 1
        out[idx] = run(input_ids, mask)
    return out


def to_labels(probs: np.ndarray, labels: Sequence[str]) -> list[tuple[str, float]]:
    """(label, score) of the most probable class per row."""
    return [(labels[int(p.argmax())], float(p.max())) for p in probs]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)
