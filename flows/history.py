"""History across rounds: one row per finished round, the *current* model, and the trend artifact.

Files, both in the runs dir of a task (the parent of the round directories):
- `history.jsonl`: one JSON row per finished round, appended (never rewritten);
- `current.json`: the round whose model is *current*. A round is promoted only when its verdict
  is ok and its real-data accuracy is not worse than the current model's beyond the 95%
  interval, so one lucky or unlucky night does not flip the model users get.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.atomic import write_atomic
from training.report import md_escape
from training.verdict import wilson_interval

HISTORY_FILE = "history.jsonl"
CURRENT_FILE = "current.json"


def runs_dir_of(workdir: Path) -> Path:
    """Where a round's history lives: the directory holding its round directories."""
    return workdir.resolve().parent


def round_row(workdir: Path, report: Mapping[str, Any]) -> dict[str, Any]:
    """The history row of a finished round, from its report.json."""
    rnd = report.get("round") or {}
    ds = report.get("dataset") or {}
    synth = report.get("synthetic_test") or {}
    real = report.get("real") or {}
    acc, n = real.get("accuracy"), int(real.get("n") or 0)
    hub = report.get("hub") or {}
    return {
        "round": rnd.get("id") or workdir.name,
        "task": rnd.get("task"),
        "path": str(workdir.resolve()),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": rnd.get("seed"),
        "fingerprint": rnd.get("fingerprint"),
        "dataset_hash": rnd.get("dataset_hash"),
        "dataset_size": ds.get("kept"),
        "drops": ds.get("dropped") or {},
        "synthetic_accuracy": synth.get("accuracy"),
        "synthetic_per_label": synth.get("per_label_accuracy") or {},
        "real_accuracy": acc,
        "real_n": n,
        "real_ci95": list(wilson_interval(acc, n)) if acc is not None and n else None,
        "real_per_label": real.get("per_label_accuracy") or {},
        "real_selection_accuracy": (report.get("real_selection") or {}).get("accuracy"),
        "guidance_from": (report.get("feedback_used") or {}).get("from_round"),
        "verdict": (report.get("overfitting") or {}).get("verdict"),
        "pushed_revision": hub.get("revision") if hub.get("pushed") else None,
    }


def read_history(runs_dir: Path) -> list[dict[str, Any]]:
    """Every row of the history file (oldest first); a torn last line is skipped."""
    path = runs_dir / HISTORY_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a kill mid-append: that round is simply not recorded
    return rows


def read_current(runs_dir: Path) -> dict[str, Any] | None:
    """The current model's history row, or None before the first promotion."""
    path = runs_dir / CURRENT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def promotion(row: Mapping[str, Any], current: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Whether a round's model becomes current, and why (or why not)."""
    verdict = row.get("verdict")
    if verdict != "ok":
        return False, f"verdict is {verdict!r}, not 'ok'"
    if row.get("real_accuracy") is None:
        return False, "no real-data accuracy to compare"
    if current is None or current.get("real_accuracy") is None:
        return True, "first round with an ok verdict"
    lo, hi = row["real_ci95"]
    cur = float(current["real_accuracy"])
    if hi < cur:
        return False, (
            f"real accuracy {row['real_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}) is worse than "
            f"the current {cur:.3f} of round {current.get('round')}"
        )
    return True, (
        f"real accuracy {row['real_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}) is not worse than "
        f"the current {cur:.3f} of round {current.get('round')}"
    )


def record_round(workdir: Path, report: Mapping[str, Any]) -> dict[str, Any]:
    """Decide promotion, append the round to the history and move `current` if promoted."""
    runs_dir = runs_dir_of(workdir)
    row = round_row(workdir, report)
    row["promoted"], row["promotion_reason"] = promotion(row, read_current(runs_dir))
    with (runs_dir / HISTORY_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    if row["promoted"]:
        write_atomic(runs_dir / CURRENT_FILE, json.dumps(row, indent=2, ensure_ascii=False))
    return row


def _cell(value: Any) -> str:
    """A markdown table cell: numbers rounded, text escaped (labels come from user task files)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return md_escape(value)


def trend_png(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """Real-data accuracy per round with its 95% interval, and synthetic accuracy, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on servers and workers
    import matplotlib.pyplot as plt

    xs = list(range(1, len(rows) + 1))
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    real = [(x, r) for x, r in zip(xs, rows, strict=True) if r.get("real_accuracy") is not None]
    if real:
        acc = [r["real_accuracy"] for _, r in real]
        ci = [r.get("real_ci95") or [a, a] for a, (_, r) in zip(acc, real, strict=True)]
        err = [
            [a - c[0] for a, c in zip(acc, ci, strict=True)],
            [c[1] - a for a, c in zip(acc, ci, strict=True)],
        ]
        ax.errorbar(
            [x for x, _ in real], acc, yerr=err, marker="o", capsize=3, label="real (95% CI)"
        )
    synth = [
        (x, r["synthetic_accuracy"])
        for x, r in zip(xs, rows, strict=True)
        if r.get("synthetic_accuracy") is not None
    ]
    if synth:
        ax.plot(*zip(*synth, strict=True), marker="s", linestyle="--", label="synthetic test")
    promoted = [x for x, r in zip(xs, rows, strict=True) if r.get("promoted")]
    for x in promoted:
        ax.axvline(x, color="green", alpha=0.15, linewidth=6)
    ax.set_xlabel("round")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(xs)
    ax.legend(loc="lower right")
    ax.set_title("Accuracy per round (green: promoted to current)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def history_markdown(rows: Sequence[Mapping[str, Any]], current: Mapping[str, Any] | None) -> str:
    """The trend artifact: the plot (a PNG data URI, so the UI shows it) and one row per round."""
    png = base64.b64encode(trend_png(rows)).decode()
    lines = [
        "# Rounds",
        "",
        f"Current model: round **{_cell(current.get('round'))}**"
        if current
        else "No model is current yet.",
        "",
        f"![real-data accuracy per round](data:image/png;base64,{png})",
        "",
        "Real accuracy is on the sealed test part; *selection* is the part that drives choices.",
        "",
        "| round | seed | fingerprint | titles | dropped | synthetic acc | selection acc "
        "| real test acc (95% CI) | verdict | promoted | guided by | revision |",
        "|---|---:|---|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for r in rows:
        ci = r.get("real_ci95")
        real = (
            f"{_cell(r.get('real_accuracy'))} ({ci[0]:.3f}-{ci[1]:.3f})"
            if ci
            else _cell(r.get("real_accuracy"))
        )
        lines.append(
            f"| {_cell(r.get('round'))} | {_cell(r.get('seed'))} | {_cell(r.get('fingerprint'))} "
            f"| {_cell(r.get('dataset_size'))} | {sum((r.get('drops') or {}).values())} "
            f"| {_cell(r.get('synthetic_accuracy'))} | {_cell(r.get('real_selection_accuracy'))} "
            f"| {real} | {_cell(r.get('verdict'))} | {'yes' if r.get('promoted') else 'no'} "
            f"| {_cell(r.get('guidance_from'))} | {_cell(r.get('pushed_revision'))} |"
        )
    return "\n".join(lines) + "\n"
