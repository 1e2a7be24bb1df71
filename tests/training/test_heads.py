"""`--head logistic`: a frozen MiniLM + logistic regression, trained, judged, predicted, exported."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import SAFE_MODEL_SUFFIXES
from tests.fakes.ollama_server import FakeConfig, FakeOllama
from training.heads import logistic_to_linear


def test_binary_logistic_becomes_a_two_row_softmax_with_the_same_probabilities() -> None:
    """softmax over rows -w/2, +w/2 equals sklearn's sigmoid for class 1."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), rng.integers(0, 2, 200)
    clf = LogisticRegression().fit(x, y)
    w, b = logistic_to_linear(clf.coef_, clf.intercept_)
    z = x @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert np.allclose(p, clf.predict_proba(x), atol=1e-6)


def test_logistic_head_trains_fast_is_judged_predicts_and_exports(
    tmp_path: Path, minilm: str, real_clickbait_csv: Path
) -> None:
    """Fake-LLM clickbait data: head fits in < 60 s, real accuracy reported, ONNX agrees ≥ 99.5%."""
    work = tmp_path / "run"
    with FakeOllama(FakeConfig(seed=1)) as fake:
        gen = ["generate", "--workdir", str(work), "--per-label", "150", "--seed", "1"]
        result = CliRunner().invoke(app, [*gen, "--ollama-host", fake.url])
    assert result.exit_code == 0, result.output
    args = ["train", "--dataset", str(work / "dataset"), "--workdir", str(work)]
    args += ["--base-model", minilm, "--head", "logistic", "--real-data", str(real_clickbait_csv)]
    t0 = time.perf_counter()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    import json

    report = json.loads((work / "report.json").read_text())
    assert report["training"]["train_runtime_s"] < 60, report["training"]
    assert time.perf_counter() - t0 < 180
    assert report["real"]["accuracy"] > 0.6 and report["overfitting"]["verdict"]
    assert not (work / "model" / "training_args.bin").exists()
    # no pickles: weights, JSON, the tokenizer, the card and the ONNX export train wrote
    assert {p.suffix for p in (work / "model").iterdir()} <= SAFE_MODEL_SUFFIXES

    with real_clickbait_csv.open(encoding="utf-8") as fh:
        titles = [row["text"] for row in csv.DictReader(fh)][:1000]
    from training.export_onnx import export_onnx, load_predictor

    torch_labels = [lb for lb, _ in load_predictor(work / "model", "torch").predict(titles)]
    export_onnx(work / "model")
    onnx_labels = [lb for lb, _ in load_predictor(work / "model", "onnx").predict(titles)]
    agree = np.mean([a == b for a, b in zip(torch_labels, onnx_labels, strict=True)])
    assert agree >= 0.995, agree
    out = CliRunner().invoke(app, ["predict", "--model", str(work / "model"), titles[0]])
    assert out.exit_code == 0 and any(lb in out.output for lb in ("clickbait", "factual"))
