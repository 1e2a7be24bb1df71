"""ONNX Runtime export of a saved classifier (optionally int8 dynamic quantisation) and its predictor."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training.errors import TrainingError
from training.predict import length_sorted_batches, to_labels


def export_onnx(model_dir: Path, *, quantize: bool = False, opset: int = 17) -> Path:
    """Write DIR/model/model.onnx (and model.int8.onnx when quantising); returns the file to serve."""
    if not (model_dir / "config.json").exists():
        raise TrainingError(
            f"No model at {model_dir}: pass --model DIR/model (written by titleforge train)."
        )
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, use_safetensors=True
    ).eval()
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
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,
        )
    (model_dir / "onnx_labels.json").write_text(
        json.dumps([model.config.id2label[i] for i in range(model.config.num_labels)])
    )
    if not quantize:
        return out
    from onnxruntime.quantization import QuantType, quantize_dynamic

    q = model_dir / "model.int8.onnx"
    quantize_dynamic(str(out), str(q), weight_type=QuantType.QInt8)
    return q


class OnnxPredictor:
    """Same API as Predictor, running an exported model on ONNX Runtime (CPU)."""

    def __init__(
        self,
        onnx_path: Path,
        *,
        batch_size: int = 64,
        max_length: int = 64,
        threads: int | None = None,
    ) -> None:
        """Load the session and the tokenizer saved beside it."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(onnx_path), opts, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = AutoTokenizer.from_pretrained(onnx_path.parent)
        self.labels = json.loads((onnx_path.parent / "onnx_labels.json").read_text())
        self.batch_size, self.max_length = batch_size, max_length

    def batch_probs(self, batch: list[str]) -> np.ndarray:
        """Class probabilities of one padded batch."""
        enc = self.tokenizer(
            batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        feeds = {
            "input_ids": enc["input_ids"].astype(np.int64),
            "attention_mask": enc["attention_mask"].astype(np.int64),
        }
        logits = self.session.run(None, feeds)[0]
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) class probabilities."""
        return length_sorted_batches(texts, self.batch_size, len(self.labels), self.batch_probs)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score) per title."""
        return to_labels(self.predict_proba(texts), self.labels)
