"""Which training choices move real accuracy: `titleforge train` with one choice changed at a time.

MiniLM trained on synthetic titles (the fake LLM's vocabulary) exactly as bench_training.py's
"ours" side (early stopping off, so every variant trains the same epochs), scored on the same
human-labelled titles; each run in its own process, variants interleaved per seed, seed r for
head initialisation and batch order. One seed's accuracy is one draw: read the median and the
range. Slow (about a minute a run at full size): not part of run_all.

    python benchmarks/bench_training_recipes.py [--quick] [--seeds 0,1,2] [--variants a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import median_range, minilm_path, print_table, run_worker  # noqa: E402

# config fields, or bench-only keys (leading _) that patch the trainer
VARIANTS: dict[str, dict[str, Any]] = {
    "titleforge defaults": {},
    "dropout off": {"dropout": False},
    "length-grouped batches": {"length_grouped_batches": True},
    "earliest of tied evaluations kept": {"_earliest_tie": True},
    "fp32 (no bf16 autocast)": {"precision": "fp32"},
    "all layers learning": {"frozen_layers": 0},
    "stop-24 recipe (dropout off, grouped, earliest tie)": {
        "dropout": False,
        "length_grouped_batches": True,
        "_earliest_tie": True,
    },
}
SIZES = {"quick": (512, 3, 1000), "full": (4000, 3, 6000)}  # train titles, epochs, real titles


def worker(variant: str, base: Path, data: Path, epochs: int, n_real: int, seed: int) -> Any:
    """One variant, one seed: bench_training's "ours" worker with the change applied."""
    change = dict(VARIANTS[variant])
    if change.pop("_earliest_tie", False):
        import training.trainer as tt

        keep = tt._KeepBest.on_evaluate

        def strict(self: Any, args: Any, state: Any, control: Any, **kw: Any) -> None:
            """Copy the weights only on a strict improvement (a tie keeps the earlier weights)."""
            value = (kw.get("metrics") or {}).get(self.key)
            if self.best is None or value is None or value != self.best:
                keep(self, args, state, control, **kw)

        tt._KeepBest.on_evaluate = strict
    os.environ["TITLEFORGE_BENCH_OVERRIDES"] = json.dumps(change)
    from benchmarks.bench_training import worker as train_and_score

    return train_and_score("ours", base, data, epochs, n_real, seed)


def main() -> None:
    """Every variant per seed in its own process; one table of real accuracy and speed."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--worker", choices=list(VARIANTS), help=argparse.SUPPRESS)
    ap.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    n_train, epochs, n_real = SIZES["quick" if args.quick else "full"]
    if args.worker:
        res = worker(args.worker, args.base, args.data, epochs, n_real, args.seed)
        print(json.dumps(res))
        return
    from datasets.utils.logging import disable_progress_bar

    from benchmarks.bench_training import build_data

    disable_progress_bar()
    names, seeds = args.variants.split(","), [int(s) for s in args.seeds.split(",")]
    got: dict[str, list[dict[str, Any]]] = {v: [] for v in names}
    with tempfile.TemporaryDirectory() as tmp:
        data = build_data(Path(tmp) / "data", n_train)
        for seed in seeds:
            for v in names:
                got[v].append(
                    run_worker(
                        __file__, v, "--base", str(minilm_path()), "--data", str(data),
                        "--seed", str(seed), *(["--quick"] if args.quick else []),
                    )
                )  # fmt: skip
    rows = []
    for v, rs in got.items():
        accs = [r["real_acc"] for r in rs]
        rows.append(
            [
                v,
                median_range(accs),
                " / ".join(f"{a:.3f}" for a in accs),
                statistics.median(r["samples_s"] for r in rs),
            ]
        )
    print_table(
        f"Training recipes, MiniLM: {n_train:,} synthetic titles x {epochs} epochs, scored on "
        f"{n_real:,} real titles; seeds {args.seeds}",
        ["variant", "real accuracy, median (range)", "per seed", "samples/s (median)"],
        rows,
    )


if __name__ == "__main__":
    main()
