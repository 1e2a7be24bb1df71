"""Near-duplicate removal: titleforge vs datasketch and rensa (MinHash/LSH), same titles, one table.

python benchmarks/bench_dedupe.py            # 100k titles all three sides; 1M titleforge end to end
python benchmarks/bench_dedupe.py --quick    # 20k all three; 100k titleforge end to end

Recall and precision are measured against the exact answer (every pair with word-set Jaccard
>= 0.8, found by generator.nearexact without sampling, clustered as the pipeline does). Each
side runs in its own process, so peak RSS is its own. Titles: tests/fakes/titles.py
distinct_titles (Zipf word frequencies, 2% planted one-word edits).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import peak_rss_mb, print_table, ratio, run_worker

THRESHOLD, NUM_PERM = 0.8, 128
SIDES = ["titleforge", "datasketch", "rensa"]


def _titles(n: int, seed: int) -> tuple[list[str], list[tuple[int, int]]]:
    """The benchmark's titles and planted pairs."""
    from tests.fakes.titles import distinct_titles

    return distinct_titles(n, seed=seed, planted_frac=0.02)


def ours(titles: list[str]) -> set[int]:
    """Rows titleforge's near-dedupe drops (the near step alone, like the libraries)."""
    from generator.nearclusters import near_duplicates

    return set(
        map(
            int,
            (~near_duplicates(titles, [""] * len(titles), threshold=THRESHOLD).keep).nonzero()[0],
        )
    )


def datasketch_side(titles: list[str]) -> set[int]:
    """datasketch's usual recipe: MinHash.bulk, then query-before-insert into MinHashLSH."""
    from datasketch import MinHash, MinHashLSH

    from generator.neardup import token_set

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    sigs = MinHash.bulk([[w.encode() for w in token_set(t)] for t in titles], num_perm=NUM_PERM)
    return _query_then_insert(lsh, sigs)


def _query_then_insert(lsh: Any, sketches: Iterable[Any]) -> set[int]:
    """The libraries' dedupe loop: a title whose query finds anything is dropped, else indexed."""
    dropped = set()
    for i, m in enumerate(sketches):
        if lsh.query(m):
            dropped.add(i)
        else:
            lsh.insert(i, m)
    return dropped


def rensa_side(titles: list[str]) -> set[int]:
    """rensa's usual recipe: an RMinHash per title, query-before-insert into RMinHashLSH."""
    from rensa import RMinHash, RMinHashLSH

    from generator.neardup import token_set

    def sketch(t: str) -> Any:
        """One RMinHash of the title's word set."""
        m = RMinHash(num_perm=NUM_PERM, seed=42)
        m.update(list(token_set(t)))
        return m

    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    return _query_then_insert(lsh, map(sketch, titles))


def pipeline(titles: list[str]) -> set[int]:
    """titleforge end to end: clean + exact + near, the code path of `titleforge dedupe`."""
    from generator.fastclean import clean_exact
    from generator.nearclusters import near_duplicates
    from generator.spec import CleanOptions

    labels = [""] * len(titles)
    idx, cleaned, _ = clean_exact(titles, labels, CleanOptions(), [])
    near = near_duplicates(cleaned, labels[: len(idx)], threshold=THRESHOLD)
    kept = {i for i, k in zip(idx, near.keep.tolist(), strict=True) if k}
    return set(range(len(titles))) - kept


def worker(side: str, n: int, seed: int) -> None:
    """Time one side on the titles in this fresh process; print a JSON line."""
    titles, planted = _titles(n, seed)
    fn = {
        "titleforge": ours,
        "datasketch": datasketch_side,
        "rensa": rensa_side,
        "pipeline": pipeline,
    }[side]
    from generator.forkmap import cpu_seconds

    fn(titles[:200])  # imports and first-call set-up out of the clock, for every side alike
    t0, c0 = time.perf_counter(), cpu_seconds()
    dropped = fn(titles)
    # CPU of this process and its forked workers (titleforge's second core)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    copies = [j for _, j in planted]
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "rss": peak_rss_mb(),
                # the largest forked worker's peak (shared pages counted in both: an upper bound)
                "rss_workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "dropped": sorted(dropped),
                "planted_found": sum(j in dropped for j in copies) / max(len(copies), 1),
            }
        )
    )


def _compared(metric: str, values: list[float], higher_is_better: bool) -> list[Any]:
    """A table row: the three sides and titleforge's ratio to each library."""
    ours_v, *libs = values
    return [metric, *values, *(ratio(ours_v, v, higher_is_better) for v in libs)]


def score(dropped: set[int], truth: set[int]) -> tuple[float, float]:
    """Recall and precision of the dropped rows against the exact clustering's drops."""
    hit = len(dropped & truth)
    return hit / max(len(truth), 1), hit / max(len(dropped), 1)


def main() -> None:
    """Run every side in its own process on the same titles and print one table with ratios."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI / --quick suite)")
    ap.add_argument(
        "--n", type=int, default=None, help="titleforge end-to-end titles (1M; quick 100k)"
    )
    ap.add_argument(
        "--n-both", type=int, default=None, help="titles all sides run on (100k; quick 20k)"
    )
    ap.add_argument("--worker", nargs=3, metavar=("SIDE", "N", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    from generator.nearexact import reference_drops

    n_big = args.n or (100_000 if args.quick else 1_000_000)
    n_both = args.n_both or (20_000 if args.quick else 100_000)
    titles, _ = _titles(n_both, 1)
    truth = reference_drops(titles, THRESHOLD)
    res = {side: run_worker(__file__, side, str(n_both), "1") for side in SIDES}
    for r in res.values():
        r["recall"], r["precision"] = score(set(r["dropped"]), truth)
    big = run_worker(__file__, "pipeline", str(n_big), "2")
    big_titles, big_planted = _titles(n_big, 2)
    if n_big <= 200_000:
        truth_big, against = reference_drops(big_titles, THRESHOLD), "exact"
    else:  # the exact all-pairs answer needs tens of GB at 1M: score against the planted copies
        truth_big, against = {j for _, j in big_planted}, "planted"
    big["recall"], big["precision"] = score(set(big["dropped"]), truth_big)
    tf, ds, rs = (res[s] for s in SIDES)

    def rate(r: dict) -> float:
        """Titles per second of wall time."""
        return n_both / r["wall"]

    print_table(
        f"Near-duplicate removal, {n_both:,} titles, word-set Jaccard >= {THRESHOLD} (exact answer: "
        f"{len(truth):,} rows to drop)",
        ["metric", "titleforge", "datasketch", "rensa", "vs datasketch", "vs rensa"],
        [
            _compared("titles/s", [rate(r) for r in (tf, ds, rs)], True),
            _compared("CPU seconds", [r["cpu"] for r in (tf, ds, rs)], False),
            _compared("peak RSS, MB", [r["rss"] for r in (tf, ds, rs)], False),
            ["recall vs exact", tf["recall"], ds["recall"], rs["recall"], "–", "–"],
            ["precision vs exact", tf["precision"], ds["precision"], rs["precision"], "–", "–"],
            [
                "planted pairs found",
                tf["planted_found"],
                ds["planted_found"],
                rs["planted_found"],
                "–",
                "–",
            ],
        ],
        note="titleforge: numpy token hashing, MinHash (120 perms, 20x6 bands), every candidate checked by "
        "exact Jaccard. datasketch MinHashLSH (128 perms) and rensa RMinHashLSH (128 perms, 16 bands): "
        "their usual query-before-insert recipe, LSH decides alone.",
    )
    print_table(
        f"titleforge end to end (clean + exact + near, as `titleforge dedupe`), {n_big:,} titles",
        ["metric", "value"],
        [
            ["titles/s (wall)", n_big / big["wall"]],
            ["wall seconds", big["wall"]],
            ["CPU seconds (all threads and worker processes)", big["cpu"]],
            ["peak RSS, MB (main process)", big["rss"]],
            ["peak RSS, MB (largest worker process)", big["rss_workers"]],
            [f"recall / precision vs {against}", f"{big['recall']:.4f} / {big['precision']:.4f}"],
            ["planted pairs found", big["planted_found"]],
        ],
    )


if __name__ == "__main__":
    main()
