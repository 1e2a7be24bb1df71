"""A frozen encoder with a logistic-regression head, shipped as a model (`--head logistic`).

The SetFit classification-heads route without the contrastive step: mean-pooled embeddings of
the untouched encoder, sklearn's LogisticRegression on top. It trains in seconds on a CPU. The
folder holds the encoder and tokenizer as saved by transformers, the head as safetensors
(`head.safetensors`: weight, bias) and `head.json` (labels, pooling): no pickle anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.predict import BatchPredictor

HEAD_FILE, HEAD_META = "head.safetensors", "head.json"


def is_head_model(model_dir: Path) -> bool:
    """Whether a model folder is an encoder + logistic head (rather than a finetuned classifier)."""
    return (Path(model_dir) / HEAD_META).exists()


def logistic_to_linear(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's coefficients as a (labels, hidden) softmax layer; binary LR gets two rows.

    For two classes sklearn keeps one row w (the log-odds of class 1); rows -w/2 and +w/2 give
    softmax probabilities equal to its sigmoid, so one code path serves every label count.
    """
    if coef.shape[0] == 1:
        return np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def fit_and_save(
    base_model: str,
    texts: Sequence[str],
    labels: Sequence[int],
    label_names: Sequence[str],
    out: Path,
    *,
    seed: int,
    max_length: int,
) -> dict[str, Any]:
    """Fit the head on frozen embeddings and save encoder, tokenizer and head to `out`."""
    from safetensors.numpy import save_file

    from training.baselines import FrozenEncoderLogReg

    t0 = time.perf_counter()
    probe = FrozenEncoderLogReg(base_model, seed=seed, max_length=max_length).fit(texts, labels)
    seconds = time.perf_counter() - t0
    weight, bias = logistic_to_linear(probe.clf.coef_, probe.clf.intercept_)
    out.mkdir(parents=True, exist_ok=True)
    probe.encoder.save_pretrained(str(out), safe_serialization=True)
    probe.tokenizer.save_pretrained(str(out))
    save_file(
        {"weight": weight.astype(np.float32), "bias": bias.astype(np.float32)}, str(out / HEAD_FILE)
    )
    meta = {"kind": "logistic", "pooling": "mean", "labels": list(label_names)}
    (out / HEAD_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return {
        "train_runtime_s": round(seconds, 2),
        "samples_per_second": round(len(texts) / seconds, 2) if seconds > 0 else None,
        "head": "logistic",
    }


class MeanPoolHead(torch.nn.Module):
    """Encoder → mean pooling over real tokens → linear layer: one graph for ONNX export."""

    def __init__(self, encoder: torch.nn.Module, weight: np.ndarray, bias: np.ndarray) -> None:
        """Wrap a loaded encoder and the saved head."""
        super().__init__()
        self.encoder = encoder
        self.linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(weight))
            self.linear.bias.copy_(torch.from_numpy(bias))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits per row."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.linear(pooled)


def load_head_module(model_dir: Path) -> tuple[MeanPoolHead, list[str]]:
    """The saved encoder + head as one torch module, and its label names."""
    from safetensors.numpy import load_file
    from transformers import AutoModel

    head = load_file(str(Path(model_dir) / HEAD_FILE))
    meta = json.loads((Path(model_dir) / HEAD_META).read_text(encoding="utf-8"))
    encoder = AutoModel.from_pretrained(model_dir, use_safetensors=True, trust_remote_code=False)
    return MeanPoolHead(encoder, head["weight"], head["bias"]).eval(), list(meta["labels"])


class HeadPredictor(BatchPredictor):
    """Predictor for an encoder + logistic head folder; same API as the finetuned Predictor."""

    def __init__(self, model_dir: Path, *, batch_size: int = 32, max_length: int = 64) -> None:
        """Load encoder, head and tokenizer once."""
        from transformers import AutoTokenizer

        self.module, self.labels = load_head_module(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True)
        self.batch_size, self.max_length = batch_size, max_length

    @torch.inference_mode()
    def batch_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Class probabilities of one padded batch of token ids."""
        logits = self.module(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return torch.softmax(logits.float(), dim=-1).numpy()
