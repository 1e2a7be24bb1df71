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


def test_int8_export_agrees_and_says_how_each_node_was_quantised(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """`export --int8` as a user runs it: labels agree with fp32, the manifest tells the truth."""
    import json

    import numpy as np
    import onnx

    from tests.fakes.tiny import make_dataset_dict, toy_titles
    from training.fastpredict import OnnxLite

    model = tmp_path / "run" / "model"
    shutil.copytree(tiny_model_dir, model)
    make_dataset_dict(seed=3).save_to_disk(str(tmp_path / "run" / "dataset"))
    res = CliRunner().invoke(app, ["export", "--model", str(model), "--onnx", "--int8"])
    assert res.exit_code == 0, res.output
    flat = res.output.replace("\n", "")  # the console wraps long paths
    assert "calibrated on 120 titles" in flat and "kept fp32" in flat and "model.int8.json" in flat
    manifest = json.loads((model / "model.int8.json").read_text())
    graph = onnx.load(str(model / "model.int8.onnx")).graph
    ops = [n.op_type for n in graph.node]
    hows = list(manifest["how"].values())
    # ALBERT's shared layer runs twice: every application of every weight MatMul is quantised
    assert len(manifest["quantised"]) == 13 and set(manifest["how"]) == set(manifest["quantised"])
    assert ops.count("MatMulNBits") == sum("MatMulNBits" in h for h in hows) == 2
    assert ops.count("MatMulIntegerToFloat") == sum("one scale per token" in h for h in hows) == 11
    float_matmuls = {n.name for n in graph.node if n.op_type == "MatMul"}
    assert not set(manifest["quantised"]) & float_matmuls
    kept = {k["node"] for k in manifest["kept_fp32"] if "attention" in k["why"]}
    assert kept == float_matmuls and len(kept) == 4
    # held-out titles, plus blends of both kinds that sit near the decision boundary
    texts, _ = toy_titles(100, seed=7)
    blends = [f"{a.split(' with ')[0]} {b}" for a, b in zip(texts[::2], texts[1::2], strict=True)]
    titles = texts + blends
    fp32 = OnnxLite(model / "model.onnx", batch_size=16).predict_proba(titles)
    int8 = OnnxLite(model / "model.int8.onnx", batch_size=16).predict_proba(titles)
    assert np.mean(fp32.argmax(1) == int8.argmax(1)) >= 0.995
    assert np.abs(fp32 - int8).max() < 0.01
    # a title's int8 scores no longer depend on the titles batched with it (per-token scales)
    alone = OnnxLite(model / "model.int8.onnx", batch_size=1).predict_proba(titles[:20])
    np.testing.assert_allclose(alone, int8[:20], atol=1e-5)


def test_int8_without_calibration_says_how_to_calibrate(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """No DIR/dataset beside the model: the export still works and names --calibration; bad input exits 2."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    res = CliRunner().invoke(app, ["export", "--model", str(model), "--int8"])
    assert res.exit_code == 0, res.output
    assert "--calibration" in res.output.replace("\n", "")
    titles = tmp_path / "titles.csv"
    titles.write_text("headline\nsome title\n")
    bad = CliRunner().invoke(
        app, ["export", "--model", str(model), "--int8", "--calibration", str(titles)]
    )
    assert bad.exit_code == 2 and "no `text` column" in bad.output
    gone = CliRunner().invoke(
        app, ["export", "--model", str(model), "--int8", "--calibration", str(tmp_path / "nope")]
    )
    assert gone.exit_code == 2 and "does not exist" in gone.output


def test_outlier_channels_take_the_fp32_path_and_beat_per_batch_scales(tmp_path: Path) -> None:
    """A BERT with planted massive channels: they are found on calibration titles and kept fp32;
    per-token int8 stays far closer to fp32 than ONNX Runtime's one-scale-per-batch dynamic int8."""
    import json

    import numpy as np
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertConfig, BertForSequenceClassification

    from tests.fakes.tiny import build_tiny_albert, toy_titles
    from training.fastpredict import OnnxLite

    model = tmp_path / "model"
    build_tiny_albert(model)  # for its tokenizer files
    tok_len = len(json.loads((model / "tokenizer.json").read_text())["model"]["vocab"])
    cfg = BertConfig(
        vocab_size=tok_len,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=64,
        num_labels=2,
        id2label={0: "clickbait", 1: "factual"},
        label2id={"clickbait": 0, "factual": 1},
    )
    torch.manual_seed(0)
    bert = BertForSequenceClassification(cfg).eval()
    with torch.no_grad():
        for ln in (bert.bert.embeddings.LayerNorm, bert.bert.encoder.layer[0].output.LayerNorm):
            ln.weight[[5, 17]] *= 25.0  # the "massive activation" channels of real encoders
    for f in model.glob("*"):
        if f.name.startswith(("model", "config")):
            f.unlink()
    bert.save_pretrained(model)
    texts, _ = toy_titles(60, seed=1)
    export_onnx(model, quantize=True, calibration=texts)
    manifest = json.loads((model / "model.int8.json").read_text())
    assert manifest["calibration"]["titles"] == 120
    assert len(manifest["outlier_channels_fp32"]) >= 3  # Q/K/V of both layers read planted channels
    quantize_dynamic(
        str(model / "model.onnx"),
        str(tmp_path / "batch.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
    )
    shutil.copy(tmp_path / "batch.onnx", model / "batch.onnx")
    held, _ = toy_titles(50, seed=8)
    fp32 = OnnxLite(model / "model.onnx", batch_size=16).predict_proba(held)
    ours = OnnxLite(model / "model.int8.onnx", batch_size=16).predict_proba(held)
    per_batch = OnnxLite(model / "batch.onnx", batch_size=16).predict_proba(held)
    err_ours, err_batch = np.abs(ours - fp32).mean(), np.abs(per_batch - fp32).mean()
    assert err_ours < err_batch / 3, (err_ours, err_batch)
