"""int8 dynamic quantisation of an fp32 ONNX export, and the manifest that says what stayed fp32 and why."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

MANIFEST = "model.int8.json"
# why each kind of node is left in fp32; the manifest repeats these so a user sees them
WHY_DOWN = (
    "feed-forward down-projection: its input (after GELU) has the widest range of any MatMul "
    "input, and quantising it was the largest single source of label flips against fp32"
)
WHY_NO_WEIGHT = (
    "attention scores/context MatMul: both inputs are activations, and dynamic quantisation "
    "only quantises MatMuls with a constant weight"
)
WHY_GEMM = "pooler/classifier Gemm: ONNX Runtime's dynamic quantisation has no int8 Gemm"


def quantize_int8(fp32: Path, out: Path) -> dict[str, Any]:
    """Write the int8 model and its manifest beside it; returns the manifest."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32), load_external_data=False).graph
    shapes = {w.name: tuple(w.dims) for w in graph.initializer}
    kept: list[dict[str, str]] = []
    quantised: list[str] = []
    for node in graph.node:
        weights = [shapes[i] for i in node.input if len(shapes.get(i, ())) == 2]
        if node.op_type == "MatMul" and not weights:
            kept.append({"node": node.name, "why": WHY_NO_WEIGHT})
        elif node.op_type == "MatMul" and weights[0][0] > weights[0][1]:
            # a weight that narrows the width: the feed-forward output layer
            kept.append({"node": node.name, "why": WHY_DOWN})
        elif node.op_type == "Gemm":
            kept.append({"node": node.name, "why": WHY_GEMM})
        elif node.op_type in ("MatMul", "Gather") and weights:
            quantised.append(node.name)
    down = [k["node"] for k in kept if k["why"] == WHY_DOWN]
    # per-channel weight scales: one outlier column no longer coarsens every other column's grid
    quantize_dynamic(
        str(fp32),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=down,
    )
    manifest = {
        "file": out.name,
        "method": "dynamic int8 (onnxruntime.quantization.quantize_dynamic)",
        "onnxruntime": onnxruntime.__version__,
        "weights": "int8, symmetric, one scale per output channel",
        "activations": "uint8, asymmetric, one scale per tensor, computed at run time",
        "quantised": quantised,
        "kept_fp32": kept,
    }
    (out.parent / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def summary(manifest: dict[str, Any]) -> str:
    """One line per reason: how many nodes stayed fp32 and why, after the count quantised."""
    lines = [f"int8: {len(manifest['quantised'])} nodes quantised ({manifest['weights']})"]
    reasons = Counter(k["why"] for k in manifest["kept_fp32"])
    lines += [f"  kept fp32 x{n}: {why}" for why, n in reasons.items()]
    return "\n".join(lines)
