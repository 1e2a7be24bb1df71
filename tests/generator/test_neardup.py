"""Near-duplicate removal and the contamination guard."""

from __future__ import annotations

import random
from itertools import combinations

from generator.items import Title
from generator.neardup import (
    drop_contaminated,
    jaccard,
    near_dedupe,
    neighbourhoods,
    space_set,
    token_set,
)
from tests.fakes.titles import make_title


def test_planted_pairs_are_found_and_first_survives() -> None:
    """A one-word edit of a long title is dropped; the earlier title is the survivor."""
    base = "city council approves new budget for road repairs after long debate on tuesday"
    items = [
        Title(base, "factual", "a"),
        Title("something else entirely different here", "factual", "b"),
        Title(base.replace("tuesday", "monday"), "factual", "c"),
    ]
    res = near_dedupe(items)
    assert [t.call_id for t in res.kept] == ["a", "b"]
    assert res.dropped == {"near_duplicate": 1}
    assert res.examples[0]["matched"] == base and res.examples[0]["jaccard"] >= 0.8


def test_cross_label_cluster_is_dropped_whole() -> None:
    """The same title (near enough) under two labels is a conflict: all members go."""
    t = "you will not believe what this teacher from ohio did with her garden"
    items = [
        Title(t, "clickbait"),
        Title(t.replace("ohio", "iowa"), "factual"),
        Title("plain unrelated headline text here", "factual"),
    ]
    res = near_dedupe(items)
    assert [x.text for x in res.kept] == ["plain unrelated headline text here"]
    assert res.dropped == {"near_conflict": 2}


def test_jaccard_guarantee_by_brute_force() -> None:
    """No two survivors of 2,000 templated titles have word-set Jaccard >= 0.8 (checked pairwise)."""
    rng = random.Random(1)
    items = [Title(make_title(rng.choice(["clickbait", "factual"]), rng), "x") for _ in range(2000)]
    kept = near_dedupe(items, seed=3).kept
    assert len(kept) < len(items)
    for reading in (token_set, space_set):
        sets = [reading(t.text) for t in kept]
        assert max(jaccard(a, b) for a, b in combinations(sets, 2)) < 0.8


def test_deterministic() -> None:
    """Same input, same seed: same survivors."""
    rng = random.Random(2)
    items = [Title(make_title("clickbait", rng), "clickbait") for _ in range(500)]
    assert near_dedupe(items, seed=0).kept == near_dedupe(items, seed=0).kept


def test_contamination_exact_and_near() -> None:
    """Synthetic titles equal or close to real evaluation titles are dropped and counted."""
    real = [
        "Senate passes water infrastructure bill after long delay",
        "Ten things you never knew about cats",
    ]
    items = [
        Title("senate passes water infrastructure bill after long delay!", "factual"),
        Title("Senate passes water infrastructure bill after a long delay", "factual"),
        Title("Stocks rally as inflation cools in spring", "factual"),
    ]
    kept, n, examples = drop_contaminated(items, real)
    assert n == 2 and [t.text for t in kept] == ["Stocks rally as inflation cools in spring"]
    assert examples[0]["matched"] == real[0]


def test_neighbourhoods_group_close_titles_without_chaining() -> None:
    """Close titles share a group; unrelated ones do not."""
    items = [
        Title("a b c d e f g h", "x"),
        Title("a b c d e f g z", "x"),
        Title("p q r s t u v w", "x"),
    ]
    g = neighbourhoods(items)
    assert g[0] == g[1] != g[2]
