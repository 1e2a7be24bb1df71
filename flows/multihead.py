"""The multi-head flow (`titleforge train --tasks a,b`): one encoder, a head per task, a report per head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from flows.artifacts import task_of
from flows.finetune import publish_training_report, training_progress
from flows.plain import flow, run_logger, task
from flows.report import merge_report
from flows.rounds import round_tags
from training import multihead_pipeline as steps
from training.multihead_config import MultiHeadConfig


@task(name="load-training-data", cache_policy=NO_CACHE)
def load_data_task(config: MultiHeadConfig) -> steps.Datas:
    """Each task's splits, labels and real data."""
    return steps.load_all(config)


@task(name="train-multihead", cache_policy=NO_CACHE)
def train_task(config: MultiHeadConfig, datas: steps.Datas) -> dict[str, Any]:
    """Train the shared encoder and heads, with progress in the logs; reuse a finished model."""
    log = run_logger()
    done = steps.finished_training(config)
    if done is not None:
        log.info("DIR/model holds a multi-head model trained on these datasets: reusing it.")
        return done
    log.info("Training: %s.", steps.retrain_reason(config))
    bar, on_log = training_progress(Path(config.workdir), log)
    info = steps.train_and_save(config, datas, on_log=on_log)
    bar.update(1.0, force=True)
    return info


@task(name="evaluate-heads", cache_policy=NO_CACHE)
def evaluate_task(config: MultiHeadConfig, datas: steps.Datas, info: dict[str, Any]) -> dict:
    """Every head scored, baselined and judged on its own task's data, as a single-task model is."""
    scored = steps.evaluate_heads(config, datas)
    return {t: steps.head_report(config, t, datas[t], info, scored[t]) for t in config.tasks}


@task(name="export-onnx", cache_policy=NO_CACHE)
def export_task(config: MultiHeadConfig) -> str:
    """One ONNX graph with an output per head, so `titleforge predict` needs no torch."""
    from training.export_onnx import export_onnx
    from training.fastpredict import is_fresh

    model = Path(config.workdir) / "model"
    if not is_fresh(model, "onnx"):
        export_onnx(model)
    return str(model / "model.onnx")


@flow(name="titleforge-multihead")
def multihead(config: MultiHeadConfig) -> dict[str, Any]:
    """Train one encoder with a head per task and report on every head, real data included."""
    workdir = Path(config.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with round_tags(task_of(workdir), workdir.name):
        log = run_logger()
        datas = load_data_task(config)
        log.info("Data per task: %s", {t: len(d.splits["train"]) for t, d in datas.items()})
        info = train_task(config, datas)
        heads = evaluate_task(config, datas, info)
        training = {k: info.get(k) for k in ("base_model", "dataset", "tasks", "n_train")}
        keys = ("train_runtime_s", "samples_per_second", "best_metric", "epochs_run", "ended")
        report: dict[str, Any] = {
            "kind": "multihead",
            "training": training | {k: info.get(k) for k in keys} | {"head": "multihead"},
            "heads": heads,
        }
        report["plots"] = steps.write_outputs(config, info, heads)
        if config.onnx:
            report["onnx"] = export_task(config)
        for t, rep in heads.items():
            log.info(
                "%s head: synthetic test accuracy %.3f, verdict %s",
                t,
                rep["synthetic_test"]["accuracy"],
                rep["overfitting"]["verdict"],
            )
        full = merge_report(workdir, report)
        publish_training_report(workdir, full, "Multi-head training and real-data report")
        return full


def print_heads(texts: list[str], preds: list[dict[str, tuple[str, float]]], as_json: bool) -> None:
    """`titleforge predict` output of a multi-head model: every head's label and score per title."""
    from flows.cli_model import printable

    for text, heads in zip(texts, preds, strict=True):
        if as_json:
            labels = {t: {"label": lb, "score": round(s, 4)} for t, (lb, s) in heads.items()}
            print(json.dumps({"text": text, "labels": labels}))
        else:
            cells = [f"{t}={lb}\t{s:.4f}" for t, (lb, s) in heads.items()]
            print("\t".join([*cells, printable(text)]))
