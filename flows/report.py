"""report.json / report.md of a run directory: merged by key, so each flow adds its own part."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.atomic import write_atomic
from training.cost import render_cost_md
from training.multihead_report import render_heads_md
from training.report import md_escape, render_training_md
from training.report_multilabel import render_multilabel_md


def load_report(workdir: Path) -> dict[str, Any]:
    """The run's report.json, or {} when no step has written one yet."""
    path = workdir / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def merge_report(workdir: Path, updates: Mapping[str, Any]) -> dict[str, Any]:
    """Replace the given top-level keys of report.json, keep the others, and rewrite report.md."""
    workdir.mkdir(parents=True, exist_ok=True)
    report = load_report(workdir) | dict(updates)
    write_atomic(
        workdir / "report.json", json.dumps(report, indent=2, sort_keys=False, default=str)
    )
    write_atomic(workdir / "report.md", render_report_md(report))
    return report


def render_dataset_md(report: Mapping[str, Any]) -> str:
    """The dataset and audit part of report.md."""
    ds = report.get("dataset")
    if not ds:
        return ""
    lines = [
        "## Dataset",
        "",
        f"- raw titles from the LLM: {ds.get('raw_titles', 0)}; kept: {ds.get('kept', 0)}",
        f"- splits: {', '.join(f'{k} {v}' for k, v in (ds.get('splits') or {}).items())}",
        f"- per label: {', '.join(f'{md_escape(k)} {v}' for k, v in (ds.get('per_label') or {}).items())}",
    ]
    rates = ds.get("kept_rate") or {}
    if rates:  # a label far below the others points at a filter that is unfair to it
        shown = (f"{md_escape(k)} {v['kept']}/{v['raw']}" for k, v in rates.items() if v.get("raw"))
        lines.append(f"- kept rate per label (survived cleaning and dedupe): {', '.join(shown)}")
    gen = ds.get("generator") or {}
    if gen:
        note = f" (**{md_escape(gen['note'])}**)" if gen.get("note") else ""
        lines.append(f"- written by: `{md_escape(gen.get('model'))}`{note}")
    if ds.get("hub_url"):
        lines.append(f"- on the Hub: {ds['hub_url']}")
    dropped = ds.get("dropped") or {}
    if dropped:
        lines += ["", "| dropped because | titles |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1])]
    audit = report.get("audit")
    if audit:
        lines += [
            "",
            "## Shortcut audit",
            "",
            f"A probe that sees only surface features (punctuation, casing, length, …) predicts the "
            f"label with cross-validated accuracy **{audit.get('shortcut_probe_accuracy', 0):.3f}** "
            f"(chance {audit.get('chance', 0):.3f}).",
            "",
        ]
        flags = audit.get("flags") or []
        lines += [
            f"- ⚠ {md_escape(f.get('detail', f) if isinstance(f, dict) else f)}" for f in flags
        ] or ["- no flags"]
    return "\n".join(lines) + "\n"


def render_report_md(report: Mapping[str, Any]) -> str:
    """The whole readable report: dataset and audit, then training and real-data evaluation."""
    rnd = report.get("round") or {}
    parts = [
        "# titleforge report",
        "",
        f"Round `{md_escape(rnd.get('id'))}`: seed `{rnd.get('seed')}`, fingerprint "
        f"`{rnd.get('fingerprint')}`, dataset hash `{rnd.get('dataset_hash')}`.\n"
        if rnd
        else "",
        render_dataset_md(report),
        render_training_md(report),
        render_heads_md(report),
        render_multilabel_md(report),
        render_cost_md(report.get("cost")),
    ]
    return "\n".join(p for p in parts if p is not None).rstrip() + "\n"
