"""Near-duplicate removal: vectorised MinHash + LSH banding for candidates, exact Jaccard to decide."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from generator.clean import normalise_key
from generator.items import Title

_TOKEN = re.compile(r"\w+")
# 32 bands x 4 rows: a pair at Jaccard 0.8 shares a bucket with probability 1 - 5e-8,
# so the exact check below sees (practically) every pair at or above the threshold.
NUM_PERM, BANDS = 128, 32
MAX_BUCKET = 200  # beyond this a bucket links its members to its first only (no k² blow-up)


def token_set(text: str) -> frozenset[str]:
    """Casefolded word set of a title: the unit of the Jaccard guarantee."""
    return frozenset(_TOKEN.findall(text.casefold()))


def space_set(text: str) -> frozenset[str]:
    """Casefolded whitespace-separated tokens: the other common reading of "word set"."""
    return frozenset(text.casefold().split())


def similarity(a: str, b: str) -> float:
    """The larger of the two word-set Jaccards (\\w+ words, whitespace words)."""
    return max(jaccard(token_set(a), token_set(b)), jaccard(space_set(a), space_set(b)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Exact Jaccard similarity of two word sets."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def minhash_signatures(
    sets: Sequence[frozenset[str]], num_perm: int = NUM_PERM, seed: int = 0
) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures, computed column by column over all titles at once."""
    n = len(sets)
    lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=n)
    flat = [tok for s in sets for tok in s]
    codes, uniques = (
        pd.factorize(pd.Series(flat, dtype=object)) if flat else (np.zeros(0, np.int64), [])
    )
    # hash token *content* (not its position in this batch) so signatures agree across calls
    if len(uniques):
        unique_hash = pd.util.hash_array(
            np.asarray(uniques, dtype=object), hash_key=f"{seed:016d}"[-16:]
        )
    else:
        unique_hash = np.zeros(1, dtype=np.uint64)
    token_hash = unique_hash[codes] | np.uint64(1)
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    sig = np.full((n, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    nonempty = lengths > 0
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
    with np.errstate(over="ignore"):
        for k in range(num_perm):
            # multiply-shift hashing: a random odd multiplier per permutation, top 32 bits
            h = ((token_hash * a[k] + b[k]) >> np.uint64(32)).astype(np.uint32)
            if len(h):
                sig[nonempty, k] = np.minimum.reduceat(h, starts)
    return sig


# Who computes signatures while a flow holds a Dask cluster (generator.cluster maps the pure
# function above over partitions there); unset, this process does. Same rows, same array.
SIGNATURES: ContextVar[Callable[..., np.ndarray] | None] = ContextVar(
    "titleforge_signatures", default=None
)


def band_keys(sig: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """(n, bands) uint64 bucket keys: one hash of each band's rows of the signature."""
    n, num_perm = sig.shape
    rows = num_perm // bands
    out = np.zeros((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            block = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
            key = np.zeros(n, dtype=np.uint64)
            for c in range(rows):
                key = (key ^ block[:, c]) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(c + 1)
            out[:, band] = key
    return out


def candidate_pairs(sig: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """Unique (i, j), i < j, that share at least one LSH band bucket."""
    n = sig.shape[0]
    all_keys = band_keys(sig, bands)
    found = []
    for band in range(bands):
        key = all_keys[:, band]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        edge = np.flatnonzero(np.diff(sk) != 0) + 1
        starts = np.concatenate(([0], edge))
        ends = np.concatenate((edge, [n]))
        sizes = ends - starts
        # buckets of two are the common case: pair them all at once
        two = starts[sizes == 2]
        if len(two):
            a, b = order[two], order[two + 1]
            found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
        for s, e in zip(starts[sizes > 2], ends[sizes > 2], strict=True):
            members = np.sort(order[s:e])
            if len(members) > MAX_BUCKET:
                found.append(np.stack([np.full(len(members) - 1, members[0]), members[1:]], axis=1))
            else:
                iu, ju = np.triu_indices(len(members), k=1)
                found.append(np.stack([members[iu], members[ju]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found), axis=0)


def similar_pairs(
    texts: Sequence[str], threshold: float, seed: int = 0
) -> list[tuple[int, int, float]]:
    """Pairs (i < j) whose exact word-set Jaccard (either reading of "word") is at least `threshold`."""
    if len(texts) < 2:
        return []
    sets = [token_set(t) for t in texts]
    sign = SIGNATURES.get() or minhash_signatures
    pairs = candidate_pairs(sign(sets, seed=seed))
    spaced: dict[int, frozenset[str]] = {}  # only candidates need the second reading

    def sp(i: int) -> frozenset[str]:
        if i not in spaced:
            spaced[i] = space_set(texts[i])
        return spaced[i]

    out = []
    for i, j in pairs.tolist():
        sim = max(jaccard(sets[i], sets[j]), jaccard(sp(i), sp(j)))
        if sim >= threshold:
            out.append((i, j, sim))
    return out


@dataclass
class NearDedupeResult:
    """Survivors (input order), drops by reason and a few 'why was this dropped' examples."""

    kept: list[Title]
    dropped: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


def near_dedupe(
    items: Sequence[Title], *, threshold: float = 0.8, seed: int = 0, examples_per_reason: int = 5
) -> NearDedupeResult:
    """Drop near duplicates: the first of each cluster survives; clusters spanning labels go whole."""
    from generator.nearclusters import near_duplicates

    out = near_duplicates(
        [t.text for t in items],
        [t.label_key for t in items],  # multi-label titles compare their label sets
        threshold=threshold,
        seed=seed,
        examples_per_reason=examples_per_reason,
    )
    dropped = {"near_duplicate": len(out.duplicate), "near_conflict": len(out.conflict)}
    examples = [
        {
            "reason": reason,
            "text": items[j].text,
            "label": items[j].label,
            "matched": items[m].text,
            "matched_label": items[m].label,
            "jaccard": round(similarity(items[j].text, items[m].text), 3),
        }
        for reason, j, m in out.examples
    ]
    kept = [t for t, k in zip(items, out.keep.tolist(), strict=True) if k]
    return NearDedupeResult(kept, {k: v for k, v in dropped.items() if v}, examples)


def drop_contaminated(
    items: Sequence[Title],
    real: Sequence[str] | RealIndex,
    *,
    threshold: float = 0.8,
    seed: int = 0,
    examples: int = 5,
) -> tuple[list[Title], int, list[dict[str, Any]]]:
    """Drop synthetic titles that equal or nearly equal a real evaluation title."""
    index = real if isinstance(real, RealIndex) else RealIndex(real, threshold=threshold, seed=seed)
    matches = index.match([t.text for t in items])
    kept = [t for t, m in zip(items, matches, strict=True) if m is None]
    hits = [(t, m) for t, m in zip(items, matches, strict=True) if m is not None]
    shown = [
        {"reason": "contamination", "text": t.text, "label": t.label, "matched": m}
        for t, m in hits[:examples]
    ]
    return kept, len(hits), shown


class RealIndex:
    """LSH index over the real evaluation titles, built once, queried for each batch of synthetic titles."""

    def __init__(self, real_texts: Sequence[str], *, threshold: float = 0.8, seed: int = 0) -> None:
        """Hash every real title into its band buckets."""
        self.texts = list(real_texts)
        self.threshold, self.seed = threshold, seed
        self.keys = {normalise_key(t): t for t in self.texts}
        self.sets = [token_set(t) for t in self.texts]
        self.spaced = [space_set(t) for t in self.texts]
        self.buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
        if self.texts:
            for band, keys in enumerate(band_keys(minhash_signatures(self.sets, seed=seed)).T):
                for i, k in enumerate(keys.tolist()):
                    self.buckets[(band, k)].append(i)

    def match(self, texts: Sequence[str]) -> list[str | None]:
        """For each text, the real title it (nearly) duplicates, or None."""
        out: list[str | None] = [self.keys.get(normalise_key(t)) for t in texts]
        todo = [i for i, m in enumerate(out) if m is None]
        if not todo or not self.texts:
            return out
        sets = [token_set(texts[i]) for i in todo]
        keys = band_keys(minhash_signatures(sets, seed=self.seed))
        for row, i in enumerate(todo):
            spaced = space_set(texts[i])
            cands = {
                r
                for band, k in enumerate(keys[row].tolist())
                for r in self.buckets.get((band, k), ())
            }
            for r in sorted(cands):
                if (
                    max(jaccard(sets[row], self.sets[r]), jaccard(spaced, self.spaced[r]))
                    >= self.threshold
                ):
                    out[i] = self.texts[r]
                    break
        return out


def neighbourhoods(items: Sequence[Title], *, threshold: float = 0.6, seed: int = 0) -> list[int]:
    """A group id per item: leader clustering over Jaccard >= threshold (no chaining into giants)."""
    neighbours: dict[int, list[int]] = defaultdict(list)
    for i, j, _ in similar_pairs([t.text for t in items], threshold, seed):
        neighbours[j].append(i)
    group = list(range(len(items)))
    leader = [True] * len(items)
    for j in range(len(items)):
        leaders = [i for i in neighbours.get(j, ()) if leader[i]]
        if leaders:
            leader[j] = False
            group[j] = min(leaders)
    return group
