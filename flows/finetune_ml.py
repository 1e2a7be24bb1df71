"""The finetune flow's steps for a multi-label dataset: BCE training, thresholds, set metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from flows.plain import run_logger, task
from flows.report import merge_report
from training import multilabel as ml
from training import pipeline as steps
from training.config import FinetuneConfig
from training.errors import DataError


@task(name="train-multi-label", cache_policy=NO_CACHE)
def train_ml_task(config: FinetuneConfig, data: steps.Data) -> dict[str, Any]:
    """Finetune with BCE on label sets (or reuse the finished model), then tune the thresholds."""
    log = run_logger()
    info = steps.finished_training(config)
    if info is None:
        log.info("Training (multi-label, BCE): %s.", steps.retrain_reason(config))
        info = steps.train_and_save(config, data)
    else:
        log.info("DIR/model holds a model trained on this dataset with these options: reusing it.")
    return info


@task(name="tune-thresholds", cache_policy=NO_CACHE)
def tune_task(config: FinetuneConfig, data: steps.Data) -> dict[str, Any]:
    """One threshold per label, the F1-best on the validation split; saved with the model."""
    return ml.tune_and_save(config, data)


def finetune_multilabel(config: FinetuneConfig, workdir: Path) -> dict[str, Any]:
    """Load label sets → train (BCE) → tune thresholds → score → report → ONNX export."""
    log = run_logger()
    if config.head != "finetune":
        raise DataError(
            f"{config.dataset} is multi-label: only --head finetune trains on label sets; "
            f"drop --head {config.head}."
        )
    data, real = ml.load_data(config)
    log.info(
        "Multi-label data: %s; labels %s; real %s",
        {k: len(v) for k, v in data.splits.items()},
        data.label_names,
        {k: len(v) for k, v in real.items()} or "none",
    )
    info = train_ml_task(config, data)
    tuning = tune_task(config, data)
    log.info("Thresholds tuned on validation: %s", tuning["thresholds"])
    report = ml.build_report(config, data, info, tuning, real)
    synth = report["synthetic_test"]
    log.info(
        "Synthetic test: micro F1 %.3f, macro F1 %.3f, exact match %.3f",
        synth["f1_micro"],
        synth["f1_macro"],
        synth["exact_match"],
    )
    # loss curves and the model card (no confusion matrix: a title has several labels)
    report["plots"] = steps.write_outputs(config, data, info, report)
    from flows.finetune import export_task, publish_training_report, push_unless_overfit

    if config.onnx:
        report["onnx"] = export_task(config)
    full = push_unless_overfit(config, workdir, merge_report(workdir, report))
    publish_training_report(workdir, full, "Multi-label training report")
    return full
