"""Near-duplicate clusters at batch speed: candidate pairs from LSH, checked exactly, grouped.

The first title of each cluster survives; a cluster whose titles carry different labels goes
whole. generator.nearfast hashes the tokens and finds the candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from generator.nearfast import LSH_KEYS, candidate_pairs, sorted_unique, title_lsh_keys


@dataclass
class NearOutcome:
    """Which rows go and why: reason per dropped row, and (row, matched row) examples."""

    keep: np.ndarray
    conflict: np.ndarray  # dropped rows whose cluster spans labels
    duplicate: np.ndarray  # dropped rows that repeat an earlier row of the same label
    examples: list[tuple[str, int, int]] = field(default_factory=list)
    candidates: int = 0


def near_duplicates(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    threshold: float = 0.8,
    seed: int = 0,
    examples_per_reason: int = 5,
    on_step: Callable[[str], None] | None = None,
) -> NearOutcome:
    """Clusters of word-set Jaccard >= threshold: the first of each survives; mixed-label ones go whole."""
    from generator.nearverify import verify_pairs

    n = len(texts)
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return NearOutcome(keep, np.zeros(0, np.int64), np.zeros(0, np.int64))
    step = on_step or (lambda _: None)
    step("minhash")
    remote = LSH_KEYS.get()
    keys = (remote or title_lsh_keys)(texts, seed)
    step("lsh")
    pairs = candidate_pairs(keys)
    del keys
    step("verify")
    edges = verify_pairs(texts, pairs, threshold, seed)
    step("clusters")
    if not len(edges):
        return NearOutcome(keep, np.zeros(0, np.int64), np.zeros(0, np.int64), [], len(pairs))
    comp = components(edges, n)
    members = sorted_unique(edges)
    lab_code = np.unique(np.asarray(labels, dtype=object)[members], return_inverse=True)[1]
    mc = comp[members]
    pair_codes = sorted_unique(mc.astype(np.int64) * (lab_code.max() + 1) + lab_code)
    mixed = np.zeros(comp.max() + 1, dtype=bool)
    per_comp = np.bincount(pair_codes // (lab_code.max() + 1), minlength=len(mixed))
    mixed[per_comp > 1] = True
    first = np.full(len(mixed), n, dtype=np.int64)
    np.minimum.at(first, mc, members)
    conflict = members[mixed[mc]]
    duplicate = members[~mixed[mc] & (members != first[mc])]
    keep[conflict] = False
    keep[duplicate] = False
    examples = _examples(conflict, duplicate, edges, comp, members, examples_per_reason)
    return NearOutcome(keep, conflict, duplicate, examples, len(pairs))


def components(edges: np.ndarray, n: int) -> np.ndarray:
    """A component label per node of the graph on n nodes with these (m, 2) edges: its smallest node.

    Numpy rounds on the nodes in edges (importing scipy's csgraph alone took 0.36 CPU s): every
    edge joining two roots hooks the larger root under the smaller, then each node jumps to its
    root; a long chain takes a few dozen rounds, not one per link."""
    nodes = sorted_unique(edges)
    i, j = np.searchsorted(nodes, edges[:, 0]), np.searchsorted(nodes, edges[:, 1])
    root = np.arange(len(nodes))
    while True:
        ri, rj = root[i], root[j]
        apart = ri != rj
        if not apart.any():
            break
        np.minimum.at(root, np.maximum(ri, rj)[apart], np.minimum(ri, rj)[apart])
        while True:  # roots only: each node points at the root of its tree
            up = root[root]
            if np.array_equal(up, root):
                break
            root = up
    comp = np.arange(n)
    comp[nodes] = nodes[root]
    return comp


def _examples(
    conflict: np.ndarray,
    duplicate: np.ndarray,
    edges: np.ndarray,
    comp: np.ndarray,
    members: np.ndarray,
    per_reason: int,
) -> list[tuple[str, int, int]]:
    """The first few drops of each reason (row order) with the row each one matched."""
    out = []
    for j in conflict[:per_reason].tolist():
        same = members[comp[members] == comp[j]]
        out.append(("near_conflict", j, int(same[same != j].min())))
    for j in duplicate[:per_reason].tolist():
        earlier = edges[(edges[:, 1] == j), 0]
        if not len(earlier):
            earlier = members[comp[members] == comp[j]]
        out.append(("near_duplicate", j, int(earlier.min())))
    return sorted(out, key=lambda e: e[1])
