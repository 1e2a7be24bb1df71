"""Label-noise check: flipped labels on a synthetic dataset are found with cleanlab."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.fakes.titles import make_title
from training.labelnoise import find_label_noise, text_features

NAMES = ["clickbait", "factual"]


@pytest.mark.parametrize("features", ["tfidf", "minilm"])
def test_five_percent_flipped_labels_are_found(
    features: str, request: pytest.FixtureRequest
) -> None:
    """Flip 5% of 1,200 generated titles: recall >= 0.8 at precision >= 0.8, with either features."""
    encoder = request.getfixturevalue("minilm") if features == "minilm" else None
    rng = random.Random(7)
    texts = [make_title(NAMES[i % 2], rng) for i in range(1200)]
    y = np.array([i % 2 for i in range(1200)])
    flip = np.random.default_rng(7).choice(len(y), size=len(y) // 20, replace=False)
    noisy = y.copy()
    noisy[flip] = 1 - noisy[flip]

    result = find_label_noise(text_features(texts, encoder), noisy, NAMES, folds=5, seed=0)

    found, planted = set(result.indices), set(flip.tolist())
    recall = len(found & planted) / len(planted)
    precision = len(found & planted) / max(1, len(found))
    assert recall >= 0.8 and precision >= 0.8, (recall, precision)
    # flagged rows name the label the probe believes, which undoes the flip
    assert all(
        s == y[i] for i, s in zip(result.indices, result.suggested, strict=True) if i in planted
    )
    block = result.summary(texts, NAMES)
    assert block["flagged"] == len(found) and sum(block["per_label"].values()) == len(found)
    assert block["examples"][0]["given"] != block["examples"][0]["suggested"]


def test_clean_labels_flag_little() -> None:
    """Well-separated clusters with clean labels: almost nothing is flagged (no false alarm)."""
    rng = np.random.default_rng(0)
    features = np.vstack([rng.normal(-2, 1, (200, 8)), rng.normal(2, 1, (200, 8))])
    labels = np.array([0] * 200 + [1] * 200)
    result = find_label_noise(features, labels, NAMES, seed=0)
    assert len(result.indices) <= 4


def test_a_label_with_one_title_is_refused() -> None:
    """Cross-validation needs two titles of every label; say so instead of crashing in sklearn."""
    with pytest.raises(ValueError, match="at least 2 titles"):
        find_label_noise(np.zeros((5, 3)), [0, 0, 0, 0, 1], NAMES)
