"""When a finished model may be reused: same dataset content and every training option equal."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from training.config import FinetuneConfig

# Options that change the trained weights; evaluation-only ones (eval batch size, real data,
# Hub repo) are left out so a re-run with new real data re-evaluates the same model.
TRAINING_KEYS = (
    "base_model",
    "text_column",
    "label_column",
    "epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "max_length",
    "seed",
    "metric_for_best",
    "early_stopping_patience",
    "evals_per_epoch",
    "freeze_embeddings",
    "frozen_layers",
    "dropout",
    "length_grouped_batches",
    "head",
    "precision",
    "setfit_pairs",
)
# options that only shape one head: left out of other heads' fingerprints, so adding one does
# not make every finished model look stale
HEAD_ONLY_KEYS = {"setfit_pairs": "setfit"}


def dataset_hash(dataset: str) -> str:
    """sha256 over a saved dataset directory's files (path and bytes); a Hub id hashes as itself."""
    root = Path(dataset)
    h = hashlib.sha256()
    if not root.is_dir():
        h.update(f"hub:{dataset}".encode())
        return h.hexdigest()[:16]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def training_identity(config: FinetuneConfig) -> dict[str, Any]:
    """The training options plus the dataset's content hash, as stored with a finished model."""
    from training.device import choose_precision, detect

    keys = [k for k in TRAINING_KEYS if HEAD_ONLY_KEYS.get(k, config.head) == config.head]
    ident = {k: getattr(config, k) for k in keys}
    # the arithmetic that actually runs: `auto` on a CPU is fp32, as models trained before it
    ident["precision"] = choose_precision(config.precision, detect())
    return ident | {"dataset_hash": dataset_hash(config.dataset)}


def stale_reason(config: FinetuneConfig, info: dict[str, Any] | None) -> str | None:
    """Why a finished model (its marker `info`) must be retrained, or None when it can be reused."""
    if config.force:
        return "force is set"
    if info is None:
        return "no finished model in DIR/model"
    stored = info.get("training")
    if not isinstance(stored, dict):
        return "the finished model predates training fingerprints"
    now = training_identity(config)
    changed = sorted(k for k in now.keys() | stored.keys() if now.get(k) != stored.get(k))
    if changed:
        return "changed since it was trained: " + ", ".join(
            f"{k} {stored.get(k)!r} -> {now.get(k)!r}" for k in changed
        )
    return None
