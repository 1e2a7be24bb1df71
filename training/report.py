"""The training half of report.md: per-label tables, baselines and the verdict."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any


def md_escape(value: Any) -> str:
    """Text from the LLM, a user's file or a task spec, safe in markdown and the Prefect UI.

    HTML is escaped (no tag renders, no script runs), and table pipes, backticks and line
    breaks cannot break the table a title sits in. Only named entities and backslash escapes:
    the Prefect UI shows numeric entities (&#x27;) literally (checked in a browser).
    """
    text = html.escape(" ".join(str(value).split()), quote=False)
    return text.replace("|", "\\|").replace("`", "\\`")


def _f(x: float | None) -> str:
    """A metric for a table cell."""
    return "–" if x is None else f"{x:.3f}"


def lr(x: float | None) -> str:
    """A learning rate for people: 5e-05, not 0.0."""
    return "–" if x is None else f"{x:.4g}"


def ended_md(ended: Mapping[str, Any]) -> list[str]:
    """Report lines: the learning-rate schedule, and when and why training stopped."""
    if not ended:
        return []
    sch = ended.get("schedule") or {}
    lines = [
        f"- learning rate: {sch.get('kind', '?')}, peak {lr(sch.get('peak'))}, "
        f"{sch.get('warmup_steps', 0)} warm-up steps of {sch.get('total_steps', 0)}; "
        f"last logged {lr(sch.get('last_logged'))}",
    ]
    if ended.get("stopped_early"):
        lines.append(
            f"- **stopped early** at step {ended['at_step']} of {ended['planned_steps']} "
            f"(epoch {ended.get('at_epoch')}): {ended.get('reason', '')}; the step-"
            f"{ended.get('best_step')} weights were kept"
        )
    else:
        kept = f"; the step-{ended['best_step']} weights were kept" if "best_step" in ended else ""
        lines.append(f"- ran all {ended.get('planned_steps')} planned steps (no early stop){kept}")
    if fixed := ended.get("fixed"):
        lines.append(f"- {fixed_md(fixed)}")
    if arithmetic := ended.get("arithmetic"):
        lines.append(f"- trained on {arithmetic} (weights kept in fp32)")
    return [*lines, ""]


def fixed_md(fixed: Mapping[str, Any]) -> str:
    """What stayed fixed while training, in words."""
    parts = []
    if fixed.get("embeddings"):
        parts.append("the embeddings")
    if fixed.get("layers"):
        parts.append(f"the bottom {fixed['layers']} of {fixed.get('of_layers')} encoder layers")
    kept = " and ".join(parts) if parts else "nothing"
    return f"kept fixed: {kept}; dropout {'on' if fixed.get('dropout') else 'off'}"


def render_training_md(report: Mapping[str, Any]) -> str:
    """Markdown for synthetic vs real metrics, baselines, verdict and error analysis ('' before training)."""
    synth = report.get("synthetic_test")
    if not synth:
        return ""
    real = report.get("real") or {}
    lines = ["## Model", ""]
    tr = report.get("training") or {}
    if tr.get("head") == "logistic":
        lines.append(
            f"Logistic regression on frozen, mean-pooled `{tr.get('base_model')}` embeddings "
            f"({tr.get('samples_per_second') or 0:.1f} samples/s, {tr.get('train_runtime_s') or 0:.1f} s)."
        )
    elif tr.get("head") == "setfit":
        st = tr.get("setfit") or {}
        lines.append(
            f"SetFit: `{tr.get('base_model')}` contrastively finetuned on {st.get('pairs')} title "
            f"pairs (seed {st.get('seed')}), then logistic regression on its mean-pooled "
            f"embeddings ({tr.get('train_runtime_s') or 0:.1f} s)."
        )
    elif tr:
        lines.append(
            f"Finetuned `{tr.get('base_model')}` for {tr.get('epochs_run') or 0:.2f} epochs "
            f"({tr.get('samples_per_second') or 0:.1f} samples/s, {tr.get('train_runtime_s') or 0:.0f} s)."
        )
        lines += ["", *ended_md(tr.get("ended") or {})]
    sel = report.get("real_selection") or {}
    lines += [
        "Real data is split once: the *selection* part drives every choice (feedback, "
        "promotion), the sealed *test* part is read once for the numbers and the verdict.",
        "",
        f"| | synthetic test | real selection (n={sel.get('n', 0)}) | real test (n={real.get('n', 0)}) |",
        "|---|---:|---:|---:|",
    ]
    for key in ("accuracy", "precision", "recall", "f1", "f1_macro"):
        lines.append(f"| {key} | {_f(synth.get(key))} | {_f(sel.get(key))} | {_f(real.get(key))} |")
    ci = (report.get("overfitting") or {}).get("real_accuracy_ci95")
    if ci:
        lines.append(f"\nReal test accuracy, 95% Wilson interval: {ci[0]:.3f}-{ci[1]:.3f}.")
    # multi-label reports have their own per-label table (training.report_multilabel)
    per_label = {} if synth.get("multi_label") else synth["per_label_accuracy"]
    lines += (
        [
            "",
            "### Per label",
            "",
            "| label | synthetic accuracy | real test accuracy | real test precision | real test F1 |",
            "|---|---:|---:|---:|---:|",
        ]
        if per_label
        else []
    )
    for label, acc in per_label.items():
        rl = (real.get("per_label") or {}).get(label, {})
        lines.append(
            f"| {label} | {_f(acc)} | {_f(real.get('per_label_accuracy', {}).get(label))} | {_f(rl.get('precision'))} | {_f(rl.get('f1'))} |"
        )
    base = report.get("baselines") or {}
    if base:
        lines += [
            "",
            "### Baselines (same synthetic train split)",
            "",
            "| model | synthetic test accuracy | real accuracy | train s | titles/s |",
            "|---|---:|---:|---:|---:|",
        ]
        lines.append(
            f"| **finetuned** | {_f(synth.get('accuracy'))} | {_f(real.get('accuracy'))} | | |"
        )
        for name, b in base.items():
            lines.append(
                f"| {name} | {_f((b.get('synthetic_test') or {}).get('accuracy'))} "
                f"| {_f((b.get('real') or {}).get('accuracy'))} | {b.get('train_s', '')} "
                f"| {b.get('titles_per_s', '')} |"
            )
    ov = report.get("overfitting") or {}
    if ov:
        lines += ["", f"### Overfitting verdict: **{ov.get('verdict')}**", ""]
        if ov.get("gap") is not None:
            lines.append(f"Synthetic-to-real accuracy gap: {ov['gap']:.3f}.")
        lines += [f"- {md_escape(r)}" for r in ov.get("reasons", [])]
    ea = report.get("error_analysis") or {}
    if ea.get("highest_loss"):
        lines += [
            "",
            "### Real examples the model gets most wrong",
            "",
            "| gold | predicted | confidence | text |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| {md_escape(e['gold'])} | {md_escape(e['predicted'])} | {e['confidence']:.2f} "
            f"| {md_escape(e['text'])} |"
            for e in ea["highest_loss"][:10]
        ]
    if ea.get("most_confident_correct"):
        lines += ["", "### Most confident correct real examples (what it may key on)", ""]
        lines += [
            f"- ({md_escape(e['gold'])}, {e['confidence']:.2f}) {md_escape(e['text'])}"
            for e in ea["most_confident_correct"][:10]
        ]
    plots = report.get("plots") or []
    if plots:
        lines += ["", "### Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"
