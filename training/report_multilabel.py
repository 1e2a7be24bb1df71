"""The multi-label part of report.md: micro/macro F1, exact match, and per label with thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from training.report import _f, md_escape


def render_multilabel_md(report: Mapping[str, Any]) -> str:
    """Markdown for a multi-label model ('' for single-label reports)."""
    ml = report.get("multi_label")
    synth = report.get("synthetic_test") or {}
    if not ml or not synth.get("multi_label"):
        return ""
    real = report.get("real") or {}
    lines = [
        "## Multi-label",
        "",
        f"Thresholds tuned per label on the {ml.get('tuned_on')} split (best F1 on a grid "
        f"{ml['grid'][0]}–{ml['grid'][-1]}); validation macro F1 "
        f"{_f(ml['validation']['f1_macro_at_0.5'])} at 0.5 → {_f(ml['validation']['f1_macro_tuned'])} tuned.",
        "",
        f"| | synthetic test (n={synth.get('n', 0)}) | real test (n={real.get('n', 0)}) |",
        "|---|---:|---:|",
    ]
    for key in ("f1_micro", "f1_macro", "exact_match", "hamming_loss"):
        lines.append(f"| {key} | {_f(synth.get(key))} | {_f(real.get(key))} |")
    lines += [
        "",
        "| label | threshold | precision | recall | F1 | support | real F1 | real support |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in synth["per_label"].items():
        r = (real.get("per_label") or {}).get(name, {})
        lines.append(
            f"| {md_escape(name)} | {ml['thresholds'].get(name, 0.5):.2f} | {_f(m['precision'])} "
            f"| {_f(m['recall'])} | {_f(m['f1'])} | {m['support']} | {_f(r.get('f1'))} "
            f"| {r.get('support', '–')} |"
        )
    return "\n".join(lines) + "\n"
