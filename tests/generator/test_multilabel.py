"""Multi-label generation: the labelled reply, the seeded label sets, dedupe and the iterative split."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from generator.clean import exact_dedupe
from generator.items import Title, TitleforgeError
from generator.multilabel import iterative_split, label_counts, parse_labelled
from generator.prompting import plan_call
from generator.spec import load_spec

NAMES = ["Politics", "Economy", "Health"]


@pytest.mark.parametrize(
    ("reply", "titles", "sets", "dropped"),
    [
        (
            json.dumps({"titles": [{"text": "Ministers fight over bread prices", "labels": ["Economy", "Politics"]}]}),
            ["Ministers fight over bread prices"], [["Politics", "Economy"]], {},
        ),
        (  # fenced, lower-case names, one unknown name removed (and counted)
            '```json\n{"titles": [{"text": "Clinics face flu wave", "labels": ["health", "Sports"]}]}\n```',
            ["Clinics face flu wave"], [["Health"]], {"unknown_label_name": 1},
        ),
        (  # no known label left, or none given: the title goes, the set is never guessed
            json.dumps({"titles": [{"text": "A", "labels": ["Sports"]}, "Plain string title", {"text": "B"}]}),
            [], [], {"unknown_label_name": 1, "no_labels": 3},
        ),
        ("Sure! Here are some titles:\n1. One\n2. Two", [], [], {"unparsed_reply": 1}),
        ("", [], [], {"empty_reply": 1}),
        (json.dumps({"titles": [{"text": "  ", "labels": ["Health"]}]}), [], [], {"blank": 1}),
    ],
)  # fmt: skip
def test_labelled_replies_parse_tolerantly_and_count_every_drop(
    reply: str, titles: list[str], sets: list[list[str]], dropped: dict[str, int]
) -> None:
    """Titles with their label sets in task order; bad items counted by reason, never raised."""
    parsed = parse_labelled(reply, NAMES)
    assert parsed.titles == titles
    assert parsed.label_sets == sets
    assert dict(parsed.dropped) == dropped


def test_each_call_asks_for_a_seeded_label_set_that_holds_its_own_label() -> None:
    """Same seed, same plan; the call's label is in its set; at most max_labels labels."""
    spec = load_spec("news_themes")
    plans = [plan_call(spec, "Health", i, 7) for i in range(30)]
    again = [plan_call(spec, "Health", i, 7) for i in range(30)]
    assert [p.labels for p in plans] == [p.labels for p in again]
    assert all("Health" in p.labels and len(p.labels) <= spec.max_labels for p in plans)
    sizes = Counter(len(p.labels) for p in plans)
    assert set(sizes) == set(range(1, spec.max_labels + 1))  # singles and combinations
    assert all(f"Themes: {', '.join(p.labels)}" in p.prompt for p in plans)
    other = [plan_call(spec, "Health", i, 8).labels for i in range(30)]
    assert other != [p.labels for p in plans]


def test_exact_duplicates_merge_when_their_sets_agree_and_go_when_they_conflict() -> None:
    """Same text, same set: one kept (exact_duplicate); same text, other set: all copies dropped."""
    items = [
        Title("Budget vote delayed", "Politics", "c1", ("Politics", "Economy")),
        Title("Budget vote delayed!", "Economy", "c2", ("Politics", "Economy")),
        Title("Flu cases rise", "Health", "c3", ("Health",)),
        Title("flu cases rise", "Economy", "c4", ("Economy", "Health")),
    ]
    kept, dropped = exact_dedupe(items)
    assert [t.call_id for t in kept] == ["c1"]
    assert dropped == {"exact_duplicate": 1, "label_conflict": 2}


def _random_items(n: int, seed: int) -> list[Title]:
    """Titles with random label sets whose label frequencies differ a lot."""
    rng = random.Random(seed)
    weights = {"Politics": 0.6, "Economy": 0.3, "Health": 0.1}
    items = []
    for i in range(n):
        labels = tuple(name for name in NAMES if rng.random() < weights[name]) or ("Politics",)
        items.append(Title(f"title {i}", labels[0], f"c{i}", labels))
    return items


def test_iterative_split_keeps_every_label_near_the_ratios_and_groups_whole() -> None:
    """Each label's titles split about 80/10/10 (also the rare one); a group never straddles."""
    items = _random_items(600, seed=1)
    groups = [i // 2 if i < 100 else i for i in range(len(items))]  # 50 pairs of neighbours
    parts = iterative_split(items, groups, NAMES, seed=3)
    assert sum(len(p) for p in parts.values()) == len(items)
    totals = label_counts(items)
    for name, ratio in zip(("train", "validation", "test"), (0.8, 0.1, 0.1), strict=True):
        counts = label_counts(parts[name])
        for label in NAMES:
            assert abs(counts.get(label, 0) / totals[label] - ratio) <= 0.04, (name, label)
    where = {t.call_id: name for name, part in parts.items() for t in part}
    for i in range(0, 100, 2):
        assert where[f"c{i}"] == where[f"c{i + 1}"]
    assert iterative_split(items, groups, NAMES, seed=3) == parts
    assert iterative_split(items, groups, NAMES, seed=4) != parts


def test_iterative_split_refuses_a_label_with_too_few_titles() -> None:
    """A label on fewer than 3 titles cannot reach every split: the error names the fix."""
    items = [Title(f"t {i}", "Politics", f"c{i}", ("Politics",)) for i in range(20)]
    items.append(Title("one health title", "Health", "h", ("Health",)))
    with pytest.raises(TitleforgeError, match="raise --per-label"):
        iterative_split(items, list(range(len(items))), NAMES)
