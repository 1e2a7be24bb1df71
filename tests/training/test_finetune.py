"""Finetuning end to end on a tiny ALBERT: save → reload → pipeline → predict; report keys; resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import load_from_disk
from safetensors.numpy import load_file
from transformers import pipeline as hf_pipeline

from tests.fakes.tiny import make_dataset_dict, toy_titles
from training import pipeline as steps
from training.config import FinetuneConfig
from training.predict import Predictor


def _config(tiny_albert: Path, dataset: Path, workdir: Path, **kw) -> FinetuneConfig:
    """A fast config for the tiny model."""
    base = {
        "dataset": str(dataset),
        "workdir": str(workdir),
        "base_model": str(tiny_albert),
        "epochs": 6,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "early_stopping_patience": 0,
    }
    return FinetuneConfig(**(base | kw))


def _run(cfg: FinetuneConfig) -> dict:
    """All steps, as the flow runs them."""
    data = steps.load_data(cfg)
    info = steps.finished_training(cfg) or steps.train_and_save(cfg, data)
    synth, selection = steps.evaluate_model(cfg, data)
    models = steps.fit_baselines(cfg, data)
    baselines = steps.run_baselines(cfg, data, models)
    real = steps.final_evaluation(cfg, data, baselines, models)
    report = steps.build_report(cfg, data, info, synth, real, baselines, selection)
    report["plots"] = steps.write_outputs(cfg, data, info, report)
    return report


def test_train_save_reload_predict(
    tiny_albert: Path, toy_dataset_dir: Path, tmp_path: Path
) -> None:
    """The model learns the toy task; DIR/model works with transformers.pipeline and Predictor."""
    real = tmp_path / "real.csv"
    texts, labels = toy_titles(20, 7)
    real.write_text(
        "headline,y\n"
        + "\n".join(
            f"{t},{1 if lb == 'clickbait' else 0}" for t, lb in zip(texts, labels, strict=True)
        )
    )
    cfg = _config(
        tiny_albert,
        toy_dataset_dir,
        tmp_path / "run",
        real_data=str(real),
        real_text_column="headline",
        real_label_column="y",
        real_label_map="1=clickbait,0=factual",
    )
    report = _run(cfg)
    assert report["synthetic_test"]["accuracy"] >= 0.9
    assert set(report["synthetic_test"]["per_label_accuracy"]) == {"clickbait", "factual"}
    assert report["real"]["accuracy"] >= 0.9
    assert {"majority", "tfidf_logreg", "frozen_encoder_logreg", "fasttext"} <= report[
        "baselines"
    ].keys()
    assert (
        report["baselines"]["fasttext"]["train_s"] > 0
        and report["baselines"]["fasttext"]["titles_per_s"]
    )
    assert report["baselines"]["majority"]["real"]["accuracy"] == pytest.approx(0.5)
    # 20 real titles: too few to judge, and the verdict says so rather than guessing
    assert report["overfitting"]["verdict"] == "insufficient real data"
    assert report["error_analysis"]["highest_loss"]
    model_dir = tmp_path / "run" / "model"
    for name in ("model.safetensors", "config.json", "README.md", steps.DONE_MARKER):
        assert (model_dir / name).exists(), name
    assert not list(model_dir.glob("*.bin"))
    # word embeddings stay as pretrained (freeze_embeddings); the encoder itself was trained
    base, tuned = (load_file(d / "model.safetensors") for d in (tiny_albert, model_dir))

    def weight(tensors: dict, suffix: str) -> np.ndarray:
        return next(v for k, v in tensors.items() if k.endswith(suffix))

    emb, ffn = "word_embeddings.weight", "albert_layers.0.ffn.weight"
    assert np.array_equal(weight(base, emb), weight(tuned, emb))
    assert not np.allclose(weight(base, ffn), weight(tuned, ffn))
    for png in report["plots"]:
        assert (tmp_path / "run" / png).stat().st_size > 1000
    clf = hf_pipeline("text-classification", model=str(model_dir))
    assert clf("you won't believe what this chef did with coffee")[0]["label"] == "clickbait"
    preds = Predictor(model_dir, batch_size=3).predict(
        ["council approves road budget after vote", "you won't believe what this mom did with rent"]
    )
    assert [p[0] for p in preds] == ["factual", "clickbait"]
    card = (model_dir / "README.md").read_text()
    assert card.startswith("---") and "model-index" in card and "Overfitting verdict" in card


def test_finished_model_is_not_retrained(
    tiny_albert: Path, toy_dataset_dir: Path, tmp_path: Path
) -> None:
    """A re-run reuses DIR/model: the marker is honoured unless --force."""
    cfg = _config(tiny_albert, toy_dataset_dir, tmp_path / "run", epochs=1)
    data = steps.load_data(cfg)
    steps.train_and_save(cfg, data)
    weights = (tmp_path / "run" / "model" / "model.safetensors").stat().st_mtime_ns
    assert steps.finished_training(cfg) is not None
    _run(cfg)
    assert (tmp_path / "run" / "model" / "model.safetensors").stat().st_mtime_ns == weights
    assert steps.finished_training(cfg.model_copy(update={"force": True})) is None


def test_artefact_separable_data_is_not_ok(tiny_albert: Path, tmp_path: Path) -> None:
    """Synthetic labels given away by a trailing '!' that real data lacks: the verdict is not ok."""
    ds_dir = tmp_path / "ds"
    dd = make_dataset_dict(n_per_label=80, artefact=True)
    # the synthetic words carry no signal: only the artefact separates the labels
    from datasets import Dataset

    def scramble(split: Dataset, seed: int) -> Dataset:
        import random

        rng = random.Random(seed)
        texts = list(split["text"])
        labels = list(split["label"])
        bodies = [t.removesuffix(" !") for t in texts]
        rng.shuffle(bodies)
        return Dataset.from_dict(
            {
                "text": [b + (" !" if y == 0 else "") for b, y in zip(bodies, labels, strict=True)],
                "label": labels,
            },
            features=split.features,
        )

    dd = dd.__class__({k: scramble(v, i) for i, (k, v) in enumerate(dd.items())})
    dd.save_to_disk(str(ds_dir))
    real = tmp_path / "real.jsonl"
    texts, labels = toy_titles(30, 11)
    real.write_text(
        "\n".join(json.dumps({"text": t, "label": lb}) for t, lb in zip(texts, labels, strict=True))
    )
    cfg = _config(
        tiny_albert,
        ds_dir,
        tmp_path / "run",
        real_data=str(real),
        frozen_encoder_baseline=False,
        epochs=12,
    )
    report = _run(cfg)
    assert report["synthetic_test"]["accuracy"] >= 0.95
    assert report["overfitting"]["verdict"] != "ok", report["overfitting"]
    assert report["overfitting"]["gap"] > 0.15
    assert load_from_disk(str(ds_dir))["train"].features["label"].names == ["clickbait", "factual"]


def test_an_early_stop_is_reported_with_when_why_and_the_lr_schedule(
    tiny_albert: Path, toy_dataset_dir: Path, tmp_path: Path
) -> None:
    """Patience 1 on an easy task: the report names the step, the reason and the LR schedule."""
    cfg = _config(
        tiny_albert,
        toy_dataset_dir,
        tmp_path,
        epochs=20,
        early_stopping_patience=1,
        learning_rate=1e-3,
    )
    report = _run(cfg)
    ended = report["training"]["ended"]
    schedule = ended["schedule"]
    assert schedule["peak"] == 1e-3 and schedule["total_steps"] == ended["planned_steps"]
    assert ended["stopped_early"] and ended["at_step"] < ended["planned_steps"]
    assert ended["best_step"] <= ended["at_step"] and "f1_macro" in ended["reason"]
    assert "did not improve in the next 1 evaluation" in ended["reason"]
    from flows.report import render_report_md

    md = render_report_md(report)
    assert f"**stopped early** at step {ended['at_step']} of {ended['planned_steps']}" in md
    assert "peak 0.001" in md and "0.0," not in md


def test_the_reason_says_when_the_loss_was_still_falling() -> None:
    """f1 stuck at 1.0 while the validation loss keeps falling: the reason says so and what to do."""
    from types import SimpleNamespace

    from training.trainer import how_it_ended

    history = [
        {"step": 2, "eval_f1_macro": 1.0, "eval_loss": 0.40, "learning_rate": 4e-5},
        {"step": 4, "eval_f1_macro": 1.0, "eval_loss": 0.30, "learning_rate": 3e-5},
        {"step": 6, "eval_f1_macro": 1.0, "eval_loss": 0.20, "learning_rate": 2e-5},
    ]
    state = SimpleNamespace(log_history=history, global_step=6, max_steps=40, epoch=1.5)
    cfg = FinetuneConfig(dataset="d", workdir="w", early_stopping_patience=2, learning_rate=5e-5)
    ended = how_it_ended(cfg, state)
    assert ended["stopped_early"] and ended["best_step"] == 6 and ended["best"] == 1.0
    assert (
        "reached 1 at step 2" in ended["reason"]
        and "a tie keeps the later weights" in ended["reason"]
    )
    assert "still falling (0.4 → 0.2)" in ended["reason"] and "patience" in ended["reason"]
    assert ended["schedule"]["last_logged"] == 2e-5 and ended["schedule"]["warmup_steps"] == 2
    state.global_step = 40
    assert not how_it_ended(cfg, state)["stopped_early"]


def test_the_best_evaluations_weights_come_back_not_the_last_steps(
    tiny_albert: Path, tmp_path: Path
) -> None:
    """Kept in memory, not on disk: after training the model scores the best validation loss seen."""
    from training.pipeline import load_data
    from training.trainer import train

    # validation labels flipped: the better the model learns, the worse its validation loss, so
    # the best evaluation is an early one and the last step's weights are far from it
    data = make_dataset_dict()
    data["validation"] = data["validation"].map(lambda r: {"label": 1 - r["label"]})
    data.save_to_disk(str(tmp_path / "dataset"))
    cfg = _config(
        tiny_albert,
        tmp_path / "dataset",
        tmp_path,
        epochs=8,
        learning_rate=4e-3,
        metric_for_best="loss",
        frozen_encoder_baseline=False,
    )
    res = train(cfg, load_data(cfg).splits, ["clickbait", "factual"])
    losses = [e["eval_loss"] for e in res.log_history if "eval_loss" in e]
    assert losses[-1] > 2 * min(losses), losses  # else the test would show nothing
    assert res.trainer.evaluate()["eval_loss"] == pytest.approx(min(losses), rel=1e-3)
    assert not (tmp_path / "checkpoints").exists()
