"""Multi-label tasks (`multi_label: true`): label sets per call, the labelled reply, the split."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generator.items import Title
from generator.spec import TaskSpec
from generator.split import group_members

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


def label_set(spec: TaskSpec, label: str, rng: random.Random) -> tuple[str, ...]:
    """The labels one call asks its titles to combine: its own label plus 0..max_labels-1 others.

    Drawn from the call's own seeded rng, so the plan is the same on every restart; spec order.
    """
    others = [n for n in spec.label_names if n != label]
    extra = rng.randrange(min(spec.max_labels, len(others) + 1))
    chosen = {label, *rng.sample(others, extra)}
    return tuple(n for n in spec.label_names if n in chosen)


def labelled_schema(label_names: Sequence[str]) -> dict[str, Any]:
    """Ollama's structured-output schema: titles, each with its labels (an enum of the task's)."""
    return {
        "type": "object",
        "properties": {
            "titles": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "labels": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(label_names)},
                        },
                    },
                    "required": ["text", "labels"],
                },
            }
        },
        "required": ["titles"],
    }


@dataclass
class LabelledParse:
    """Titles with their label sets (aligned), and what was dropped on the way, by reason."""

    titles: list[str] = field(default_factory=list)
    label_sets: list[list[str]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


def _decode(text: str) -> Any:
    """The first candidate span (whole text, a fenced block, the outer {...}) that is JSON."""
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for cand in candidates:
        try:
            return json.loads(cand)
        except (json.JSONDecodeError, ValueError):
            continue
    return None


def parse_labelled(text: str | None, label_names: Sequence[str]) -> LabelledParse:
    """Titles and label sets from a structured reply; never raises, every drop counted.

    Label names are matched case-insensitively; unknown names are removed (counted), and a title
    left without a known label is dropped: the label set must come from the model, not be guessed.
    """
    out = LabelledParse()
    if not text or not text.strip():
        out.dropped["empty_reply"] += 1
        return out
    obj = _decode(text)
    items = obj.get("titles") if isinstance(obj, dict) else obj
    if not isinstance(items, list):
        out.dropped["unparsed_reply"] += 1
        return out
    known = {n.casefold(): n for n in label_names}
    for item in items:
        if not isinstance(item, dict):
            out.dropped["no_labels"] += 1
            continue
        title = item.get("text") or item.get("title") or item.get("headline")
        raw = item.get("labels", item.get("label"))
        raw = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        if not isinstance(title, str) or not title.strip():
            out.dropped["blank"] += 1
            continue
        names = [known.get(str(r).strip().casefold()) for r in raw]
        if any(n is None for n in names):
            out.dropped["unknown_label_name"] += sum(n is None for n in names)
        chosen = {n for n in names if n}
        if not chosen:
            out.dropped["no_labels"] += 1
            continue
        out.titles.append(title)
        out.label_sets.append([n for n in label_names if n in chosen])
    return out


def label_counts(items: Sequence[Title]) -> dict[str, int]:
    """Titles carrying each label (a title with two labels counts for both)."""
    return dict(Counter(n for t in items for n in (t.labels or (t.label,))))


def multi_hot(items: Sequence[Title], label_names: Sequence[str]) -> np.ndarray:
    """(n, labels) 0/1 matrix of the items' label sets."""
    index = {n: i for i, n in enumerate(label_names)}
    y = np.zeros((len(items), len(label_names)), dtype=np.int64)
    for row, t in enumerate(items):
        for n in t.labels or (t.label,):
            y[row, index[n]] = 1
    return y


def iterative_split(
    items: Sequence[Title],
    groups: Sequence[int],
    label_names: Sequence[str],
    *,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> dict[str, list[Title]]:
    """Iterative stratification (Sechidis et al. 2011, Szymański & Kajdanowicz 2017), seeded.

    `iterstrat`'s MultilabelStratifiedShuffleSplit runs over near-duplicate groups (one row per
    group, the union of its members' labels) so a group lands whole in one split: train against
    the rest, then the rest into validation and test.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    counts = label_counts(items)
    members = group_members(items, groups, {n: counts.get(n, 0) for n in label_names})
    gids = list(members)
    y = np.zeros((len(gids), len(label_names)), dtype=np.int64)
    hot = multi_hot(items, label_names)
    for row, g in enumerate(gids):
        y[row] = hot[members[g]].max(axis=0)
    rest = ratios[1] + ratios[2]
    first = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=rest, random_state=seed)
    train_g, rest_g = next(first.split(np.zeros(len(gids)), y))
    second = MultilabelStratifiedShuffleSplit(
        n_splits=1, test_size=ratios[2] / rest, random_state=seed
    )
    val_r, test_r = next(second.split(np.zeros(len(rest_g)), y[rest_g]))
    parts = {"train": train_g, "validation": rest_g[val_r], "test": rest_g[test_r]}
    return {
        name: [items[i] for i in sorted(i for g in part for i in members[gids[g]])]
        for name, part in parts.items()
    }
