"""Per-token dynamic int8 for an ONNX graph: every row of a MatMul input gets its own scale.

ONNX Runtime's dynamic quantisation gives a whole batch one activation scale, so the few
"massive" tokens of a BERT-style encoder (values 10-30x the rest, in a handful of channels) set
the grid for every other title in the batch: 1.5% of real titles changed label. Here each row
(token) is divided by its own absolute maximum, quantised on one fixed grid (127 steps a side),
multiplied by the int8 weights in ONNX Runtime's MatMulIntegerToFloat, and the row maximum is
multiplied back onto the output.
Two calibrated steps narrow each row's range further (measured on the model's own titles):

- SmoothQuant scaling (Xiao et al. 2023): input channel c is divided by s_c and weight row c
  multiplied by it, s_c = sqrt(max|x_c| / max|w_c|), which evens out channel ranges;
- outlier channels (calibrated maximum > 4x the median channel's, at most 8) leave the integer
  path and are multiplied in fp32 (LLM.int8(), Dettmers et al. 2022): a small [rows, k] MatMul.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

OUTLIER_RATIO = 4.0  # a channel whose calibrated max exceeds 4x the median channel's
MAX_OUTLIERS = 8  # per input tensor: the fp32 side stays a thin MatMul
SMOOTH_ALPHA = 0.5  # SmoothQuant's migration strength: range split evenly between x and w
EPS = 1e-8  # an all-zero row keeps a finite scale


@dataclass(frozen=True)
class InputPlan:
    """How one MatMul input tensor is prepared: its smoothing scales and fp32 outlier channels."""

    smooth: np.ndarray  # divide channel c by smooth[c] (ones: no smoothing)
    outliers: np.ndarray  # channel indices computed in fp32


def plan_inputs(
    chmax: Mapping[str, np.ndarray], weights: Mapping[str, list[np.ndarray]]
) -> dict[str, InputPlan]:
    """Smoothing and outlier channels per input from its calibrated channel maxima and weights.

    `weights[x]`: the weight of every MatMul reading x (they share x's smoothing). An input
    without calibrated maxima (none given, or weights shared across layers) gets neither.
    """
    plans = {}
    for x, ws in weights.items():
        k = ws[0].shape[0]
        c = chmax.get(x)
        if c is None:
            plans[x] = InputPlan(np.ones(k, np.float32), np.zeros(0, np.int64))
            continue
        top = np.argsort(-c, kind="stable")[:MAX_OUTLIERS]
        outliers = np.sort(top[c[top] > OUTLIER_RATIO * np.median(c)])
        wmax = np.max([np.abs(w).max(axis=1) for w in ws], axis=0)
        s = np.clip(c**SMOOTH_ALPHA / np.maximum(wmax, 1e-5) ** (1 - SMOOTH_ALPHA), 1e-2, 1e2)
        # the overall level is arbitrary: centre it so the weights keep their magnitude
        s = (s / np.median(s)).astype(np.float32)
        plans[x] = InputPlan(s, outliers.astype(np.int64))
    return plans


def int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 weights with one scale per output column."""
    scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127).astype(np.float32)
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


class _Builder:
    """Collects the nodes and initialisers that replace the quantised MatMuls."""

    def __init__(self, opset: int) -> None:
        """`opset`: the graph's ai.onnx version (ReduceMax takes axes as an input from 18)."""
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.opset = opset
        self.const(np.array(EPS, np.float32), "pt_eps")
        # rows scaled to max |x| = 1 share one grid: 127 steps each side of a zero point of 128
        self.const(np.array(1 / 127, np.float32), "pt_step")
        self.const(np.array(128, np.uint8), "pt_zero")

    def const(self, value: np.ndarray, name: str) -> str:
        """An initialiser; its name."""
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **kw: object) -> str:
        """A node with one output; the output's name."""
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **kw))
        return output

    def row_max(self, x: str, p: str) -> str:
        """max |x| over the last axis, kept as a [..., 1] column (never zero)."""
        a = self.node("Abs", [x], p + "_abs")
        if self.opset >= 18:
            axes = self.const(np.array([-1], np.int64), p + "_axes")
            m = self.node("ReduceMax", [a, axes], p + "_rmax", keepdims=1)
        else:
            m = self.node("ReduceMax", [a], p + "_rmax", axes=[-1], keepdims=1)
        return self.node("Max", [m, "pt_eps"], p + "_amax")


def rewrite(
    model: onnx.ModelProto,
    targets: Iterable[onnx.NodeProto],
    plans: Mapping[str, InputPlan],
    on_node: Callable[[str, int], None] | None = None,
) -> onnx.ModelProto:
    """Replace each target MatMul (input x, constant weight W) by its per-token int8 form, in place.

    `on_node(name, n_outliers)` is told about every node replaced.
    """
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
    b = _Builder(opset)
    prepared: dict[str, tuple[str, str, str | None]] = {}
    by_name = {t.name: t for t in targets}
    used = {i for n in g.node if n.name not in by_name for i in n.input}
    shared: dict[str, tuple[str, str]] = {}  # a weight shared by layers (ALBERT) quantised once
    new_nodes: list[onnx.NodeProto] = []
    for node in g.node:
        if node.name not in by_name:
            new_nodes.append(node)
            continue
        x, wname, out = node.input[0], node.input[1], node.output[0]
        plan = plans[x]
        if x not in prepared:
            prepared[x] = _prepare(b, x, plan)
        xn, amax, xout = prepared[x]
        w0 = numpy_helper.to_array(inits[wname]).astype(np.float32)
        p = out.replace("/", "_").strip("_")
        plain = not len(plan.outliers) and np.all(plan.smooth == 1)
        if plain and wname in shared:
            wq_name, ws_name = shared[wname]
        else:
            w = w0 * plan.smooth[:, None]
            w[plan.outliers] = 0  # those channels are zero on the integer path
            wq, ws = int8_columns(w)
            wq_name, ws_name = b.const(wq, p + "_wq"), b.const(ws, p + "_ws")
            if plain:
                shared[wname] = wq_name, ws_name
        y = b.node(
            "MatMulIntegerToFloat",
            [xn, wq_name, "pt_step", ws_name, "pt_zero"],
            p + "_int8",
            domain="com.microsoft",
        )
        if xout is None:
            b.nodes.append(helper.make_node("Mul", [y, amax], [out], name=p + "_rescale"))
        else:
            main = b.node("Mul", [y, amax], p + "_rescale")
            part = b.node("MatMul", [xout, b.const(w0[plan.outliers], p + "_wout")], p + "_fp32")
            b.nodes.append(helper.make_node("Add", [main, part], [out], name=p + "_sum"))
        new_nodes.extend(b.nodes)
        b.nodes = []
        if on_node:
            on_node(node.name, len(plan.outliers))
    replaced = {n.input[1] for n in by_name.values()} - used
    kept = [i for i in g.initializer if i.name not in replaced]
    g.ClearField("node")
    g.node.extend(new_nodes)
    g.ClearField("initializer")
    g.initializer.extend(kept + b.inits)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _prepare(b: _Builder, x: str, plan: InputPlan) -> tuple[str, str, str | None]:
    """Nodes shared by every MatMul reading x: rows scaled to max 1, their maxima, fp32 outliers."""
    p = x.replace("/", "_").strip("_") + "_pt"
    xin = x
    mul = 1 / plan.smooth
    mul[plan.outliers] = 0
    if not np.all(mul == 1):
        xin = b.node("Mul", [x, b.const(mul.astype(np.float32), p + "_mul")], p + "_x")
    amax = b.row_max(xin, p)
    # every row now has max |x| = 1: one fixed grid quantises each row on its own scale, so a
    # title's scores do not depend on the titles batched with it
    xn = b.node("Div", [xin, amax], p + "_rows")
    xn = b.node("QuantizeLinear", [xn, "pt_step", "pt_zero"], p + "_u8")
    xout = None
    if len(plan.outliers):
        xout = b.node("Gather", [x, b.const(plan.outliers, p + "_idx")], p + "_out", axis=-1)
    return xn, amax, xout
