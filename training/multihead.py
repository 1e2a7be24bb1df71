"""A multi-head model: one encoder, one classification head per task, every head in one forward pass.

The folder holds the encoder and tokenizer as transformers saves them (safetensors), the heads in
`heads.safetensors` (`<task>.weight`, `<task>.bias`) and the manifest `multihead.json` (kind,
tasks, label names per head, pooling): no pickle anywhere. Each head reads what the single-task
classifier's head reads (the encoder's pooler output where it has one, else the first token), so
the two kinds are comparable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from training.errors import TrainingError
from training.multihead_fast import (
    MANIFEST,
    head_labels,
    is_multihead,
    read_manifest,
    split_heads,
)
from training.predict import length_sorted_batches

HEADS_FILE = "heads.safetensors"


class MultiHeadModel(torch.nn.Module):
    """Encoder → pooled vector → dropout → one linear layer per task; logits per task, in order."""

    def __init__(self, encoder: torch.nn.Module, labels: Mapping[str, Sequence[str]]) -> None:
        """Wrap a loaded encoder with fresh heads, one per task (label names give their width)."""
        super().__init__()
        self.encoder = encoder
        self.tasks = list(labels)
        self.labels = {t: list(v) for t, v in labels.items()}
        hidden = int(encoder.config.hidden_size)
        p = getattr(encoder.config, "classifier_dropout", None)
        self.dropout = torch.nn.Dropout(
            p if p is not None else getattr(encoder.config, "hidden_dropout_prob", 0.1)
        )
        self.heads = torch.nn.ModuleDict(
            {t: torch.nn.Linear(hidden, len(names)) for t, names in self.labels.items()}
        )
        for head in self.heads.values():
            # the initialisation transformers gives a sequence-classification head
            std = getattr(encoder.config, "initializer_range", 0.02)
            torch.nn.init.normal_(head.weight, std=std)
            torch.nn.init.zeros_(head.bias)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The vector the heads read: the pooler output, or the first token without a pooler."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state[:, 0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[Any, ...]:
        """Logits of every head from one encoder pass, in task order."""
        x = self.dropout(self.pooled(input_ids, attention_mask))
        return tuple(self.heads[t](x) for t in self.tasks)

    def save(self, out: Path, tokenizer: PreTrainedTokenizerBase) -> None:
        """Encoder + tokenizer (transformers' layout), heads as safetensors, and the manifest."""
        from safetensors.torch import save_file

        out.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(str(out), safe_serialization=True)
        tokenizer.save_pretrained(str(out))
        tensors = {
            f"{t}.{k}": v.detach().cpu().contiguous()
            for t, head in self.heads.items()
            for k, v in head.state_dict().items()
        }
        save_file(tensors, str(out / HEADS_FILE))
        manifest = {"kind": "multihead", "tasks": self.tasks, "labels": self.labels}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def load_multihead(model_dir: Path) -> MultiHeadModel:
    """The saved encoder and heads as one torch module, in eval mode."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    manifest = read_manifest(model_dir)
    encoder = AutoModel.from_pretrained(model_dir, use_safetensors=True, trust_remote_code=False)
    model = MultiHeadModel(encoder, manifest["labels"])
    tensors = load_file(str(Path(model_dir) / HEADS_FILE))
    for task, head in model.heads.items():
        head.load_state_dict({k: tensors[f"{task}.{k}"] for k in ("weight", "bias")})
    return model.eval()


class MultiHeadPredictor:
    """Every head's label and score per title, one encoder pass per batch (torch)."""

    def __init__(self, model_dir: Path, *, batch_size: int = 32, max_length: int = 64) -> None:
        """Load encoder, heads and tokenizer once."""
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        if not is_multihead(model_dir):
            raise TrainingError(f"{model_dir} holds no multi-head model ({MANIFEST} is missing).")
        hf_logging.disable_progress_bar()
        self.model = load_multihead(model_dir)
        self.labels = self.model.labels
        self.tasks = self.model.tasks
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True)
        self.batch_size, self.max_length = batch_size, max_length

    @torch.inference_mode()
    def batch_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Every head's class probabilities of one padded batch, side by side."""
        logits = self.model(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return torch.cat([torch.softmax(z.float(), dim=-1) for z in logits], dim=-1).numpy()

    def predict_heads(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """{task: (n, labels) probabilities}, from one pass over the titles."""
        width = sum(len(v) for v in self.labels.values())
        probs = length_sorted_batches(
            texts, self.tokenizer, self.batch_size, self.max_length, width, self.batch_probs
        )
        return split_heads(probs, self.labels)

    def predict(self, texts: Sequence[str]) -> list[dict[str, tuple[str, float]]]:
        """{task: (label, score)} per title."""
        return head_labels(self.predict_heads(texts), self.labels)
