"""Diversity of a title set: distinct-n and embedding dispersion, comparable across sets."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_WORD = re.compile(r"\w+")
Embed = Callable[[Sequence[str]], np.ndarray]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique word n-grams over all word n-grams (casefolded): 1.0 means no n-gram repeats."""
    total, seen = 0, set()
    for text in texts:
        words = _WORD.findall(text.casefold())
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def dispersion(vectors: np.ndarray) -> float:
    """Mean pairwise cosine distance (0: all the same direction); exact, via the centroid."""
    if len(vectors) < 2:
        return 0.0
    unit = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    m = len(unit)
    # sum over all pairs of cos = |sum of unit vectors|^2 - m (the diagonal), so no m x m matrix
    mean_cos = (float(np.square(unit.sum(axis=0)).sum()) - m) / (m * (m - 1))
    return round(1.0 - mean_cos, 4)


def diversity(
    sets: dict[str, Sequence[str]], *, embed: Embed | None = None, sample: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Distinct-1/2/3 and dispersion per named set, each on an equal-size seeded sample.

    distinct-n falls as a set grows, so every set is cut to the size of the smallest one.
    """
    sizes = [len(t) for t in sets.values() if len(t)]
    size = min([sample, *sizes]) if sizes else 0
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"sample_size": size, "seed": seed}
    for name, texts in sets.items():
        if not len(texts):
            continue
        picked = [texts[i] for i in sorted(rng.choice(len(texts), size=size, replace=False))]
        row: dict[str, Any] = {f"distinct_{n}": round(distinct_n(picked, n), 4) for n in (1, 2, 3)}
        if embed is not None:
            row["embedding_dispersion"] = dispersion(embed(picked))
        out[name] = row
    return out
