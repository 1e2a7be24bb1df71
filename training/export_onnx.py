"""ONNX Runtime export of a saved classifier (optionally int8 dynamic quantisation) and its predictor."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training.errors import TrainingError
from training.fastpredict import OnnxLite as OnnxPredictor
from training.predict import open_model

__all__ = ["OnnxPredictor", "export_onnx", "load_predictor"]


def export_onnx(
    model_dir: Path,
    *,
    quantize: bool = False,
    calibration: Path | list[str] | None = None,
    opset: int = 17,
) -> Path:
    """Write DIR/model/model.onnx (and model.int8.onnx when quantising); returns the file to serve.

    `calibration`: titles (or a file/dataset dir of them) the int8 scales are calibrated on;
    default: the run's DIR/dataset beside the model.
    """
    if not (model_dir / "config.json").exists():
        raise TrainingError(
            f"No model at {model_dir}: pass --model DIR/model (written by titleforge train)."
        )
    from training.heads import is_head_model, load_head_module
    from training.multihead import load_multihead
    from training.multihead_fast import is_multihead

    outputs = ["logits"]
    if is_multihead(model_dir):
        # one graph, one logits output per head: every head from one encoder pass
        model = load_multihead(model_dir)
        labels, outputs = model.labels, [f"logits_{t}" for t in model.tasks]
    elif is_head_model(model_dir):
        # encoder, mean pooling and the logistic head in one graph: logits, like a classifier
        model, labels = load_head_module(model_dir)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, use_safetensors=True
        ).eval()
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    tok = AutoTokenizer.from_pretrained(model_dir)
    enc = tok(
        ["a short title", "a somewhat longer title for tracing"], padding=True, return_tensors="pt"
    )
    out = model_dir / "model.onnx"
    with warnings.catch_warnings():
        # the TorchScript exporter is the one that needs no extra packages; its tracer warnings are expected
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (enc["input_ids"], enc["attention_mask"]),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=outputs,
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                **{name: {0: "batch"} for name in outputs},
            },
            opset_version=opset,
            dynamo=False,
        )
    (model_dir / "onnx_labels.json").write_text(json.dumps(labels))
    if not quantize:
        return out
    from training.quantize import calibration_titles, quantize_int8

    if isinstance(calibration, list):
        titles = (calibration, f"{len(calibration)} titles given")
    else:
        titles = calibration_titles(model_dir, calibration)
    q = model_dir / "model.int8.onnx"
    quantize_int8(out, q, titles)  # also writes model.int8.json: what was done, and why
    return q


def load_predictor(model_dir: Path, engine: str = "auto", *, batch_size: int = 32) -> Any:
    """Predictor for `titleforge predict`: PyTorch, or the ONNX export (auto: when it is up to date)."""
    from training.fastpredict import load_fast
    from training.multihead_fast import is_multihead

    fast = load_fast(model_dir, engine, batch_size=batch_size)
    if fast is None and is_multihead(model_dir):
        from training.multihead import MultiHeadPredictor

        return MultiHeadPredictor(model_dir, batch_size=batch_size)
    return fast if fast is not None else open_model(model_dir, batch_size=batch_size)
