"""A finished model is reused only for the same dataset content and training options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fakes.tiny import make_dataset_dict
from training import pipeline as steps
from training.config import FinetuneConfig
from training.device import choose_precision, detect
from training.reuse import HEAD_ONLY_KEYS, TRAINING_KEYS, training_identity


def _config(tiny_albert: Path, dataset: Path, workdir: Path, **kw: object) -> FinetuneConfig:
    """A fast config for the tiny model."""
    base = {
        "dataset": str(dataset),
        "workdir": str(workdir),
        "base_model": str(tiny_albert),
        "epochs": 1,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "early_stopping_patience": 0,
    }
    return FinetuneConfig(**(base | kw))  # type: ignore[arg-type]


def _train_or_reuse(cfg: FinetuneConfig) -> int:
    """The flow's decision, then the weights' mtime (changes only when training ran)."""
    if steps.finished_training(cfg) is None:
        steps.train_and_save(cfg, steps.load_data(cfg))
    return (Path(cfg.workdir) / "model" / "model.safetensors").stat().st_mtime_ns


# One changed value per weight-shaping option (each differs from the defaults used above).
CHANGES: dict[str, object] = {
    "base_model": "other-base",
    "text_column": "title",
    "label_column": "y",
    "epochs": 2.0,
    "batch_size": 8,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "max_length": 32,
    "seed": 1,
    "metric_for_best": "accuracy",
    "early_stopping_patience": 3,
    "evals_per_epoch": 3,
    "freeze_embeddings": False,
    "frozen_layers": 0,
    "dropout": False,
    "length_grouped_batches": True,
    "head": "logistic",
    # whichever arithmetic `auto` does not resolve to on this machine (bf16 on native-bf16 CPUs)
    "precision": "fp32" if choose_precision("auto", detect()) != "fp32" else "bf16",
}


def test_every_training_option_is_in_the_table() -> None:
    """The table below covers each option the reuse check compares."""
    # head-only options (setfit_pairs) leave a finetuned model alone: test_setfit_head.py
    assert set(CHANGES) == set(TRAINING_KEYS) - set(HEAD_ONLY_KEYS)


@pytest.mark.parametrize("option", sorted(CHANGES))
def test_changed_training_option_means_retrain_naming_it(
    tiny_albert: Path, toy_dataset_dir: Path, tmp_path: Path, option: str
) -> None:
    """Train once; the same config reuses the model, one changed option is named as the reason."""
    cfg = _config(tiny_albert, toy_dataset_dir, tmp_path / "run")
    model_dir = tmp_path / "run" / "model"
    model_dir.mkdir(parents=True)
    # A finished model's marker as train_and_save writes it, without paying for 13 trainings.
    marker = {"base_model": cfg.base_model, "training": training_identity(cfg)}
    (model_dir / steps.DONE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
    assert steps.retrain_reason(cfg) is None and steps.finished_training(cfg) is not None
    reason = steps.retrain_reason(cfg.model_copy(update={option: CHANGES[option]}))
    assert reason is not None and f"{option} " in reason


def test_retrains_for_new_options_and_new_dataset_content_reuses_otherwise(
    tiny_albert: Path, toy_dataset_dir: Path, tmp_path: Path
) -> None:
    """Real training: a rerun reuses; new epochs retrain; a re-split dataset (same path) retrains."""
    cfg = _config(tiny_albert, toy_dataset_dir, tmp_path / "run")
    first = _train_or_reuse(cfg)
    assert _train_or_reuse(cfg) == first
    cfg2 = cfg.model_copy(update={"epochs": 2.0})
    second = _train_or_reuse(cfg2)
    assert second != first
    assert _train_or_reuse(cfg2) == second
    # Same path, other rows: a stale model must never be reported against a new split.
    shutil.rmtree(toy_dataset_dir)
    make_dataset_dict(seed=3).save_to_disk(str(toy_dataset_dir))
    assert "dataset_hash" in (steps.retrain_reason(cfg2) or "")
    assert _train_or_reuse(cfg2) != second
