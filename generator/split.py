"""Balancing labels and a stratified, seeded split that keeps near-duplicate neighbourhoods together."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Literal

from generator.items import Title, TitleforgeError

SPLITS = ("train", "validation", "test")


def balance(
    items: Sequence[Title], *, strategy: Literal["downsample", "none"] = "downsample", seed: int = 0
) -> list[Title]:
    """Downsample every label to the smallest label's count (seeded), keeping input order."""
    if strategy == "none" or not items:
        return list(items)
    counts = Counter(t.label for t in items)
    target = min(counts.values())
    rng = random.Random(seed)
    keep: set[int] = set()
    for label in sorted(counts):
        idx = [i for i, t in enumerate(items) if t.label == label]
        keep.update(rng.sample(idx, target))
    return [t for i, t in enumerate(items) if i in keep]


def group_members(
    items: Sequence[Title], groups: Sequence[int], counts: Mapping[str, int]
) -> dict[int, list[int]]:
    """Item indices per group, after checking every label can reach all three splits."""
    if len(groups) != len(items):
        raise ValueError("one group id per item is needed")
    small = {lb: n for lb, n in counts.items() if n < 3}
    if small:
        raise TitleforgeError(
            f"Too few titles to split for labels {small}: each label needs at least 3; raise --per-label."
        )
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    return members


def split(
    items: Sequence[Title],
    groups: Sequence[int],
    *,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> dict[str, list[Title]]:
    """Stratified by label, seeded; every group lands whole in one split."""
    counts = Counter(t.label for t in items)
    members = group_members(items, groups, counts)
    # a group is assigned by its majority label; big groups first so small ones can fill the gaps
    rng = random.Random(seed)
    order = list(members)
    rng.shuffle(order)
    order.sort(key=lambda g: -len(members[g]))
    target = {lb: [n * r for r in ratios] for lb, n in counts.items()}
    filled: dict[str, list[int]] = {lb: [0, 0, 0] for lb in counts}
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for g in order:
        idx = members[g]
        label = Counter(items[i].label for i in idx).most_common(1)[0][0]
        # the split furthest below its target share for this label takes the group
        need = [target[label][k] - filled[label][k] for k in range(3)]
        k = max(range(3), key=lambda s: (need[s] / max(target[label][s], 1e-9), -s))
        out[SPLITS[k]].extend(idx)
        for i in idx:
            filled[items[i].label][k] += 1
    return {s: [items[i] for i in sorted(out[s])] for s in SPLITS}
