"""A multi-head ONNX export on ONNX Runtime, without torch: one session run gives every head."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from training.batching import run_sorted, softmax, to_labels
from training.fastpredict import OnnxLite

MANIFEST = "multihead.json"


def is_multihead(model_dir: Path) -> bool:
    """Whether a model folder holds a multi-head model (its manifest names the tasks)."""
    return (Path(model_dir) / MANIFEST).exists()


def read_manifest(model_dir: Path) -> dict:
    """The manifest of a multi-head folder: kind, tasks and label names per head."""
    return json.loads((Path(model_dir) / MANIFEST).read_text(encoding="utf-8"))


def split_heads(probs: np.ndarray, labels: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Side-by-side head probabilities (one row per title) → one array per task."""
    out, start = {}, 0
    for task, names in labels.items():
        out[task] = probs[:, start : start + len(names)]
        start += len(names)
    return out


def head_labels(
    probs: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]
) -> list[dict[str, tuple[str, float]]]:
    """Per title: {task: (label, score)}."""
    per_task = {t: to_labels(p, labels[t]) for t, p in probs.items()}
    n = len(next(iter(per_task.values()))) if per_task else 0
    return [{t: per_task[t][i] for t in per_task} for i in range(n)]


class MultiHeadOnnx(OnnxLite):
    """OnnxLite for a graph with one logits output per head (in the manifest's task order)."""

    def __init__(self, path: Path, **kwargs: int | None) -> None:
        """Load the session and tokenizer (OnnxLite), then the tasks and labels of the manifest."""
        super().__init__(path, **kwargs)  # type: ignore[arg-type]
        manifest = read_manifest(path.parent)
        self.tasks: list[str] = list(manifest["tasks"])
        self.head_names: dict[str, list[str]] = {t: manifest["labels"][t] for t in self.tasks}
        self.outputs = [f"logits_{t}" for t in self.tasks]

    def batch_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Every head's class probabilities of one padded batch, side by side."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return np.concatenate([softmax(z) for z in self.session.run(self.outputs, feeds)], axis=1)

    def predict_heads(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """{task: (n, labels) probabilities}, from one pass over the titles."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        width = sum(len(v) for v in self.head_names.values())
        probs = run_sorted(ids, self.pad_id, self.batch_size, width, self.batch_probs)
        return split_heads(probs, self.head_names)

    def predict(self, texts: Sequence[str]) -> list[dict[str, tuple[str, float]]]:  # type: ignore[override]
        """{task: (label, score)} per title."""
        return head_labels(self.predict_heads(texts), self.head_names)
