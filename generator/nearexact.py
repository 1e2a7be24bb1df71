"""Exact reference for near duplicates: every pair with similarity() >= threshold, no sampling.

All-pairs with prefix filtering: sets are ordered by global token frequency (rarest first) and
a pair with Jaccard >= t must share a token within the first |A| - ceil(t|A|) + 1 tokens of
each; those prefix matches come from one sparse product, then each candidate is checked
exactly. Ground truth for the tests and the benchmark up to ~200k titles: at 1M Zipf-worded
titles the prefix product grows to tens of GB (a common word in many prefixes pairs them all).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from generator.neardup import jaccard, similarity, space_set, token_set


def _prefix_candidates(sets: list[frozenset[str]], threshold: float) -> set[tuple[int, int]]:
    """Pairs (i < j) whose frequency-ordered prefixes share a token (a superset of J >= t)."""
    from scipy.sparse import csr_matrix

    freq = Counter(tok for s in sets for tok in s)
    rank = {
        tok: r for r, (tok, _) in enumerate(sorted(freq.items(), key=lambda kv: (kv[1], kv[0])))
    }
    rows, cols = [], []
    for i, s in enumerate(sets):
        if not s:
            continue
        p = len(s) - math.ceil(threshold * len(s) - 1e-9) + 1  # conservative on rounding
        for r in sorted(rank[t] for t in s)[:p]:
            rows.append(i)
            cols.append(r)
    x = csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=(len(sets), len(rank)))
    co = (x @ x.T).tocoo()
    keep = co.row < co.col
    return set(zip(co.row[keep].tolist(), co.col[keep].tolist(), strict=True))


def exact_pairs(texts: Sequence[str], threshold: float = 0.8) -> set[tuple[int, int]]:
    """Every pair (i < j) with similarity(texts[i], texts[j]) >= threshold."""
    readings: list[Callable[[str], frozenset[str]]] = [token_set, space_set]
    cands: set[tuple[int, int]] = set()
    for reading in readings:
        cands |= _prefix_candidates([reading(t) for t in texts], threshold)
    # two titles without \w words have identical (empty) word sets: Jaccard 1, as similarity()
    empty = [i for i, t in enumerate(texts) if not token_set(t)]
    cands |= {(a, b) for k, a in enumerate(empty) for b in empty[k + 1 :]}
    return {(i, j) for i, j in cands if similarity(texts[i], texts[j]) >= threshold}


def reference_drops(texts: Sequence[str], threshold: float = 0.8) -> set[int]:
    """Rows the pipeline's rule drops given the exact pairs: all but the first of each cluster."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.array(sorted(exact_pairs(texts, threshold)), dtype=np.int64).reshape(-1, 2)
    if not len(pairs):
        return set()
    n = len(texts)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    members = np.unique(pairs)
    first = {}
    for m in members.tolist():
        first.setdefault(int(comp[m]), m)
    return {m for m in members.tolist() if first[int(comp[m])] != m}


__all__ = ["exact_pairs", "jaccard", "reference_drops"]
