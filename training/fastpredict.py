"""`titleforge predict` without torch or transformers: the ONNX export, its tokenizer.json, numpy.

Importing torch and transformers costs seconds before the first title; ONNX Runtime and the
`tokenizers` library load in a fraction of that, and the scores are the same (tested).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.batching import run_sorted, softmax, to_labels
from training.errors import TrainingError
from training.thresholds import is_multi_label, load_thresholds, sigmoid


def onnx_file(model_dir: Path, engine: str) -> Path:
    """The export an engine runs: model.onnx, or model.int8.onnx for onnx-int8."""
    return model_dir / ("model.int8.onnx" if engine == "onnx-int8" else "model.onnx")


def is_fresh(model_dir: Path, engine: str) -> bool:
    """The export exists and is not older than the weights (a retrain makes it stale)."""
    path, weights = onnx_file(model_dir, engine), model_dir / "model.safetensors"
    if not path.exists():
        return False
    return not weights.exists() or path.stat().st_mtime >= weights.stat().st_mtime


def stale_message(model_dir: Path, engine: str) -> str:
    """What to run when the export an engine needs is missing or stale."""
    path = onnx_file(model_dir, engine)
    why = "is older than the model weights" if path.exists() else "does not exist"
    flag = " --int8" if engine == "onnx-int8" else ""
    return f"{path} {why}: run `titleforge export --model {model_dir} --onnx{flag}` first."


class OnnxLite:
    """An ONNX export on ONNX Runtime (CUDA if available, else CPU), tokenised by the `tokenizers` library."""

    def __init__(
        self,
        path: Path,
        *,
        batch_size: int = 32,
        max_length: int = 64,
        threads: int | None = None,
    ) -> None:
        """Load the session, the tokenizer.json beside it and the label names."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = path.parent
        if not (folder / "tokenizer.json").exists():
            raise TrainingError(
                f"{folder} has no tokenizer.json (a fast tokenizer): predict with --engine torch."
            )
        opts = ort.SessionOptions()
        # idle pool threads sleep instead of spinning between ops: the int8 graph runs many
        # small ops, and spinning threads starve whoever shares the cores (fp32: no change)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
        from training.device import onnx_providers

        # CUDA when the installed runtime has it (onnxruntime-gpu), else CPU
        providers = onnx_providers(ort.get_available_providers())
        self.session = ort.InferenceSession(str(path), opts, providers=providers)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # the saved file may carry padding/truncation settings of its own; ours are explicit
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_id = (self.tokenizer.token_to_id(pad) if pad else None) or 0
        self.labels: list[str] = json.loads((folder / "onnx_labels.json").read_text())
        self.batch_size, self.max_length = batch_size, max_length
        # multi-label models: sigmoid scores and the per-label thresholds saved beside the export
        self.multi_label = is_multi_label(folder)
        self.thresholds = (
            load_thresholds(folder, self.labels, default=0.5) if self.multi_label else None
        )

    def batch_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Class probabilities of one padded batch of token ids."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        logits = self.session.run(None, feeds)[0]
        return sigmoid(logits) if self.multi_label else softmax(logits)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) class probabilities."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        return run_sorted(ids, self.pad_id, self.batch_size, len(self.labels), self.batch_probs)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score) per title."""
        return to_labels(self.predict_proba(texts), self.labels)


ENGINES = ("auto", "torch", "onnx", "onnx-int8")


def load_fast(model_dir: Path, engine: str, *, batch_size: int = 32) -> OnnxLite | None:
    """The ONNX predictor when the engine asks for it (auto: when the export is fresh), else None."""
    if engine not in ENGINES:
        raise TrainingError(f"Unknown engine {engine!r}: choose one of {', '.join(ENGINES)}.")
    if engine == "torch" or (engine == "auto" and not is_fresh(model_dir, "onnx")):
        return None
    chosen = "onnx" if engine == "auto" else engine
    if not is_fresh(model_dir, chosen):
        raise TrainingError(stale_message(model_dir, chosen))
    from training.multihead_fast import MultiHeadOnnx, is_multihead

    kind = MultiHeadOnnx if is_multihead(model_dir) else OnnxLite
    return kind(onnx_file(model_dir, chosen), batch_size=batch_size)
