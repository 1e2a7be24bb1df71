"""Batched prediction with a saved model: what `titleforge predict` and the evaluation use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from training.errors import TrainingError


class Predictor:
    """Loads DIR/model once; predicts in length-sorted batches (little padding), original order back."""

    def __init__(
        self,
        model_dir: Path | str,
        *,
        batch_size: int = 64,
        max_length: int = 64,
        device: str | None = None,
    ) -> None:
        """Load model and tokenizer from a saved folder (safetensors, no remote code)."""
        path = Path(model_dir)
        if not (path / "config.json").exists():
            raise TrainingError(
                f"No model at {path}: pass --model DIR/model (a folder written by titleforge train)."
            )
        # the weight-loading bar would mix into predict's stdout
        hf_logging.disable_progress_bar()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            path, use_safetensors=True, trust_remote_code=False
        )
        self.model.to(self.device).eval()
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.batch_size, self.max_length = batch_size, max_length

    @torch.inference_mode()
    def batch_probs(self, batch: list[str]) -> np.ndarray:
        """Class probabilities of one padded batch."""
        enc = self.tokenizer(
            batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        logits = self.model(**enc.to(self.device)).logits.float()
        return torch.softmax(logits, dim=-1).cpu().numpy()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) class probabilities."""
        return length_sorted_batches(texts, self.batch_size, len(self.labels), self.batch_probs)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score) per title."""
        return to_labels(self.predict_proba(texts), self.labels)


def length_sorted_batches(
    texts: Sequence[str], batch_size: int, n_labels: int, run: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """Run batches of similar-length texts (little padding) and put the rows back in input order."""
    texts = list(texts)
    out = np.zeros((len(texts), n_labels), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = run([texts[i] for i in idx])
    return out


def to_labels(probs: np.ndarray, labels: Sequence[str]) -> list[tuple[str, float]]:
    """(label, score) of the most probable class per row."""
    return [(labels[int(p.argmax())], float(p.max())) for p in probs]
