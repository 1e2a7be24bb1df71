"""A multi-label task end to end on the Ollama double: label sets in, thresholds and set metrics out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from flows.cli import app
from tests.fakes.ollama_server import FakeConfig, FakeOllama

# a handful of hand-labelled headlines (written for this test): label sets joined by '|' or ';'
REAL_ROWS = [
    ("Senate passes farm subsidy bill as grain prices climb", "Politics|Economy"),
    ("Central bank raises rates to cool housing market", "Economy"),
    ("Minister resigns after hospital funding row", "Politics;Health"),
    ("Heatwave strains power grid and sends electricity prices up", "Environment|Economy"),
    ("New vaccine app crashes on launch day", "Technology|Health"),
    ("Parliament debates ban on coal plants", "Politics|Environment"),
    ("Chipmaker shares jump on AI demand", "Economy|Technology"),
    ("Flu season fills emergency wards early", "Health"),
    ("Floods cut broadband to thousands of homes", "Environment|Technology"),
    ("Election rivals clash over carbon tax", "Politics|Economy|Environment"),
    ("Hospital trials robot surgeon for knee operations", "Health|Technology"),
    ("Government unveils online safety law for social media", "Politics|Technology"),
    ("Air pollution linked to rise in childhood asthma", "Environment|Health"),
    ("Unemployment falls for third month in a row", "Economy"),
    ("Wildfire smoke closes schools across the region", "Environment|Health"),
    ("Coalition talks stall over budget cuts", "Politics|Economy"),
]


def _independent_thresholds(probs: np.ndarray, gold: np.ndarray) -> list[float]:
    """Per label, the grid threshold with the best F1 (sklearn), ties to the one nearest 0.5."""
    from sklearn.metrics import f1_score

    grid = [round(0.05 * k, 2) for k in range(1, 20)]
    out = []
    for j in range(gold.shape[1]):
        if gold[:, j].sum() == 0:
            out.append(0.5)
            continue
        scores = [f1_score(gold[:, j], probs[:, j] >= t, zero_division=0) for t in grid]
        best = max(scores)
        out.append(min((t for t, s in zip(grid, scores, strict=True) if np.isclose(s, best)),
                       key=lambda t: abs(t - 0.5)))  # fmt: skip
    return out


def _sigmoid_scores(model_dir: Path, texts: list[str]) -> np.ndarray:
    """Validation scores straight from transformers, not through titleforge's predictors."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        rows = [model(**tok(t, return_tensors="pt")).logits[0] for t in texts]
    return torch.sigmoid(torch.stack(rows)).numpy()


def _predict(model: Path, engine: str, texts: list[str]) -> list[dict]:
    """`titleforge predict --json` lines."""
    result = CliRunner().invoke(
        app, ["predict", "--model", str(model), "--engine", engine, "--json", *texts]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_news_themes_runs_end_to_end_with_tuned_thresholds(
    tmp_path: Path, tiny_albert: Path
) -> None:
    """run → label-set dataset → BCE model → thresholds tuned on validation → set metrics → ONNX."""
    from datasets import load_from_disk

    work = tmp_path / "run"
    real = tmp_path / "real.csv"
    real.write_text(
        "text,themes\n" + "".join(f'"{t}",{sets}\n' for t, sets in REAL_ROWS), encoding="utf-8"
    )
    with FakeOllama(FakeConfig(seed=2)) as fake:
        args = ["run", "--workdir", str(work), "--task", "news_themes", "--per-label", "20"]
        args += ["--real-data", str(real), "--real-label-column", "themes"]
        args += ["--ollama-host", fake.url, "--base-model", str(tiny_albert), "--epochs", "2"]
        result = CliRunner().invoke(app, [*args, "--seed", "5", "--no-prefect"])
    assert result.exit_code == 0, result.output

    rows = [json.loads(line) for line in (work / "raw.jsonl").read_text().splitlines()]
    assert all(len(r["label_sets"]) == len(r["titles"]) for r in rows)
    assert all(r["label"] in r["requested_labels"] for r in rows)
    dd = load_from_disk(str(work / "dataset"))
    names = dd["train"].features["labels"].feature.names
    assert names == ["Politics", "Economy", "Technology", "Health", "Environment"]
    assert "label" not in dd["train"].features
    assert any(len(ids) > 1 for ids in dd["train"]["labels"])  # themes co-occur

    report = json.loads((work / "report.json").read_text())
    synth = report["synthetic_test"]
    for key in ("f1_micro", "f1_macro", "exact_match"):
        assert 0.0 <= synth[key] <= 1.0
    assert synth["n"] == len(dd["test"])
    assert set(synth["per_label"]) == set(names)
    for m in synth["per_label"].values():
        assert {"precision", "recall", "f1", "support", "threshold"} <= set(m)
    assert sum(m["support"] for m in synth["per_label"].values()) == sum(
        len(ids) for ids in dd["test"]["labels"]
    )
    # the real data: same set metrics on its sealed test part, and too little of it to judge
    assert report["real"]["part"] == "test" and report["real_selection"]["part"] == "selection"
    assert report["real"]["n"] + report["real_selection"]["n"] == len(REAL_ROWS)
    assert {"f1_micro", "f1_macro", "exact_match"} <= set(report["real"])
    assert report["overfitting"]["verdict"] == "insufficient real data"
    md = (work / "report.md").read_text()
    assert "## Multi-label" in md and "exact_match" in md and "f1_micro" in md

    assert "5-label text classifier" in (work / "model" / "README.md").read_text()  # its card
    saved = json.loads((work / "model" / "thresholds.json").read_text())
    thresholds = [saved["thresholds"][n] for n in names]
    assert report["multi_label"]["thresholds"] == saved["thresholds"]
    val = dd["validation"]
    probs = _sigmoid_scores(work / "model", list(val["text"]))
    gold = np.zeros((len(val), len(names)), dtype=int)
    for i, ids in enumerate(val["labels"]):
        gold[i, ids] = 1
    assert thresholds == _independent_thresholds(probs, gold)
    assert any(t != 0.5 for t in thresholds)

    texts = list(dd["test"]["text"][:8])
    torch_rows = _predict(work / "model", "torch", texts)
    for row in torch_rows:
        expected = {n for n, t in zip(names, thresholds, strict=True) if row["scores"][n] >= t}
        assert set(row["labels"]) == expected
    assert (work / "model" / "model.onnx").exists()
    onnx_rows = _predict(work / "model", "onnx", texts)
    for a, b in zip(torch_rows, onnx_rows, strict=True):
        assert a["labels"] == b["labels"]
        assert all(abs(a["scores"][n] - b["scores"][n]) < 1e-3 for n in names)
