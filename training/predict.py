"""Batched prediction with a saved model: what `titleforge predict` and the evaluation use."""

from __future__ import annotations

from collections.abc import Sequence
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
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) class probabilities."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        # sorting by length makes each batch pad to similar lengths: fewer wasted tokens
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            logits = self.model(**enc).logits.float()
            out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
        return out

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score) per title."""
        probs = self.predict_proba(texts)
        return [(self.labels[int(p.argmax())], float(p.max())) for p in probs]
