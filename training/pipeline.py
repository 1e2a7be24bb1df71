"""The finetune steps as plain functions: data in, train (or reuse), evaluate, baselines, verdict, outputs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from training.baselines import FastTextBaseline, FrozenEncoderLogReg, Majority, TfidfLogReg
from training.card import render_model_card, saved_report
from training.config import FinetuneConfig
from training.data import align_labels, load_labelled, load_splits
from training.diversity import diversity
from training.evaluate import Scored, error_analysis, score
from training.feedback import derive_guidance
from training.metrics import compute_metrics
from training.plots import confusion_png, loss_png
from training.predict import BatchPredictor, open_model
from training.realsplit import RealParts, split_real
from training.reuse import stale_reason, training_identity
from training.trainer import LogFn, train
from training.verdict import overfitting_verdict

DONE_MARKER = "training_complete.json"


@dataclass
class Data:
    """The splits to train on, their label names and the real data in its two parts."""

    splits: DatasetDict
    label_names: list[str]
    real_parts: RealParts | None
    multi_label: bool = False  # `labels` are float multi-hot rows (training.multilabel)

    @property
    def real(self) -> Dataset | None:
        """The real selection part: every choice uses it (the test part stays sealed)."""
        return self.real_parts.selection if self.real_parts else None


def load_data(config: FinetuneConfig) -> Data:
    """Load the dataset's splits and, if given, real data aligned to its labels."""
    splits = load_splits(
        config.dataset, text_column=config.text_column, label_column=config.label_column
    )
    names = list(splits["train"].features["label"].names)
    real = None
    if config.real_data:
        raw = load_labelled(
            config.real_data,
            text_column=config.real_text_column,
            label_column=config.real_label_column,
            label_map=config.real_label_map,
        )
        real = split_real(
            align_labels(raw, names, config.real_data),
            selection_fraction=config.real_selection_fraction,
            seed=config.seed,
        )
    return Data(splits, names, real)


def model_dir(config: FinetuneConfig) -> Path:
    """DIR/model."""
    return Path(config.workdir) / "model"


def retrain_reason(config: FinetuneConfig) -> str | None:
    """Why DIR/model must be (re)trained, or None when its finished model matches this config."""
    marker = model_dir(config) / DONE_MARKER
    info = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else None
    return stale_reason(config, info)


def finished_training(config: FinetuneConfig) -> dict[str, Any] | None:
    """The marker of a finished model trained on this dataset with these options, else None."""
    if retrain_reason(config) is not None:
        return None
    return json.loads((model_dir(config) / DONE_MARKER).read_text(encoding="utf-8"))


def train_and_save(
    config: FinetuneConfig, data: Data, on_log: LogFn | None = None
) -> dict[str, Any]:
    """Finetune (or fit a frozen-encoder head), save to DIR/model (safetensors), write the marker."""
    out = model_dir(config)
    train_split = data.splits["train"]
    if config.head == "logistic":
        from training.heads import fit_and_save

        fitted = fit_and_save(
            config.base_model,
            train_split["text"],
            train_split["label"],
            data.label_names,
            out,
            seed=config.seed,
            max_length=config.max_length,
        )
        fitted["log_history"] = []
    else:
        result = train(
            config, data.splits, data.label_names, on_log=on_log, multi_label=data.multi_label
        )
        result.trainer.save_model(str(out))
        result.tokenizer.save_pretrained(str(out))
        # Trainer pickles its arguments; a model folder should hold no pickles (safetensors only)
        (out / "training_args.bin").unlink(missing_ok=True)
        fitted = {
            "log_history": result.log_history,
            "train_runtime_s": round(result.train_runtime_s, 2),
            "samples_per_second": round(result.samples_per_second, 2),
            "best_metric": result.best_metric,
            "epochs_run": result.epochs_run,
            "ended": result.ended,
        }
    info = {
        "base_model": config.base_model,
        "dataset": config.dataset,
        "training": training_identity(config),
        **fitted,
        "n_train": len(train_split),
    }
    (out / DONE_MARKER).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def evaluate_model(config: FinetuneConfig, data: Data) -> tuple[Scored, Scored | None]:
    """Score the saved model on the synthetic test split and the real selection part."""
    model = predictor(config)
    test = data.splits["test"]
    synth = score(model.predict_proba(test["text"]), test["label"], data.label_names)
    selection = None
    if data.real is not None:
        selection = score(
            model.predict_proba(data.real["text"]), data.real["label"], data.label_names
        )
    return synth, selection


def predictor(config: FinetuneConfig) -> BatchPredictor:
    """The saved model (finetuned, or encoder + head), ready to score titles."""
    return open_model(
        model_dir(config), batch_size=config.eval_batch_size, max_length=config.max_length
    )


def fit_baselines(config: FinetuneConfig, data: Data) -> dict[str, Any]:
    """Baseline models fit on the synthetic train split."""
    train_split = data.splits["train"]
    models: dict[str, Any] = {
        "majority": Majority(),
        "tfidf_logreg": TfidfLogReg(seed=config.seed),
        "fasttext": FastTextBaseline(seed=config.seed),
    }
    if config.frozen_encoder_baseline:
        models["frozen_encoder_logreg"] = FrozenEncoderLogReg(
            config.base_model, seed=config.seed, max_length=config.max_length
        )
    for model in models.values():
        t0 = time.perf_counter()
        model.fit(train_split["text"], train_split["label"])
        model.train_s = time.perf_counter() - t0  # reported next to its scores
    return models


def run_baselines(config: FinetuneConfig, data: Data, models: dict[str, Any]) -> dict[str, Any]:
    """Fitted baselines scored on the synthetic test split and the real selection part."""
    test = data.splits["test"]
    out: dict[str, Any] = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        preds = model.predict(test["text"])
        seconds = time.perf_counter() - t0
        entry = {
            "synthetic_test": compute_metrics(test["label"], preds, data.label_names),
            "train_s": round(getattr(model, "train_s", 0.0), 3),
            "titles_per_s": round(len(preds) / seconds, 1) if seconds > 0 else None,
        }
        if data.real is not None:
            entry["real_selection"] = compute_metrics(
                data.real["label"], model.predict(data.real["text"]), data.label_names
            )
        out[name] = entry
    return out


def measure_diversity(data: Data, models: dict[str, Any], seed: int) -> dict[str, Any]:
    """Distinct-n and embedding dispersion of the synthetic train split next to the real selection."""
    sets = {"synthetic": data.splits["train"]["text"]}
    if data.real is not None:
        sets["real_selection"] = data.real["text"]
    frozen = models.get("frozen_encoder_logreg")
    return diversity(sets, embed=frozen.embed if frozen else None, seed=seed)


def final_evaluation(
    config: FinetuneConfig, data: Data, baselines: dict[str, Any], models: dict[str, Any]
) -> Scored | None:
    """Open the sealed real test part, once: the model's and every baseline's reported score."""
    if data.real_parts is None:
        return None
    test = data.real_parts.test.open("final evaluation")
    real = score(predictor(config).predict_proba(test["text"]), test["label"], data.label_names)
    for name, model in models.items():
        baselines[name]["real"] = compute_metrics(
            test["label"], model.predict(test["text"]), data.label_names
        )
    return real


def training_summary(info: dict[str, Any]) -> dict[str, Any]:
    """report.json `training`: how the saved model was trained (from its marker)."""
    keys = ("base_model", "dataset", "train_runtime_s", "samples_per_second", "best_metric")
    return {k: info.get(k) for k in (*keys, "epochs_run", "ended", "n_train", "head")}


def build_report(
    config: FinetuneConfig,
    data: Data,
    info: dict[str, Any],
    synth: Scored,
    real: Scored | None,
    baselines: dict[str, Any],
    selection: Scored | None = None,
) -> dict[str, Any]:
    """Report keys: synthetic_test, real (test part), real_selection, real_split, baselines, verdict."""
    tfidf_real = (baselines.get("tfidf_logreg", {}).get("real") or {}).get("accuracy")
    report: dict[str, Any] = {
        "synthetic_test": synth.metrics,
        "real": {**real.metrics, "part": "test", "n": len(real.preds)} if real else None,
        "real_selection": (
            {**selection.metrics, "part": "selection", "n": len(selection.preds)}
            if selection
            else None
        ),
        "real_split": data.real_parts.describe(data.label_names) if data.real_parts else None,
        "baselines": baselines,
        "overfitting": overfitting_verdict(
            synth.metrics,
            real.metrics if real else None,
            log_history=info.get("log_history", []),
            tfidf_real_accuracy=tfidf_real,
            real_support=(
                data.real_parts.describe(data.label_names)["test"]["per_label"]
                if data.real_parts and real
                else None
            ),
        ),
        "training": training_summary(info),
    }
    if selection is not None and data.real is not None:
        # mistakes are shown (and fed back) from the selection part only: the test part stays unseen
        report["error_analysis"] = error_analysis(
            data.real["text"], data.real["label"], selection, data.label_names
        )
        train_split = data.splits["train"]
        report["feedback"] = derive_guidance(
            data.real["text"],
            data.real["label"],
            [int(p) for p in selection.preds],
            data.label_names,
            train_split["text"],
            train_split["label"],
        )
    return report


def write_outputs(
    config: FinetuneConfig, data: Data, info: dict[str, Any], report: dict[str, Any]
) -> list[str]:
    """Confusion matrices, loss curves and the model card; returns the plot file names."""
    work = Path(config.workdir)
    plots = []
    if "confusion_matrix" in report["synthetic_test"]:  # none for multi-label models
        plots.append(
            confusion_png(
                report["synthetic_test"]["confusion_matrix"],
                data.label_names,
                "synthetic test split",
                work / "confusion_synthetic.png",
            ).name
        )
    if "confusion_matrix" in (report.get("real") or {}):
        plots.append(
            confusion_png(
                report["real"]["confusion_matrix"],
                data.label_names,
                "real data",
                work / "confusion_real.png",
            ).name
        )
    plots.append(loss_png(info.get("log_history", []), work / "loss_curves.png").name)
    saved = saved_report(work)
    card = render_model_card(
        name=f"titleforge-{Path(config.dataset).parent.name or 'model'}",
        base_model=config.base_model,
        dataset=config.dataset,
        dataset_repo=config.dataset_repo,
        dataset_revision=config.dataset_revision,
        labels=data.label_names,
        report=report,
        repo_or_path=config.hub_model or str(model_dir(config)),
        real_data=config.real_data,
        license=config.license,
        generator=(saved.get("dataset") or {}).get("generator"),
        round_info=saved.get("round"),
    )
    (model_dir(config) / "README.md").write_text(card, encoding="utf-8")
    return plots
