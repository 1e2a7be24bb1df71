"""Batch dedupe work on two processes gives exactly the one-process results."""

from __future__ import annotations

import os

import numpy as np
import pytest

from generator import forkmap
from generator.exactkeys import exact_keys
from generator.fastclean import clean_exact, clean_many
from generator.forkmap import fork_map, joined
from generator.nearclusters import near_duplicates
from generator.neardup import similarity
from generator.nearfast import candidate_pairs, title_lsh_keys
from generator.nearverify import verify_pairs
from generator.spec import CleanOptions
from tests.fakes.titles import distinct_titles
from tests.generator.test_fastclean import _titles


def _both(monkeypatch: pytest.MonkeyPatch, fn, *args):  # type: ignore[no-untyped-def]
    """fn(*args) with TITLEFORGE_WORKERS=1 and =2."""
    out = []
    for n in ("1", "2"):
        monkeypatch.setenv("TITLEFORGE_WORKERS", n)
        out.append(fn(*args))
    return out


def test_cleaning_and_keys_are_the_same_on_one_or_two_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hostile titles (newlines, non-ASCII, rejects) clean and key identically either way."""
    monkeypatch.setattr(forkmap, "MIN_ROWS", 100)
    titles = _titles(6_000, seed=4)
    assert any("\n" in t for t in titles) and not all(t.isascii() for t in titles)
    opts = CleanOptions()
    one, two = _both(monkeypatch, clean_many, titles, opts, ["sports"])
    assert one == two and None in one[0] and None in one[1]
    one, two = _both(monkeypatch, exact_keys, titles)
    assert one == two
    one, two = _both(monkeypatch, clean_exact, titles, ["a", "b"] * 3_000, opts, ["sports"])
    assert one == two and one[2]  # some titles dropped, with reasons
    # copies in the second half of the first half's titles: the worker's key hashes meet ours
    again = titles + [t.upper() + " !" for t in titles]
    one, two = _both(monkeypatch, clean_exact, again, ["a"] * 9_000 + ["b"] * 3_000, opts, [])
    assert one == two and one[2]["exact_duplicate"] > 1_000 and one[2]["label_conflict"] > 0


def test_near_dedupe_is_the_same_on_one_or_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Band keys and the whole near-dedupe outcome do not depend on the number of workers."""
    monkeypatch.setattr(forkmap, "MIN_ROWS", 100)
    titles, planted = distinct_titles(20_000, seed=5)
    one, two = _both(monkeypatch, title_lsh_keys, titles, 3)
    assert np.array_equal(one, two) and one.shape == (20, len(titles))
    one, two = _both(monkeypatch, near_duplicates, titles, ["x"] * len(titles))
    assert np.array_equal(one.keep, two.keep) and one.examples == two.examples
    assert (~one.keep).sum() >= 0.95 * len(planted)


def test_candidate_pairs_are_checked_the_same_on_one_or_two_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exact check of LSH candidates splits the pairs over two processes: same pairs pass."""
    monkeypatch.setattr(forkmap, "MIN_ROWS", 100)
    titles, _ = distinct_titles(20_000, seed=6)
    pairs = candidate_pairs(title_lsh_keys(titles, 0))
    assert len(pairs) >= 400
    one, two = _both(monkeypatch, verify_pairs, titles, pairs, 0.8)
    assert np.array_equal(one, two) and 0 < len(one) < len(pairs)
    assert all(similarity(titles[i], titles[j]) >= 0.8 for i, j in one.tolist())
    passed = {(i, j) for i, j in one.tolist()}
    assert all(
        similarity(titles[i], titles[j]) < 0.8 for i, j in pairs.tolist() if (i, j) not in passed
    )


def _pid_and_text(rows: list[str]) -> tuple[np.ndarray, list[str | None]]:
    """Which process handled each row, and the rows (None for empty ones) to ship back."""
    return np.full(len(rows), os.getpid()), [r or None for r in rows]


def test_parts_come_back_in_order_from_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second half runs in another process; strings with newlines and None round-trip."""
    monkeypatch.setattr(forkmap, "MIN_ROWS", 10)
    rows = [f"t{i}\nline" if i % 3 else "" for i in range(100)] + ["é😀", "plain"] * 50
    pids, back = joined(fork_map(_pid_and_text, rows, n_workers=2))
    assert back == [r or None for r in rows]
    assert set(pids[:100]) == {os.getpid()} and os.getpid() not in set(pids[100:])


def _fails_in_a_child(rows: list[str], parent: int) -> tuple[list[str]]:
    """Upper-cases the rows; dies in any process but `parent` (a crashed worker)."""
    if os.getpid() != parent:
        os._exit(3)
    return ([r.upper() for r in rows],)


def test_a_failed_child_part_is_redone_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies costs time, not rows: its part is computed in the parent."""
    monkeypatch.setattr(forkmap, "MIN_ROWS", 10)
    rows = [f"row {i}" for i in range(50)]
    got = joined(fork_map(_fails_in_a_child, rows, os.getpid(), n_workers=2))
    assert got == ([r.upper() for r in rows],)
