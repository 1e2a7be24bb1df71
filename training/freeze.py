"""What training leaves fixed: the embeddings, the bottom encoder layers, and dropout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from training.config import FinetuneConfig


def encoder_layers(model: Any) -> Any | None:
    """The encoder's list of layers (BERT, RoBERTa, DeBERTa, MiniLM, DistilBERT), or None."""
    base = getattr(model, "base_model", model)
    for path in ("encoder.layer", "transformer.layer", "layers"):
        obj = base
        for part in path.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, torch.nn.ModuleList):
            return obj
    # ALBERT has no list: one layer group's weights run at every depth, so none can stay fixed
    return None


def freeze(model: Any, embeddings: bool, layers: int) -> dict[str, Any]:
    """Fix the embeddings and the bottom `layers` encoder layers; what was fixed, for the report."""
    stack = encoder_layers(model)
    # the top layer always learns: a model with every layer fixed could only fit its head
    n = max(0, min(layers, len(stack) - 1)) if stack is not None else 0
    if embeddings or n:
        # with the layers above them fixed, embeddings that learn would still pull the backward
        # pass through every fixed layer: fixing layers means fixing the embeddings too
        for p in model.get_input_embeddings().parameters():
            p.requires_grad_(False)
        if n:
            emb = getattr(getattr(model, "base_model", model), "embeddings", None)
            for p in emb.parameters() if emb is not None else ():
                p.requires_grad_(False)
    for layer in stack[:n] if n else ():
        for p in layer.parameters():
            p.requires_grad_(False)
    return {
        "embeddings": bool(embeddings or n),
        "layers": n,
        "of_layers": len(stack) if stack is not None else None,
    }


def set_dropout(model: Any, on: bool) -> int:
    """Keep the model's dropout, or switch every dropout off; how many dropout modules changed."""
    if on:
        return 0
    changed = 0
    for mod in model.modules():
        if isinstance(mod, torch.nn.Dropout) and mod.p > 0:
            mod.p = 0.0
            changed += 1
    # the saved config keeps its dropout rates: whoever finetunes the model further gets them back
    return changed


def fix_for_training(
    model: Any, config: FinetuneConfig, encoder: Any | None = None
) -> dict[str, Any]:
    """Apply the config's fixed embeddings, fixed layers and dropout; what was done, for the report.

    `encoder`: the part holding embeddings and layers when `model` wraps it (multi-head).
    """
    # the word-embedding matrix is the largest tensor in small encoders; its dense gradient and
    # AdamW update cost more than a layer, and titles need no new token meanings
    fixed = freeze(
        encoder if encoder is not None else model, config.freeze_embeddings, config.frozen_layers
    )
    set_dropout(model, config.dropout)
    return fixed | {"dropout": config.dropout}
