"""Peak memory of `titleforge dedupe` on 1M titles, counted once: PSS summed over the process tree.

RSS summed over the main process and its forked worker counts every copy-on-write page they
share twice; PSS (proportional set size, /proc/PID/smaps_rollup) splits a shared page between
the processes that map it, so the sum is the memory the command really holds. Sampled every
20 ms while the real command runs in its own process.

    python benchmarks/mem_dedupe.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc)."""
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            for kid in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                out += tree(int(kid))
    except OSError:  # the process ended between two reads
        pass
    return out


def kb(pid: int, name: str) -> int:
    """One smaps_rollup field (Pss, Rss) of a process in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    """Build the titles, run the command, print its summary line and the peaks."""
    import pandas as pd
    from rich.console import Console

    from benchmarks.common import print_table
    from tests.fakes.titles import distinct_titles

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    n = ap.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "titles.csv"
        titles, _ = distinct_titles(n, seed=7, planted_frac=0.02)
        pd.DataFrame({"text": titles, "row": range(n)}).to_csv(src, index=False)
        cmd = [sys.executable, "-m", "flows.cli", "dedupe", str(src), "--out", f"{tmp}/out.parquet"]
        env = {**os.environ, "COLUMNS": "200"}
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
        peak_pss = peak_rss = procs = 0
        while proc.poll() is None:
            pids = tree(proc.pid)
            peak_pss = max(peak_pss, sum(kb(p, "Pss") for p in pids))
            peak_rss = max(peak_rss, sum(kb(p, "Rss") for p in pids))
            procs = max(procs, len(pids))
            time.sleep(0.02)
        out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        sys.exit(f"titleforge dedupe failed (exit {proc.returncode}):\n{out}")
    summary = [line for line in out.splitlines() if "dedupe work" in line]
    Console().print(summary[-1] if summary else out, soft_wrap=True)
    print_table(
        f"`titleforge dedupe`, {n:,} titles: peak memory of the process tree ({procs} processes)",
        ["measure", "MB"],
        [["PSS summed (shared pages once)", peak_pss / 1024], ["RSS summed", peak_rss / 1024]],
    )


if __name__ == "__main__":
    main()
