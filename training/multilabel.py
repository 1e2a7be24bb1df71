"""Multi-label finetuning steps: label-set data, threshold tuning on validation, scores, report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_from_disk
from datasets import Sequence as Sequence_

from training.config import FinetuneConfig
from training.data import SPLITS, read_table
from training.errors import DataError
from training.metrics_multilabel import multilabel_metrics
from training.pipeline import Data, model_dir, predictor, training_summary
from training.thresholds import GRID, save_thresholds, tune_thresholds
from training.verdict import overfitting_verdict

_SEPARATORS = re.compile(r"\s*[|;]\s*")


def set_names(ds: Dataset, column: str = "labels") -> list[str] | None:
    """The label names of a `labels: Sequence(ClassLabel)` column, or None (single-label data)."""
    feat = ds.features.get(column)
    inner = getattr(feat, "feature", None)
    return list(inner.names) if isinstance(inner, ClassLabel) else None


def is_multilabel_dataset(source: str) -> bool:
    """A saved DatasetDict whose train split has a `labels` list of ClassLabels."""
    path = Path(source)
    if not (path / "dataset_dict.json").exists():
        return False
    return set_names(load_from_disk(str(path))["train"]) is not None


def _multi_hot(ds: Dataset, n_labels: int) -> Dataset:
    """`text` and float multi-hot `labels` (what BCE training and the metrics read)."""
    rows = np.zeros((len(ds), n_labels), dtype=np.float32)
    for i, ids in enumerate(ds["labels"]):
        rows[i, list(ids)] = 1.0
    features = Features({"text": Value("string"), "labels": Sequence_(Value("float32"))})
    return Dataset.from_dict({"text": ds["text"], "labels": rows.tolist()}, features=features)


def load_real_sets(
    source: str, names: Sequence[str], text_column: str, label_column: str
) -> Dataset:
    """A real multi-label file: label sets as names joined by `|` or `;` (e.g. 'Politics|Economy')."""
    df = read_table(Path(source))
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} not found; columns present: {list(df.columns)}. "
            "Pass --real-text-column/--real-label-column."
        )
    index = {n.casefold(): i for i, n in enumerate(names)}
    rows = []
    for raw in df[label_column].astype(str):
        parts = [p for p in _SEPARATORS.split(raw.strip()) if p]
        unknown = [p for p in parts if p.casefold() not in index]
        if unknown or not parts:
            raise DataError(
                f"{source}: label set {raw!r} names {unknown or 'no label'}; known labels are "
                f"{list(names)}, joined by '|' or ';'. Fix the data."
            )
        rows.append(sorted({index[p.casefold()] for p in parts}))
    features = Features(
        {"text": Value("string"), "labels": Sequence_(ClassLabel(names=list(names)))}
    )
    data = {"text": df[text_column].astype(str).tolist(), "labels": rows}
    return _multi_hot(Dataset.from_dict(data, features=features), len(names))


def split_real_sets(real: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Selection and test parts of real label-set data, iteratively stratified (seeded)."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    y = np.asarray(real["labels"]) >= 0.5
    cut = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=1 - fraction, random_state=seed)
    sel, test = next(cut.split(np.zeros(len(real)), y))
    return real.select(sorted(sel)), real.select(sorted(test))


def load_data(config: FinetuneConfig) -> tuple[Data, dict[str, Dataset]]:
    """Multi-hot splits to train on, and the real data's selection/test parts (if given)."""
    dd = load_from_disk(config.dataset)
    missing = [s for s in SPLITS if s not in dd]
    if missing:
        raise DataError(f"{config.dataset} lacks split(s) {missing}; it has {list(dd)}.")
    names = set_names(dd["train"]) or []
    splits = DatasetDict({s: _multi_hot(dd[s], len(names)) for s in SPLITS})
    real: dict[str, Dataset] = {}
    if config.real_data:
        full = load_real_sets(
            config.real_data, names, config.real_text_column, config.real_label_column
        )
        real["selection"], real["test"] = split_real_sets(
            full, config.real_selection_fraction, config.seed
        )
    return Data(splits, names, None, multi_label=True), real


def _gold(ds: Dataset) -> np.ndarray:
    """0/1 matrix of a multi-hot split."""
    return (np.asarray(ds["labels"], dtype=np.float32) >= 0.5).astype(int)


def tune_and_save(config: FinetuneConfig, data: Data) -> dict[str, Any]:
    """Thresholds that maximise each label's F1 on the validation split, saved in DIR/model."""
    val = data.splits["validation"]
    probs = predictor(config).predict_proba(val["text"])
    thresholds, f1 = tune_thresholds(probs, _gold(val))
    save_thresholds(
        model_dir(config),
        data.label_names,
        thresholds,
        tuned_on="validation",
        criterion="per-label F1 (ties: the threshold nearest 0.5)",
        grid=list(GRID),
        validation_f1=dict(zip(data.label_names, f1, strict=True)),
    )
    at_half = multilabel_metrics(_gold(val), probs >= 0.5, data.label_names)
    tuned = multilabel_metrics(_gold(val), probs >= thresholds, data.label_names)
    return {
        "thresholds": dict(zip(data.label_names, thresholds.tolist(), strict=True)),
        "tuned_on": "validation",
        "grid": list(GRID),
        "validation": {
            "f1_macro_at_0.5": at_half["f1_macro"],
            "f1_macro_tuned": tuned["f1_macro"],
            "f1_micro_at_0.5": at_half["f1_micro"],
            "f1_micro_tuned": tuned["f1_micro"],
        },
    }


def score_sets(config: FinetuneConfig, ds: Dataset, names: Sequence[str]) -> dict[str, Any]:
    """Multi-label metrics of the saved model (with its tuned thresholds) on one split."""
    model = predictor(config)
    probs = model.predict_proba(ds["text"])
    return multilabel_metrics(_gold(ds), probs >= model.thresholds, names)


def build_report(
    config: FinetuneConfig,
    data: Data,
    info: dict[str, Any],
    tuning: dict[str, Any],
    real: dict[str, Dataset],
) -> dict[str, Any]:
    """report.json keys of a multi-label model: synthetic_test, real, real_selection, multi_label."""
    names = data.label_names
    synth = score_sets(config, data.splits["test"], names)
    for name, t in tuning["thresholds"].items():
        synth["per_label"][name]["threshold"] = t
    real_test = score_sets(config, real["test"], names) if real else None
    selection = score_sets(config, real["selection"], names) if real else None
    support = real_test["per_label"] if real_test else None
    return {
        "synthetic_test": synth,
        "real": {**real_test, "part": "test"} if real_test else None,
        "real_selection": {**selection, "part": "selection"} if selection else None,
        "multi_label": tuning,
        "overfitting": overfitting_verdict(
            synth,
            real_test,
            log_history=info.get("log_history", []),
            real_support={k: v["support"] for k, v in support.items()} if support else None,
        ),
        "training": training_summary(info),
    }
