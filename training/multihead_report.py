"""report.md sections and the model card of a multi-head model: one section per head."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from training.report import _f, ended_md, md_escape, render_training_md


def render_heads_md(report: Mapping[str, Any]) -> str:
    """The training block once, then each head's section as a single-task report shows it ('' if none)."""
    heads = report.get("heads") or {}
    if not heads:
        return ""
    tr = report.get("training") or {}
    lines = [
        "## Multi-head model",
        "",
        f"One finetuned `{md_escape(tr.get('base_model'))}` encoder with a head per task "
        f"({', '.join(md_escape(t) for t in heads)}), {tr.get('epochs_run') or 0:.2f} epochs "
        f"({tr.get('samples_per_second') or 0:.1f} samples/s, {tr.get('train_runtime_s') or 0:.0f} s). "
        "Every head answers from the same forward pass.",
        "",
        *ended_md(tr.get("ended") or {}),
        "| head | synthetic test accuracy | real test accuracy | verdict |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {md_escape(task)} | {figures(rep)} |" for task, rep in heads.items()]
    for task, rep in heads.items():
        # each head's section is the single-task one, a heading level down
        body = render_training_md(rep).replace("\n## Model\n", "\n", 1).removeprefix("## Model\n")
        body = "\n".join("#" + ln if ln.startswith("#") else ln for ln in body.splitlines())
        lines += ["", f"## Head `{md_escape(task)}`", body]
    return "\n".join(lines) + "\n"


def figures(rep: Mapping[str, Any]) -> str:
    """Table cells of one head: synthetic test accuracy, real test accuracy, verdict."""
    real = rep.get("real") or {}
    verdict = (rep.get("overfitting") or {}).get("verdict", "")
    return (
        f"{_f(rep['synthetic_test'].get('accuracy'))} | {_f(real.get('accuracy'))} "
        f"| {md_escape(verdict)}"
    )


def render_multihead_card(config: Any, heads: Mapping[str, Mapping[str, Any]]) -> str:
    """README.md of a multi-head model folder: what it is, how to call it, results per head."""
    from training.card import hub_id_of

    base = hub_id_of(config.base_model)
    meta = [
        "---",
        f"license: {config.license}",
        *([f"base_model: {base}"] if base else []),
        "tags: [titleforge, text-classification, multi-head]",
        "---",
    ]
    lines = [
        *meta,
        "",
        "# titleforge multi-head classifier",
        "",
        f"One encoder (`{md_escape(base or config.base_model)}`) with a classification head per "
        "task, trained on synthetic, LLM-written titles. One forward pass gives every head's label: "
        f'`titleforge predict --model {md_escape(config.hub_model or "DIR/model")} "a title"`.',
        "The folder holds the encoder (safetensors), `heads.safetensors` and `multihead.json` "
        "(tasks and label names); `transformers.pipeline` does not know this kind.",
        "",
        "| head | labels | dataset | synthetic test accuracy | real test accuracy | verdict |",
        "|---|---|---|---:|---:|---|",
    ]
    lines += [
        f"| {md_escape(task)} | {', '.join(md_escape(x) for x in rep['labels'])} "
        f"| {md_escape(rep.get('dataset_source'))} | {figures(rep)} |"
        for task, rep in heads.items()
    ]
    return "\n".join(lines) + "\n"
