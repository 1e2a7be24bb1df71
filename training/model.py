"""Loading the encoder and tokenizer (safetensors, no remote code) and tokenising titles."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase

from training.errors import TrainingError


def load_tokenizer(base_model: str) -> PreTrainedTokenizerBase:
    """The base model's fast tokenizer."""
    try:
        return AutoTokenizer.from_pretrained(base_model, use_fast=True, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise TrainingError(
            f"Could not load a tokenizer from {base_model!r}: {exc}. Pass --base-model with a Hub id "
            "or a local folder holding a saved model (offline, only local folders work)."
        ) from None


def load_classifier(
    base_model: str, label_names: Sequence[str], problem_type: str | None = None
) -> Any:
    """A sequence classifier with id2label/label2id holding the task's label names.

    `problem_type="multi_label_classification"`: sigmoid outputs and BCE loss (label sets).
    """
    extra = {"problem_type": problem_type} if problem_type else {}
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            base_model,
            **extra,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={n: i for i, n in enumerate(label_names)},
            trust_remote_code=False,
            use_safetensors=None,
        )
    except (OSError, ValueError) as exc:
        raise TrainingError(
            f"Could not load model {base_model!r}: {exc}. Check --base-model."
        ) from None


def tokenize(ds: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Dataset:
    """Token ids without padding (the collator pads per batch) and a length column for grouping."""

    def enc(batch: dict[str, list[Any]]) -> dict[str, Any]:
        out = tokenizer(batch["text"], truncation=True, max_length=max_length)
        out["length"] = [len(ids) for ids in out["input_ids"]]
        return out

    # our own fingerprint: by default datasets pickles and hashes `enc` with the whole tokenizer
    # inside it, which took 1.3 s of a 6 s training run. Nothing is cached (in memory, never
    # read from a cache file), so a tokenizer changed in place can never get stale ids.
    key = f"{ds._fingerprint}|{tokenizer.name_or_path}|{len(tokenizer)}|{max_length}"
    return ds.map(
        enc,
        batched=True,
        remove_columns=["text"],
        desc="tokenise",
        new_fingerprint=hashlib.sha256(key.encode("utf-8")).hexdigest()[:16],
        keep_in_memory=True,
        load_from_cache_file=False,
    )
