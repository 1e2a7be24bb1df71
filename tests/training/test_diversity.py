"""Diversity measures: distinct-n and embedding dispersion behave as their definitions say."""

from __future__ import annotations

import numpy as np
import pytest

from training.diversity import dispersion, distinct_n, diversity


def test_distinct_n_counts_repeated_ngrams() -> None:
    """Repeating a title halves distinct-n; different titles keep it at 1."""
    assert distinct_n(["a b c", "d e f"], 1) == 1.0
    assert distinct_n(["a b c", "a b c"], 2) == 0.5
    assert distinct_n(["Big News", "big news!"], 1) == 0.5  # casefolded words


def test_dispersion_matches_the_pairwise_definition() -> None:
    """The centroid shortcut equals the mean of all pairwise cosine distances."""
    x = np.random.default_rng(0).normal(size=(40, 6))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = unit @ unit.T
    brute = 1 - cos[~np.eye(40, dtype=bool)].mean()
    assert dispersion(x) == pytest.approx(brute, abs=1e-4)
    assert dispersion(np.ones((5, 3))) == pytest.approx(0.0, abs=1e-6)


def test_sets_are_compared_on_equal_samples() -> None:
    """A templated set scores lower than a varied one even when it is larger."""
    templated = [f"you won't believe this {i % 5}" for i in range(500)]
    varied = [f"w{i} x{i * 7} y{i * 13} z{i * 17}" for i in range(60)]
    out = diversity({"synthetic": templated, "real": varied}, seed=1)
    assert out["sample_size"] == 60
    assert out["synthetic"]["distinct_2"] < out["real"]["distinct_2"]
    assert "embedding_dispersion" not in out["real"]
    with_embed = diversity(
        {"a": varied}, embed=lambda t: np.random.default_rng(0).normal(size=(len(t), 4))
    )
    assert 0.5 < with_embed["a"]["embedding_dispersion"] < 1.5
