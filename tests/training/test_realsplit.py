"""The real-data protocol: a stratified, near-duplicate-aware split, and a test part read once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasets import ClassLabel, Dataset

from tests.fakes.tiny import toy_titles
from training import pipeline as steps
from training.config import FinetuneConfig
from training.predict import Predictor
from training.realsplit import SealedError, near_duplicate_groups, split_real

NAMES = ["clickbait", "factual"]


def _real(texts: list[str], labels: list[str]) -> Dataset:
    """A real-data Dataset with a ClassLabel column."""
    ds = Dataset.from_dict({"text": texts, "label": [NAMES.index(x) for x in labels]})
    return ds.cast_column("label", ClassLabel(names=NAMES))


def test_split_is_stratified_seeded_and_keeps_near_duplicates_together() -> None:
    """Each label is halved; the same seed gives the same parts; near duplicates share a side."""
    texts, labels = toy_titles(100, 3)
    # plant near duplicates (one word changed) of the first 20 titles
    dups = [t.rsplit(" ", 1)[0] + " today" for t in texts[:20]]
    real = _real(texts + dups, labels + labels[:20])
    a, b = split_real(real, seed=5), split_real(real, seed=5)
    assert a.selection["text"] == b.selection["text"]
    assert a.selection["text"] != split_real(real, seed=6).selection["text"]
    for name, n in a.describe(NAMES)["selection"]["per_label"].items():
        assert abs(n - a.describe(NAMES)["test"]["per_label"][name]) <= 12, name
    groups = near_duplicate_groups(real["text"])
    sel = set(a.selection["text"])
    for i in range(len(real)):
        same = [j for j in range(len(real)) if groups[j] == groups[i]]
        assert len({real["text"][j] in sel for j in same}) == 1


def test_test_part_is_read_once_and_only_by_the_final_evaluation(
    tiny_albert: Path, toy_dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No model or baseline scores a real test title before the final evaluation; then once."""
    from datasets import load_from_disk

    synthetic = {t for part in load_from_disk(str(toy_dataset_dir)).values() for t in part["text"]}
    # real titles that the synthetic splits do not contain, so every scored title has one origin
    rows = [(t, lb) for t, lb in zip(*toy_titles(80, 11), strict=True) if t not in synthetic]
    csv = tmp_path / "real.csv"
    csv.write_text("text,label\n" + "\n".join(f"{t},{lb}" for t, lb in rows))
    cfg = FinetuneConfig(
        dataset=str(toy_dataset_dir),
        workdir=str(tmp_path / "run"),
        base_model=str(tiny_albert),
        epochs=1,
        batch_size=16,
        early_stopping_patience=0,
        frozen_encoder_baseline=False,
        real_data=str(csv),
    )
    scored: list[str] = []
    original = Predictor.predict_proba

    def spy(self: Predictor, batch: list[str]) -> np.ndarray:
        scored.extend(batch)
        return original(self, batch)

    monkeypatch.setattr(Predictor, "predict_proba", spy)
    data = steps.load_data(cfg)
    test_titles = set(data.real_parts.test._data["text"])
    assert test_titles and not test_titles & set(data.real["text"])

    info = steps.train_and_save(cfg, data)
    synth, selection = steps.evaluate_model(cfg, data)
    models = steps.fit_baselines(cfg, data)
    baselines = steps.run_baselines(cfg, data, models)
    assert not test_titles & set(scored), "a test title was scored before the final evaluation"
    assert data.real_parts.test.reads == []

    real = steps.final_evaluation(cfg, data, baselines, models)
    assert test_titles <= set(scored)
    assert data.real_parts.test.reads == ["final evaluation"]
    with pytest.raises(SealedError):
        data.real_parts.test.open("a second look")

    report = steps.build_report(cfg, data, info, synth, real, baselines, selection)
    assert report["real"]["part"] == "test" and report["real"]["n"] == len(data.real_parts.test)
    assert report["real_selection"]["n"] == len(data.real)
    assert report["real_split"]["test"]["n"] + report["real_split"]["selection"]["n"] == len(rows)
    assert "real" in report["baselines"]["tfidf_logreg"]
    # the mistakes shown in the report come from the selection part only
    shown = {row["text"] for rows in report["error_analysis"].values() for row in rows}
    assert not shown & test_titles
