"""The `finetune` flow: load data → train (or reuse) → evaluate → baselines → verdict → outputs (→ Hub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from flows.artifacts import (
    ProgressArtifact,
    publish_report,
    publish_tables,
    task_key,
    task_of,
)
from flows.plain import flow, run_logger, task
from flows.report import load_report, merge_report, render_report_md
from flows.rounds import round_tags
from generator.hub import push_folder
from training import pipeline as steps
from training.config import FinetuneConfig
from training.trainer import LogFn


@task(name="load-training-data", cache_policy=NO_CACHE)
def load_data_task(config: FinetuneConfig) -> steps.Data:
    """Splits, label names and real data."""
    return steps.load_data(config)


@task(name="train", cache_policy=NO_CACHE)
def train_task(config: FinetuneConfig, data: steps.Data) -> dict[str, Any]:
    """Finetune with progress in the logs and a progress artifact; reuse a finished model."""
    done = steps.finished_training(config)
    log = run_logger()
    if done is not None:
        log.info(
            "DIR/model holds a model trained on this dataset with these options (%s): reusing it.",
            done["base_model"],
        )
        return done
    log.info("Training: %s.", steps.retrain_reason(config))
    bar, on_log = training_progress(Path(config.workdir), log)
    info = steps.train_and_save(config, data, on_log=on_log)
    bar.update(1.0, force=True)
    return info


def training_progress(workdir: Path, log: Any) -> tuple[ProgressArtifact, LogFn]:
    """A progress artifact and the callback that moves it and logs each training log line."""
    bar = ProgressArtifact(task_key(task_of(workdir), "training-progress"), "Training steps done")

    def on_log(logs: dict[str, float], step: int, max_steps: int) -> None:
        bar.update(step / max(max_steps, 1))
        # 4 significant digits, not 4 decimals: a learning rate of 1e-05 must not read 0.0
        shown = {k: float(f"{v:.4g}") for k, v in logs.items() if isinstance(v, int | float)}
        log.info("step %d/%d %s", step, max_steps, shown)

    return bar, on_log


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_task(config: FinetuneConfig, data: steps.Data) -> tuple[Any, Any]:
    """Score the model on the synthetic test split and real data."""
    return steps.evaluate_model(config, data)


@task(name="baselines", cache_policy=NO_CACHE)
def baselines_task(config: FinetuneConfig, data: steps.Data) -> tuple[dict[str, Any], Any]:
    """Majority, TF-IDF + LR and frozen-encoder + LR on the same split (scores and fitted models)."""
    models = steps.fit_baselines(config, data)
    return steps.run_baselines(config, data, models), models


@task(name="final-real-test", cache_policy=NO_CACHE)
def final_evaluation_task(
    config: FinetuneConfig, data: steps.Data, baselines: dict[str, Any], models: dict[str, Any]
) -> Any:
    """Read the sealed real test part once: the reported real scores of the model and baselines."""
    return steps.final_evaluation(config, data, baselines, models)


@task(name="cost", cache_policy=NO_CACHE)
def cost_task(config: FinetuneConfig, data: steps.Data, info: dict[str, Any]) -> dict[str, Any]:
    """Throughput of generation, training and inference, and $ per million titles vs an API LLM."""
    from training.cost import cost_block, measure_inference

    texts = list(data.splits["test"]["text"]) + list(data.splits["validation"]["text"])
    speed = measure_inference(steps.predictor(config).predict_proba, texts)
    return cost_block(
        load_report(Path(config.workdir)).get("dataset"),
        info,
        speed,
        instance_usd_per_hour=config.instance_usd_per_hour,
        api_usd_per_million_tokens=config.api_usd_per_million_tokens,
        api_tokens_per_title=config.api_tokens_per_title,
    )


@task(name="export-onnx", cache_policy=NO_CACHE)
def export_task(config: FinetuneConfig) -> str | None:
    """The ONNX export beside the weights: `titleforge predict` then needs no torch (under a second)."""
    from training.export_onnx import export_onnx
    from training.fastpredict import is_fresh

    model = steps.model_dir(config)
    if not is_fresh(model, "onnx"):
        export_onnx(model)
    return str(model / "model.onnx")


@task(name="push-model", cache_policy=NO_CACHE)
def push_model_task(config: FinetuneConfig) -> str:
    """Push model, tokenizer and card (HF_TOKEN only; transient errors retried inside)."""
    return push_folder(
        steps.model_dir(config),
        config.hub_model or "",
        private=config.private,
        revision=config.hub_revision,
    )


@flow(name="titleforge-finetune")
def finetune(config: FinetuneConfig) -> dict[str, Any]:
    """Finetune an encoder on a labelled dataset and report honestly, including on real data."""
    workdir = Path(config.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with round_tags(task_of(workdir), workdir.name):
        return _finetune(config, workdir)


def _finetune(config: FinetuneConfig, workdir: Path) -> dict[str, Any]:
    """The finetune flow's steps."""
    from training.multilabel import is_multilabel_dataset

    if is_multilabel_dataset(config.dataset):  # label sets: BCE, thresholds, set metrics
        from flows.finetune_ml import finetune_multilabel

        return finetune_multilabel(config, workdir)
    log = run_logger()
    data = load_data_task(config)
    log.info(
        "Data: %s; labels %s; real data %s",
        {k: len(v) for k, v in data.splits.items()},
        data.label_names,
        data.real_parts.describe(data.label_names) if data.real_parts else "none",
    )
    info = train_task(config, data)
    synth, selection = evaluate_task(config, data)
    baselines, models = baselines_task(config, data)
    diversity = steps.measure_diversity(data, models, config.seed)
    real = final_evaluation_task(config, data, baselines, models)
    log.info(
        "Synthetic test accuracy %.3f; real selection %s; real test %s",
        synth.metrics["accuracy"],
        f"{selection.metrics['accuracy']:.3f}" if selection else "n/a",
        f"{real.metrics['accuracy']:.3f}" if real else "n/a",
    )
    report = steps.build_report(config, data, info, synth, real, baselines, selection)
    report["diversity"] = diversity
    report["cost"] = cost_task(config, data, info)
    report["plots"] = steps.write_outputs(config, data, info, report)
    if config.onnx:
        report["onnx"] = export_task(config)
    verdict = report["overfitting"]
    log.info("Verdict %s: %s", verdict["verdict"], "; ".join(verdict["reasons"]))
    # every result is on disk before the push: a failed push must not lose them
    full = push_unless_overfit(config, workdir, merge_report(workdir, report))
    publish_training_report(workdir, full, "Training and real-data report")
    publish_tables(task_of(workdir), full, ("per-label",))
    return full


def publish_training_report(workdir: Path, full: dict[str, Any], description: str) -> None:
    """The training report artifact, under the task's one stable key (every model kind)."""
    publish_report(
        task_key(task_of(workdir), "training-report"),
        render_report_md(full),
        description,
        images_from=workdir,
    )


def push_unless_overfit(
    config: FinetuneConfig, workdir: Path, full: dict[str, Any]
) -> dict[str, Any]:
    """Push the model (when asked) unless the verdict is overfit; the outcome goes in report.json."""
    log = run_logger()
    verdict = full["overfitting"]
    if config.hub_model:
        revision = config.hub_revision or "main"
        if verdict["verdict"] == "overfit":
            log.warning("Not pushing %s: the verdict is overfit.", config.hub_model)
            full = merge_report(workdir, {"hub": {"pushed": False, "reason": "verdict overfit"}})
        else:
            try:
                url = push_model_task(config)
            except Exception as exc:
                merge_report(
                    workdir, {"hub": {"pushed": False, "revision": revision, "error": str(exc)}}
                )
                raise
            full = merge_report(
                workdir, {"hub": {"pushed": True, "url": url, "revision": revision}}
            )
    return full
