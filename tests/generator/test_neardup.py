"""Near-duplicate removal and the contamination guard."""

from __future__ import annotations

import random
from itertools import combinations, pairwise

import numpy as np

from generator.items import Title
from generator.nearclusters import components
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


def _components_by_search(edges: list[tuple[int, int]], n: int) -> list[int]:
    """Smallest node of each node's component, by plain graph search."""
    nbrs: dict[int, set[int]] = {k: set() for k in range(n)}
    for i, j in edges:
        nbrs[i].add(j)
        nbrs[j].add(i)
    out = list(range(n))
    for start in range(n):
        if out[start] != start:
            continue
        todo = [start]
        while todo:
            for k in nbrs[todo.pop()]:
                if out[k] == k and k != start:
                    out[k] = start
                    todo.append(k)
    return out


def test_components_match_a_graph_search_on_random_graphs_and_long_chains() -> None:
    """Each node gets its component's smallest node, whatever the edges' order or shape."""
    rng = random.Random(3)
    for trial in range(60):
        n = rng.randint(2, 300)
        if trial % 3:
            edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(1, 2 * n))]
        else:  # one long chain through the nodes in random order
            order = rng.sample(range(n), n)
            edges = list(pairwise(order))[: rng.randint(1, n)]
        got = components(np.array(edges, dtype=np.int64).reshape(-1, 2), n)
        assert got.tolist() == _components_by_search(edges, n)
