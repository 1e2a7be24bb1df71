"""ONNX export of the tiny model: same labels as PyTorch, through `titleforge export`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from training.export_onnx import OnnxPredictor, export_onnx
from training.predict import Predictor


def test_export_and_agreement(tiny_model_dir: Path, tmp_path: Path) -> None:
    """fp32 ONNX agrees with PyTorch on every title; int8 is written too."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    res = CliRunner().invoke(app, ["export", "--model", str(model), "--onnx", "--int8"])
    assert res.exit_code == 0, res.output
    assert (model / "model.onnx").exists() and (model / "model.int8.onnx").exists()
    titles = [
        "council approves road budget after vote",
        "you won't believe what this mom did with rent",
    ] * 5
    ours = [lb for lb, _ in Predictor(model).predict(titles)]
    onnx = [lb for lb, _ in OnnxPredictor(model / "model.onnx", batch_size=4).predict(titles)]
    assert onnx == ours
    missing = CliRunner().invoke(app, ["export", "--model", str(tmp_path / "none"), "--onnx"])
    assert missing.exit_code == 2 and "No model at" in missing.output


def test_predict_engines_and_stale_export(tiny_model_dir: Path, tmp_path: Path) -> None:
    """auto runs a fresh ONNX export, falls back to torch when stale; explicit onnx refuses stale."""
    import os

    from training.errors import TrainingError
    from training.export_onnx import load_predictor

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    assert isinstance(load_predictor(model, "auto"), Predictor)
    with pytest.raises(TrainingError, match="titleforge export"):
        load_predictor(model, "onnx")
    export_onnx(model, quantize=True)
    assert isinstance(load_predictor(model, "auto"), OnnxPredictor)
    assert load_predictor(model, "onnx-int8").session is not None
    # retrained weights make the export stale: auto must not serve the old model
    weights = model / "model.safetensors"
    later = (model / "model.onnx").stat().st_mtime + 10
    os.utime(weights, (later, later))
    assert isinstance(load_predictor(model, "auto"), Predictor)
    with pytest.raises(TrainingError, match="older than the model weights"):
        load_predictor(model, "onnx")
    with pytest.raises(TrainingError, match="Unknown engine"):
        load_predictor(model, "tensorrt")
    res = CliRunner().invoke(
        app, ["predict", "--model", str(model), "--engine", "torch", "--json", "rates held"]
    )
    assert res.exit_code == 0 and '"label"' in res.output, res.output


def test_predict_on_an_export_needs_no_torch_and_matches_it(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The real entry point on an exported model: torch/transformers never imported, same scores."""
    import json
    import subprocess
    import sys

    import numpy as np

    from training.fastpredict import OnnxLite

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    export_onnx(model)
    titles = ["council approves road budget", "you won't believe this trick", "a b c " * 40]
    torch_p = Predictor(model).predict_proba(titles)
    lite_p = OnnxLite(model / "model.onnx", batch_size=2).predict_proba(titles)
    np.testing.assert_allclose(lite_p, torch_p, atol=1e-4)  # long title truncated the same way
    cmd = [sys.executable, "-X", "importtime", "-m", "flows.cli", "predict", "--json"]
    proc = subprocess.run(
        [*cmd, "--model", str(model), *titles], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {ln.split("|")[-1].strip() for ln in proc.stderr.splitlines() if "|" in ln}
    assert not {"torch", "transformers", "prefect"} & imported
    rows = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert all(abs(r["score"] - float(p.max())) < 1e-3 for r, p in zip(rows, torch_p, strict=True))


def test_int8_export_agrees_and_says_what_stayed_fp32(tiny_model_dir: Path, tmp_path: Path) -> None:
    """`export --int8` as a user runs it: labels agree with fp32, the manifest names the fp32 nodes."""
    import json

    import numpy as np
    import onnx

    from tests.fakes.tiny import toy_titles
    from training.fastpredict import OnnxLite

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    res = CliRunner().invoke(app, ["export", "--model", str(model), "--onnx", "--int8"])
    assert res.exit_code == 0, res.output
    flat = res.output.replace("\n", "")  # the console wraps long paths
    assert "kept fp32" in flat and "model.int8.json" in flat
    manifest = json.loads((model / "model.int8.json").read_text())
    kept = {k["node"]: k["why"] for k in manifest["kept_fp32"]}
    assert any("down-projection" in why for why in kept.values())
    # the manifest tells the truth: kept nodes are still float MatMuls, the quantised ones are gone
    graph = onnx.load(str(model / "model.int8.onnx")).graph
    float_matmuls = {n.name for n in graph.node if n.op_type == "MatMul"}
    assert {n for n, why in kept.items() if "MatMul" in why or "down" in why} <= float_matmuls
    assert not set(manifest["quantised"]) & {n.name for n in graph.node if n.op_type == "MatMul"}
    # held-out titles, plus blends of both kinds that sit near the decision boundary
    texts, _ = toy_titles(100, seed=7)
    blends = [f"{a.split(' with ')[0]} {b}" for a, b in zip(texts[::2], texts[1::2], strict=True)]
    titles = texts + blends
    fp32 = OnnxLite(model / "model.onnx", batch_size=16).predict_proba(titles)
    int8 = OnnxLite(model / "model.int8.onnx", batch_size=16).predict_proba(titles)
    assert np.mean(fp32.argmax(1) == int8.argmax(1)) >= 0.995
    assert np.abs(fp32 - int8).max() < 0.01
