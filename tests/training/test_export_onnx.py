"""ONNX export of the tiny model: same labels as PyTorch, through `titleforge export`."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from training.export_onnx import OnnxPredictor
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
    assert missing.exit_code == 1 and "No model at" in missing.output
