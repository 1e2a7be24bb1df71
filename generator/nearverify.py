"""Exact check of LSH candidate pairs, vectorised: word-set Jaccard from per-title token-hash rows.

Each title involved becomes a sorted row of its distinct token hashes (both readings of
"word", as generator.neardup.similarity); a block of pairs is compared all-against-all in
numpy. Pairs that pass are confirmed on the strings by similarity() itself (they are few),
so a 64-bit hash collision can never create a match; titles with more than MAX_TOKENS tokens
are checked on the strings directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_TOKENS = 40
_BLOCK = 1 << 21  # pair x token x token comparisons per step (bounded memory)


def _rows(
    hashes: np.ndarray, counts: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(len(rows), L) sorted distinct token hashes (0 = padding) and the distinct counts."""
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[rows]
    c = np.minimum(counts[rows], MAX_TOKENS)
    width = max(int(c.max()) if len(c) else 1, 1)
    cols = np.arange(width)
    valid = cols < c[:, None]
    m = np.where(valid, hashes[np.minimum(starts[:, None] + cols, max(len(hashes) - 1, 0))], 0)
    m.sort(axis=1)  # padding (0) first, then ascending
    dup = np.zeros_like(valid)
    dup[:, 1:] = (m[:, 1:] == m[:, :-1]) & (m[:, 1:] != 0)
    m[dup] = 0
    m.sort(axis=1)  # the repeats, now padding, go first too: the distinct hashes end each row
    return m, (m != 0).sum(axis=1)


def _jaccard(m: np.ndarray, u: np.ndarray, pi: np.ndarray, pj: np.ndarray) -> np.ndarray:
    """Jaccard of the row pairs (pi, pj), in blocks of pairs with the same width to compare.

    A row's distinct hashes sit in its last u columns (padding sorts first): a pair of titles
    with at most w distinct tokens each compares w x w columns, not the widest title's."""
    out = np.empty(len(pi), dtype=np.float64)
    need = np.maximum(u[pi], u[pj])
    order = np.argsort(need, kind="stable")
    widths, firsts = np.unique(need[order], return_index=True)
    for w, lo, hi in zip(
        widths.tolist(), firsts.tolist(), [*firsts[1:].tolist(), len(order)], strict=True
    ):
        cols = m[:, m.shape[1] - w :]
        step = max(1, _BLOCK // max(w * w, 1))
        for at in range(lo, hi, step):
            k = order[at : min(at + step, hi)]
            a, b = cols[pi[k]], cols[pj[k]]
            inter = ((a[:, :, None] == b[:, None, :]) & (a[:, :, None] != 0)).sum(axis=(1, 2))
            union = u[pi[k]] + u[pj[k]] - inter
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return out


def verify_pairs(
    texts: Sequence[str], pairs: np.ndarray, threshold: float, seed: int = 0
) -> np.ndarray:
    """The candidate pairs (m, 2) whose exact similarity() is at least `threshold`."""
    from generator.forkmap import fork_map, joined

    if not len(pairs):
        return pairs
    # each pair is checked on its own: the pairs split in halves over both cores
    ok = joined(fork_map(_verify_part, pairs, texts, threshold, seed))[0]
    return pairs[ok].reshape(-1, 2)


def _verify_part(
    pairs: np.ndarray, texts: Sequence[str], threshold: float, seed: int
) -> tuple[np.ndarray]:
    """Which of these candidate pairs pass (a bool per pair), in this process."""
    from generator.neardup import similarity
    from generator.nearfast import sorted_unique, token_hashes

    if not len(pairs):
        return (np.zeros(0, dtype=bool),)
    rows = sorted_unique(pairs)
    pi, pj = np.searchsorted(rows, pairs[:, 0]), np.searchsorted(rows, pairs[:, 1])
    best = np.zeros(len(pairs))
    long = np.zeros(len(pairs), dtype=bool)
    # both readings of "word", hashed for the titles in a candidate pair only
    readings = token_hashes([texts[i] for i in rows.tolist()], seed, spaced=True)
    local = np.arange(len(rows))
    for hashes, counts in readings:
        m, u = _rows(hashes, counts, local)
        best = np.maximum(best, _jaccard(m, u, pi, pj))
        too_long = counts > MAX_TOKENS
        long |= too_long[pi] | too_long[pj]
    maybe = np.flatnonzero((best >= threshold - 1e-9) | long)
    ok = np.zeros(len(pairs), dtype=bool)
    for k in maybe.tolist():
        ok[k] = similarity(texts[pairs[k, 0]], texts[pairs[k, 1]]) >= threshold
    return (ok,)
