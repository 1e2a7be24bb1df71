"""The multi-head steps as plain functions: each task's data, one training, a report per head.

Every head is judged exactly as a single-task model on its own data: synthetic test metrics,
baselines fit on its train split, the real selection part for choices and the sealed real test
part read once, and the overfitting verdict (`training.pipeline` does each step per task).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training import pipeline as steps
from training.evaluate import Scored, score
from training.metrics import compute_metrics
from training.multihead import MultiHeadPredictor
from training.multihead_config import MultiHeadConfig
from training.plots import confusion_png, loss_png
from training.reuse import stale_reason, training_identity
from training.trainer import LogFn

Datas = dict[str, steps.Data]


def load_all(config: MultiHeadConfig) -> Datas:
    """Each task's splits, label names and real data (aligned to that task's labels)."""
    return {t: steps.load_data(config.for_task(t)) for t in config.tasks}


def identity(config: MultiHeadConfig) -> dict[str, Any]:
    """Per task: the training options and the dataset's content hash (what reuse compares)."""
    return {t: training_identity(config.for_task(t)) for t in config.tasks}


def retrain_reason(config: MultiHeadConfig) -> str | None:
    """Why DIR/model must be (re)trained, or None when its finished model matches this config."""
    marker = steps.model_dir(config) / steps.DONE_MARKER
    info = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else None
    if info is None:
        return "no finished model in DIR/model"
    if info.get("kind") != "multihead" or info.get("tasks") != config.tasks:
        return f"DIR/model holds a model for other tasks ({info.get('tasks') or 'single-task'})"
    for task in config.tasks:
        reason = stale_reason(config.for_task(task), {"training": info["training"][task]})
        if reason:
            return f"{task}: {reason}"
    return None


def train_and_save(config: MultiHeadConfig, datas: Datas, on_log: LogFn | None = None) -> dict:
    """Train the encoder and heads, save them to DIR/model, write the finished-training marker."""
    from training.multihead_train import train_multihead

    out = steps.model_dir(config)
    model, tokenizer, fitted = train_multihead(
        config,
        {t: d.splits for t, d in datas.items()},
        {t: d.label_names for t, d in datas.items()},
        on_log=on_log,
    )
    model.save(out, tokenizer)
    info = {
        "kind": "multihead",
        "tasks": config.tasks,
        "base_model": config.base_model,
        "dataset": {t: config.for_task(t).dataset for t in config.tasks},
        "training": identity(config),
        **fitted,
        "head": "multihead",
        "n_train": {t: len(d.splits["train"]) for t, d in datas.items()},
    }
    (out / steps.DONE_MARKER).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def finished_training(config: MultiHeadConfig) -> dict[str, Any] | None:
    """The marker of a finished multi-head model matching this config, else None."""
    if retrain_reason(config) is not None:
        return None
    return json.loads((steps.model_dir(config) / steps.DONE_MARKER).read_text(encoding="utf-8"))


def predictor(config: MultiHeadConfig) -> MultiHeadPredictor:
    """The saved multi-head model, ready to score titles."""
    return MultiHeadPredictor(
        steps.model_dir(config), batch_size=config.eval_batch_size, max_length=config.max_length
    )


def evaluate_heads(
    config: MultiHeadConfig, datas: Datas
) -> dict[str, tuple[Scored, Scored | None]]:
    """Per head: its synthetic test split and its real selection part, scored by that head."""
    model = predictor(config)
    out = {}
    for task, data in datas.items():
        test = data.splits["test"]
        synth = score(model.predict_heads(test["text"])[task], test["label"], data.label_names)
        selection = None
        if data.real is not None:
            probs = model.predict_heads(data.real["text"])[task]
            selection = score(probs, data.real["label"], data.label_names)
        out[task] = (synth, selection)
    return out


def final_evaluation(
    config: MultiHeadConfig, task: str, data: steps.Data, baselines: dict, models: dict
) -> Scored | None:
    """Open one task's sealed real test part once: the head's and its baselines' reported scores."""
    if data.real_parts is None:
        return None
    test = data.real_parts.test.open(f"final evaluation ({task} head)")
    probs = predictor(config).predict_heads(test["text"])[task]
    for name, model in models.items():
        baselines[name]["real"] = compute_metrics(
            test["label"], model.predict(test["text"]), data.label_names
        )
    return score(probs, test["label"], data.label_names)


def head_report(
    config: MultiHeadConfig,
    task: str,
    data: steps.Data,
    info: dict[str, Any],
    scored: tuple[Scored, Scored | None],
) -> dict[str, Any]:
    """One head's report, with the keys a single-task report has (baselines on its data too)."""
    single = config.for_task(task)
    models = steps.fit_baselines(single, data)
    baselines = steps.run_baselines(single, data, models)
    real = final_evaluation(config, task, data, baselines, models)
    synth, selection = scored
    report = steps.build_report(single, data, info, synth, real, baselines, selection)
    report["training"] = None  # one training for every head: the top-level `training` block
    report["labels"] = data.label_names
    report["dataset_source"] = single.dataset
    return report


def write_outputs(config: MultiHeadConfig, info: dict[str, Any], heads: dict) -> list[str]:
    """Confusion matrices per head, the loss curves and the model card; returns plot file names."""
    from training.multihead_report import render_multihead_card

    work = Path(config.workdir)
    plots = []
    for task, rep in heads.items():
        for key, what in (("synthetic_test", "synthetic test split"), ("real", "real data")):
            if rep.get(key):
                name = f"confusion_{key.split('_')[0]}_{task}.png"
                path = confusion_png(
                    rep[key]["confusion_matrix"], rep["labels"], f"{task}: {what}", work / name
                )
                plots.append(path.name)
    plots.append(loss_png(info.get("log_history", []), work / "loss_curves.png").name)
    card = render_multihead_card(config, heads)
    (steps.model_dir(config) / "README.md").write_text(card, encoding="utf-8")
    return plots
