"""int8 quantisation of an fp32 ONNX export, calibrated on titles, and the manifest that says what was done.

Two int8 forms, both with activation scales finer than one per batch (the cause of label flips
against fp32 with ONNX Runtime's `quantize_dynamic`):
- feed-forward down-projections (the MatMuls that narrow the width; their input, after GELU, has
  the widest range): ONNX Runtime's MatMulNBits, 8-bit weights in blocks of 128 rows, and with
  accuracy level 4 the activations quantised per token per 128 channels at run time;
- every other MatMul with a constant weight: per-token int8 (training/pertoken.py), smoothed and
  with its outlier channels in fp32, both calibrated on titles the model was trained on.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.errors import DataError

MANIFEST = "model.int8.json"
CALIBRATION_TITLES = 512  # channel maxima settle well before this; more only costs export time
BLOCK = 128  # MatMulNBits block: per-token activation scales per 128 channels
WHY_NO_WEIGHT = (
    "attention scores/context MatMul: both inputs are activations (per-head, small); "
    "quantising them saves little and costs accuracy"
)
WHY_GEMM = "pooler/classifier Gemm: a few thousand weights, nothing to gain"
WHY_GATHER = "word-embedding lookup: a table read, no arithmetic to speed up"
HOW_BLOCKS = (
    "int8 weights in blocks of 128 rows; activations int8 per token per 128 channels "
    "(MatMulNBits, accuracy level 4)"
)
HOW_TOKEN = "int8 weights per output channel; activations int8 with one scale per token"


def calibration_titles(model_dir: Path, source: Path | None = None) -> tuple[list[str], str] | None:
    """Up to 512 titles to calibrate on (seeded sample) and where they came from, or None.

    `source`: a saved dataset dir (its train split), a CSV/JSONL/Parquet file with a `text`
    column, or a .txt file of titles; default: the run's own DIR/dataset beside DIR/model.
    """
    path = source or model_dir.parent / "dataset"
    if source is None and not (path / "dataset_dict.json").exists():
        return None
    titles = _read_titles(path)
    if not titles:
        raise DataError(f"{path} holds no titles to calibrate on: pass --calibration FILE.")
    if len(titles) > CALIBRATION_TITLES:
        titles = random.Random(0).sample(titles, CALIBRATION_TITLES)
    return titles, str(path)


def _read_titles(path: Path) -> list[str]:
    """Titles from a dataset dir, a table file (`text` column) or a text file (one per line)."""
    if not path.exists():
        raise DataError(f"Calibration data {path} does not exist: pass a file or dataset dir.")
    if path.is_dir():
        from datasets import DatasetDict, load_from_disk

        ds = load_from_disk(str(path))
        ds = ds["train"] if isinstance(ds, DatasetDict) else ds
        return [t for t in ds["text"] if t]
    if path.suffix.lower() == ".txt":
        return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    from training.data import read_table

    df = read_table(path)
    if "text" not in df.columns:
        raise DataError(
            f"{path} has no `text` column (columns: {', '.join(map(str, df.columns))})."
        )
    return [str(t) for t in df["text"] if str(t).strip()]


def channel_maxima(
    model: Any, folder: Path, inputs: Sequence[str], titles: Sequence[str]
) -> dict[str, np.ndarray]:
    """max |x| per channel of each named tensor over the titles' real (unpadded) tokens."""
    import onnx
    import onnxruntime as ort
    from tokenizers import Tokenizer

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in inputs:
        probe.graph.output.append(
            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        )
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(64)
    by_len: dict[int, list[list[int]]] = defaultdict(list)
    for enc in tok.encode_batch(list(titles)):
        by_len[len(enc.ids)].append(enc.ids)
    out: dict[str, np.ndarray] = {}
    # titles of one length per batch: no padding, so every row is a real token
    for rows in by_len.values():
        for i in range(0, len(rows), 32):
            ids = np.array(rows[i : i + 32], dtype=np.int64)
            got = sess.run(list(inputs), {"input_ids": ids, "attention_mask": np.ones_like(ids)})
            for name, act in zip(inputs, got, strict=True):
                m = np.abs(act.reshape(-1, act.shape[-1])).max(axis=0)
                out[name] = np.maximum(out[name], m) if name in out else m
    return out


def quantize_int8(
    fp32: Path, out: Path, calibration: tuple[list[str], str] | None
) -> dict[str, Any]:
    """Write the int8 model and its manifest beside it; returns the manifest."""
    import onnx
    import onnxruntime
    from onnx import numpy_helper
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    from training.pertoken import plan_inputs, rewrite

    # the quantiser logs a line per node it skips at INFO: hundreds of lines on an export
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    model = onnx.load(str(fp32))
    graph = model.graph
    _fold_identities(graph)
    shapes = {w.name: tuple(w.dims) for w in graph.initializer}
    matmuls = [
        n for n in graph.node if n.op_type == "MatMul" and len(shapes.get(n.input[1], ())) == 2
    ]
    down = [n for n in matmuls if shapes[n.input[1]][0] > shapes[n.input[1]][1]]
    token = [n for n in matmuls if n not in down]
    kept = [
        {"node": n.name, "why": why}
        for n in graph.node
        for why in [
            WHY_NO_WEIGHT if n.op_type == "MatMul" and n not in matmuls else None,
            WHY_GEMM if n.op_type == "Gemm" else None,
            WHY_GATHER if n.op_type == "Gather" and len(shapes.get(n.input[0], ())) == 2 else None,
        ]
        if why
    ]
    # a weight shared across layers (ALBERT) cannot take one input's smoothing: left plain
    uses = Counter(n.input[1] for n in token)
    calibrated = sorted({n.input[0] for n in token if uses[n.input[1]] == 1})
    chmax = channel_maxima(model, fp32.parent, calibrated, calibration[0]) if calibration else {}
    inits = {i.name: i for i in graph.initializer}
    weights: dict[str, list[np.ndarray]] = defaultdict(list)
    for n in token:
        weights[n.input[0]].append(numpy_helper.to_array(inits[n.input[1]]))
    plans = plan_inputs(chmax, weights)
    if down:
        cfg = DefaultWeightOnlyQuantConfig(
            block_size=BLOCK, is_symmetric=True, accuracy_level=4, bits=8
        )
        names = {n.name for n in down}
        nbits = MatMulNBitsQuantizer(
            model,
            bits=8,
            block_size=BLOCK,
            is_symmetric=True,
            accuracy_level=4,
            nodes_to_exclude=[n.name for n in graph.node if n.name not in names],
            algo_config=cfg,
        )
        nbits.process()
        model = nbits.model.model
    per_token: dict[str, int] = {}
    rewrite(model, token, plans, on_node=per_token.__setitem__)
    onnx.save(model, str(out))
    manifest = {
        "file": out.name,
        "method": "int8: per-token dynamic (smoothed, outlier channels in fp32) and MatMulNBits",
        "onnxruntime": onnxruntime.__version__,
        "calibration": {"titles": len(calibration[0]), "source": calibration[1]}
        if calibration
        else None,
        "quantised": [n.name for n in down] + list(per_token),
        "how": {**{n.name: HOW_BLOCKS for n in down}, **dict.fromkeys(per_token, HOW_TOKEN)},
        "outlier_channels_fp32": {k: v for k, v in per_token.items() if v},
        "kept_fp32": kept,
    }
    (out.parent / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _fold_identities(graph: Any) -> None:
    """Point readers of Identity(weight) at the weight: the exporter adds one per reuse of a shared
    weight (ALBERT's layers), which would hide those MatMuls' weights from quantisation."""
    inits = {i.name for i in graph.initializer}
    alias = {
        n.output[0]: n.input[0]
        for n in graph.node
        if n.op_type == "Identity" and n.input[0] in inits
    }
    outputs = {o.name for o in graph.output}
    alias = {k: v for k, v in alias.items() if k not in outputs}
    keep = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in alias)]
    for n in keep:
        for i, name in enumerate(n.input):
            if name in alias:
                n.input[i] = alias[name]
    graph.ClearField("node")
    graph.node.extend(keep)


def summary(manifest: dict[str, Any]) -> str:
    """What was quantised and how, what stayed fp32 and why, and what it was calibrated on."""
    lines = [f"int8: {len(manifest['quantised'])} MatMuls quantised"]
    lines += [f"  x{n}: {how}" for how, n in Counter(manifest["how"].values()).items()]
    cal = manifest.get("calibration")
    lines.append(
        f"  calibrated on {cal['titles']} titles from {cal['source']}"
        if cal
        else "  not calibrated (no DIR/dataset beside the model): pass --calibration FILE "
        "with the training titles for fewer label changes against fp32"
    )
    reasons = Counter(k["why"] for k in manifest["kept_fp32"])
    lines += [f"  kept fp32 x{n}: {why}" for why, n in reasons.items()]
    return "\n".join(lines)
