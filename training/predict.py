"""Batched prediction with a saved model: what `titleforge predict` and the evaluation use."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from training.batching import BatchFn, run_sorted, to_labels
from training.errors import TrainingError
from training.thresholds import load_thresholds

__all__ = [
    "BatchPredictor",
    "Predictor",
    "length_sorted_batches",
    "open_model",
    "pad_id",
    "to_labels",
    "token_ids",
]


class BatchPredictor:
    """Length-sorted batched prediction over a `batch_probs` that scores one padded batch."""

    tokenizer: PreTrainedTokenizerBase
    labels: list[str]
    batch_size: int
    max_length: int

    def batch_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Class probabilities of one padded batch of token ids."""
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) class probabilities."""
        return length_sorted_batches(
            texts,
            self.tokenizer,
            self.batch_size,
            self.max_length,
            len(self.labels),
            self.batch_probs,
        )

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score) per title."""
        return to_labels(self.predict_proba(texts), self.labels)


class Predictor(BatchPredictor):
    """Loads DIR/model once; predicts in length-sorted batches (little padding), original order back."""

    def __init__(
        self,
        model_dir: Path | str,
        *,
        batch_size: int = 32,
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
        self.autocast_dtype = autocast_dtype(self.device.type)
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.batch_size, self.max_length = batch_size, max_length
        # multi-label (BCE) models: independent sigmoid scores, and thresholds once tuned
        self.multi_label = self.model.config.problem_type == "multi_label_classification"
        self.thresholds = (
            load_thresholds(path, self.labels, default=0.5) if self.multi_label else None
        )

    @torch.inference_mode()
    def batch_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Class probabilities of one padded batch of token ids."""
        # on a GPU, autocast in the arithmetic training would choose (bf16, or fp16 without it)
        with torch.autocast(
            self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
        ):
            logits = self.model(
                input_ids=torch.from_numpy(input_ids).to(self.device),
                attention_mask=torch.from_numpy(attention_mask).to(self.device),
            ).logits.float()
        if self.multi_label:
            return torch.sigmoid(logits).cpu().numpy()
        return torch.softmax(logits, dim=-1).cpu().numpy()


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """bf16/fp16 autocast for prediction on CUDA (as training.device chooses), None on a CPU."""
    if device_type != "cuda":
        return None
    from training.device import choose_precision, detect

    return {"bf16": torch.bfloat16, "fp16": torch.float16}[choose_precision("auto", detect())]


def open_model(
    model_dir: Path | str, *, batch_size: int = 32, max_length: int = 64
) -> BatchPredictor:
    """The predictor a model folder needs: finetuned classifier, or frozen encoder + head."""
    from training.heads import HeadPredictor, is_head_model

    if is_head_model(Path(model_dir)):
        return HeadPredictor(Path(model_dir), batch_size=batch_size, max_length=max_length)
    return Predictor(model_dir, batch_size=batch_size, max_length=max_length)


def token_ids(
    texts: Sequence[str], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> list[list[int]]:
    """Truncated, unpadded token ids of every title, in one tokenizer call."""
    if not texts:
        return []
    # one tokenizer call up front: calling it per batch lets its thread pool fight the model's
    # threads, which cost a quarter of the time on 2 cores
    return tokenizer(
        list(texts), truncation=True, max_length=max_length, return_attention_mask=False
    )["input_ids"]


def pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id padded positions hold (masked out, so any id works when a tokenizer has none)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def length_sorted_batches(
    texts: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    max_length: int,
    width: int,
    run: BatchFn,
) -> np.ndarray:
    """Tokenise everything once, then run length-sorted batches (training.batching)."""
    if not texts:
        return np.zeros((0, width), dtype=np.float32)
    ids = token_ids(texts, tokenizer, max_length)
    return run_sorted(ids, pad_id(tokenizer), batch_size, width, run)
