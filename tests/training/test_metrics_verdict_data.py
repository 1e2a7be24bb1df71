"""Metrics against hand-computed values, the verdict on constructed cases, and data-loading errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data import load_labelled, load_splits, parse_label_map
from training.errors import DataError
from training.metrics import compute_metrics
from training.verdict import overfitting_verdict


def test_metrics_by_hand() -> None:
    """y = [0,0,0,1,1,1], pred = [0,0,1,1,1,0]: accuracy 4/6, per-label recall 2/3 each."""
    m = compute_metrics([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 0], ["a", "b"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_label_accuracy"] == pytest.approx({"a": 2 / 3, "b": 2 / 3})
    assert m["per_label"]["a"]["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["f1_macro"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    skew = compute_metrics([0, 0, 0, 1], [0, 0, 0, 0], ["a", "b"])
    assert skew["per_label_accuracy"] == {"a": 1.0, "b": 0.0}
    assert skew["precision"] == pytest.approx(
        0.75 * 0.75
    )  # weighted: a has precision 3/4, weight 3/4; b 0


def _m(acc: float, per: dict[str, float]) -> dict:
    """A minimal metrics dict."""
    return {"accuracy": acc, "per_label_accuracy": per}


@pytest.mark.parametrize(
    ("synth", "real", "kwargs", "verdict"),
    [
        (
            _m(0.90, {"a": 0.9, "b": 0.9}),
            _m(0.88, {"a": 0.88, "b": 0.88}),
            {"tfidf_real_accuracy": 0.80},
            "ok",
        ),
        (_m(0.95, {"a": 0.95, "b": 0.95}), _m(0.85, {"a": 0.85, "b": 0.85}), {}, "warning"),
        (_m(0.99, {"a": 1.0, "b": 0.98}), _m(0.60, {"a": 0.9, "b": 0.3}), {}, "overfit"),
        (
            _m(0.90, {"a": 0.9, "b": 0.9}),
            _m(0.88, {"a": 0.88, "b": 0.88}),
            {"tfidf_real_accuracy": 0.90},
            "warning",
        ),
        (_m(1.00, {"a": 1.0, "b": 1.0}), _m(0.91, {"a": 0.91, "b": 0.91}), {}, "overfit"),
        (_m(0.999, {"a": 1.0, "b": 1.0}), None, {}, "warning"),
        (_m(0.90, {"a": 0.9, "b": 0.9}), _m(0.88, {"a": 0.98, "b": 0.70}), {}, "warning"),
    ],
)
def test_verdict_cases(synth: dict, real: dict | None, kwargs: dict, verdict: str) -> None:
    """Gap, too-good synthetic scores, per-label gaps and losing to TF-IDF move the verdict."""
    out = overfitting_verdict(synth, real, **kwargs)
    assert out["verdict"] == verdict, out
    assert out["reasons"]


def test_verdict_sees_diverging_losses() -> None:
    """Validation loss rising while training loss falls is a warning."""
    hist = [
        {"loss": 0.7, "step": 1},
        {"eval_loss": 0.5},
        {"eval_loss": 0.4},
        {"loss": 0.1, "step": 9},
        {"eval_loss": 0.6},
    ]
    out = overfitting_verdict(_m(0.9, {"a": 0.9}), _m(0.9, {"a": 0.9}), log_history=hist)
    assert out["verdict"] == "warning" and any("validation loss" in r for r in out["reasons"])


def test_label_map_and_file_formats(tmp_path: Path) -> None:
    """CSV, JSONL and Parquet load with a label map; names come out as a ClassLabel."""
    assert parse_label_map("1=clickbait, 0=factual") == {"1": "clickbait", "0": "factual"}
    csv = tmp_path / "r.csv"
    csv.write_text("title,y\nA b c,1\nD e f,0\n")
    ds = load_labelled(
        str(csv),
        text_column="title",
        label_column="y",
        label_map="1=clickbait,0=factual",
        label_names=["clickbait", "factual"],
    )
    assert ds["label"] == [0, 1] and ds.features["label"].names == ["clickbait", "factual"]
    import pandas as pd

    pd.DataFrame({"text": ["x y", "z w"], "label": ["factual", "clickbait"]}).to_parquet(
        tmp_path / "r.parquet"
    )
    assert load_labelled(str(tmp_path / "r.parquet"))["text"] == ["x y", "z w"]


@pytest.mark.parametrize(
    ("content", "kwargs", "needle"),
    [
        ("text,label\n", {}, "empty"),
        ("headline,label\na,x\n", {}, "column(s) ['text'] not found"),
        ("text,label\na,maybe\n", {"label_names": ["clickbait", "factual"]}, "not known labels"),
        ("text,label\na,2\n", {"label_map": "1=clickbait,0=factual"}, "not in the label map"),
        ("text,label\na,1\n", {"label_map": "1clickbait"}, "raw=name"),
    ],
)
def test_data_errors_name_the_fix(tmp_path: Path, content: str, kwargs: dict, needle: str) -> None:
    """Each bad file gives a DataError whose message quotes what is wrong."""
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=None) as exc:
        load_labelled(str(path), **kwargs)
    assert needle in str(exc.value)


def test_split_errors(tmp_path: Path) -> None:
    """A dataset dir without the needed splits, or with one class, is refused with the reason."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    feats = Features({"text": Value("string"), "label": ClassLabel(names=["a", "b"])})
    one = Dataset.from_dict({"text": ["x"] * 4, "label": [0] * 4}, features=feats)
    DatasetDict({"train": one}).save_to_disk(str(tmp_path / "d1"))
    with pytest.raises(DataError, match="lacks split"):
        load_splits(str(tmp_path / "d1"))
    DatasetDict({"train": one, "validation": one, "test": one}).save_to_disk(str(tmp_path / "d2"))
    with pytest.raises(DataError, match="single class"):
        load_splits(str(tmp_path / "d2"))
    with pytest.raises(DataError, match="does not exist"):
        load_labelled(str(tmp_path / "nope.csv"))


def test_fasttext_baseline_learns_real_titles_and_is_deterministic(
    real_clickbait_csv: Path,
) -> None:
    """Trained on 1,500 real STOP titles it labels the other 500 well; same seed, same labels."""
    import csv

    from training.baselines import FastTextBaseline

    with real_clickbait_csv.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:2000]
    texts = [r["text"] for r in rows]
    y = [int(r["label"] == "clickbait") for r in rows]
    a = FastTextBaseline(seed=3).fit(texts[:1500], y[:1500]).predict(texts[1500:])
    b = FastTextBaseline(seed=3).fit(texts[:1500], y[:1500]).predict(texts[1500:])
    assert (a == b).all()
    assert (a == np.asarray(y[1500:])).mean() >= 0.85


def test_cost_block_sets_the_model_against_an_api_llm() -> None:
    """$3.60/h at 1,000 titles/s is $1 per million; 60 tokens at $0.15/M is $9 per million."""
    from training.cost import cost_block, render_cost_md

    dataset = {"kept": 500, "calls": {"total": 100}, "eval_tokens": 40_000, "generation_s": 50.0}
    cost = cost_block(
        dataset,
        {"samples_per_second": 120.0},
        1000.0,
        instance_usd_per_hour=3.6,
        api_usd_per_million_tokens=0.15,
        api_tokens_per_title=60,
        vcpus=2,
    )
    inf = cost["inference"]
    assert inf["usd_per_million_predictions"] == pytest.approx(1.0)
    assert inf["api_llm_usd_per_million_predictions"] == pytest.approx(9.0)
    assert inf["api_over_ours"] == pytest.approx(9.0) and inf["titles_per_second_per_vcpu"] == 500
    gen = cost["generation"]
    assert gen["llm_tokens_per_kept_title"] == 80 and gen["kept_titles_per_call"] == 5
    assert gen["seconds_per_kept_title"] == pytest.approx(0.1)
    md = render_cost_md(cost)
    assert "| API LLM / this model | 9.0x |" in md


def test_report_escapes_titles_and_labels() -> None:
    """A real title with a script tag, a pipe and a backtick renders as text in report.md."""
    from flows.report import render_report_md

    hostile = "<script>alert(1)</script> a | b `code` it's"
    report = {
        "dataset": {"raw_titles": 1, "kept": 1, "per_label": {"<b>x</b>": 1}, "splits": {}},
        "synthetic_test": {"accuracy": 1.0, "per_label_accuracy": {}},
        "overfitting": {"verdict": "ok", "reasons": [hostile]},
        "error_analysis": {
            "highest_loss": [
                {"gold": "a", "predicted": "b", "confidence": 0.9, "loss": 2.0, "text": hostile}
            ]
        },
    }
    md = render_report_md(report)
    assert "<script>" not in md and "<b>" not in md and "`code`" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a \\| b \\`code\\` it's" in md
    assert "&#" not in md  # numeric entities show literally in the Prefect UI


def test_verdict_has_an_interval_and_refuses_to_judge_on_thin_real_data() -> None:
    """One real title per label: 'insufficient real data' with the counts; 200 each: a verdict."""
    synth = {"accuracy": 0.95, "per_label_accuracy": {"a": 0.95, "b": 0.95}}
    real = {"accuracy": 0.6, "per_label_accuracy": {"a": 0.6, "b": 0.6}}
    thin = overfitting_verdict(synth, real, real_support={"a": 1, "b": 1})
    assert thin["verdict"] == "insufficient real data"
    assert "a 1, b 1" in thin["reasons"][0] and "at least 30 per label" in thin["reasons"][0]
    lo, hi = thin["real_accuracy_ci95"]
    assert lo < 0.2 and hi > 0.9  # two titles say almost nothing
    full = overfitting_verdict(synth, real, real_support={"a": 200, "b": 200})
    assert full["verdict"] == "overfit"
    lo, hi = full["real_accuracy_ci95"]
    assert lo < 0.6 < hi and hi - lo < 0.1
