"""Near-duplicate removal: titleforge's vectorised MinHash/LSH vs datasketch's MinHashLSH, same data.

python benchmarks/bench_dedupe.py            # 1M titles ours, 100k both sides
python benchmarks/bench_dedupe.py --quick    # 300k ours, 30k both sides
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, ratio, timed
from generator.clean import clean_title
from generator.items import Title
from generator.neardup import near_dedupe, token_set
from generator.spec import CleanOptions

THRESHOLD, NUM_PERM = 0.8, 128


def make_titles(
    n: int, seed: int, planted_frac: float = 0.05
) -> tuple[list[str], set[tuple[int, int]]]:
    """n titles of 10-14 random words; a fraction are one-word edits of an earlier title (Jaccard >= 0.83)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(50_000)]
    titles: list[str] = []
    planted: set[tuple[int, int]] = set()
    n_planted = int(n * planted_frac)
    for _ in range(n - n_planted):
        titles.append(
            " ".join(rng.sample(vocab, rng.randint(10, 14))).capitalize()
            + rng.choice(["", "!", "."])
        )
    for _ in range(n_planted):
        src = rng.randrange(len(titles))
        words = titles[src].rstrip("!.").split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        planted.add((src, len(titles)))
        titles.append(" ".join(words))
    return titles, planted


def ours(titles: list[str]) -> set[int]:
    """Indices our near_dedupe drops."""
    res = near_dedupe([Title(t, "x", str(i)) for i, t in enumerate(titles)], threshold=THRESHOLD)
    kept = {int(t.call_id) for t in res.kept}
    return set(range(len(titles))) - kept


def theirs(titles: list[str]) -> set[int]:
    """Indices datasketch's MinHashLSH finds to duplicate an earlier title (the usual recipe)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    sigs = MinHash.bulk([[w.encode() for w in token_set(t)] for t in titles], num_perm=NUM_PERM)
    dropped = set()
    for i, m in enumerate(sigs):
        if lsh.query(m):
            dropped.add(i)
        else:
            lsh.insert(i, m)
    return dropped


def score(dropped: set[int], planted: set[tuple[int, int]]) -> tuple[float, float]:
    """Recall on planted pairs (the copy was dropped) and precision (drops that were planted copies)."""
    copies = {j for _, j in planted}
    recall = len(dropped & copies) / max(len(copies), 1)
    precision = len(dropped & copies) / max(len(dropped), 1)
    return recall, precision


def main() -> None:
    """Measure both sides on the same titles and print the table."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI / --quick suite)")
    ap.add_argument(
        "--n", type=int, default=None, help="titles for our big run (default 1M, quick 300k)"
    )
    ap.add_argument(
        "--n-both",
        type=int,
        default=None,
        help="titles both sides run on (default 100k, quick 30k)",
    )
    args = ap.parse_args()
    n_big = args.n or (300_000 if args.quick else 1_000_000)
    n_both = args.n_both or (30_000 if args.quick else 100_000)

    small, planted_small = make_titles(n_both, seed=1)
    d_ours, t_ours = timed(lambda: ours(small))
    d_theirs, t_theirs = timed(lambda: theirs(small))
    r_o, p_o = score(d_ours, planted_small)
    r_t, p_t = score(d_theirs, planted_small)

    big, planted_big = make_titles(n_big, seed=2)
    opts = CleanOptions(min_words=3, max_words=30)
    cleaned, t_clean = timed(
        lambda: [clean_title(t, opts, ["clickbait", "factual"])[0] or t for t in big]
    )
    d_big, t_big = timed(lambda: ours(cleaned))
    r_b, p_b = score(d_big, planted_big)

    print_table(
        f"Near-duplicate removal, Jaccard >= {THRESHOLD}, {NUM_PERM} permutations",
        ["metric", "titleforge", "datasketch MinHashLSH", "ratio"],
        [
            [
                f"titles/s ({n_both:,} titles, same data)",
                n_both / t_ours,
                n_both / t_theirs,
                ratio(n_both / t_ours, n_both / t_theirs),
            ],
            ["recall on planted pairs", r_o, r_t, "–"],
            ["precision of drops", p_o, p_t, "–"],
            [f"titleforge on {n_big:,}: dedupe seconds", t_big, "–", "–"],
            [f"titleforge on {n_big:,}: clean seconds", t_clean, "–", "–"],
            [f"titleforge on {n_big:,}: recall / precision", f"{r_b:.4f} / {p_b:.4f}", "–", "–"],
        ],
        note="ours: vectorised MinHash (numpy) + 32x4 LSH bands, every candidate verified by exact Jaccard.",
    )


if __name__ == "__main__":
    main()
