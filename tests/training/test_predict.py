"""Batched prediction: same probabilities as one title at a time, input order kept, any padding side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.predict import Predictor

TITLES = [
    "council approves road budget",
    "you won't believe what this mom did with her rent money last week",
    "rates held",
    "ten reasons your cat secretly judges you and the last one will shock you",
    "ministry publishes annual water quality report for the northern region",
    "wow",
] * 3


@pytest.mark.parametrize("side", ["right", "left"])
def test_batched_equals_one_at_a_time(tiny_model_dir: Path, side: str) -> None:
    """Sorting by token length and padding per batch (always right) changes nothing but speed."""
    batched = Predictor(tiny_model_dir, batch_size=4)
    batched.tokenizer.padding_side = side
    single = Predictor(tiny_model_dir, batch_size=1)
    together = batched.predict_proba(TITLES)
    alone = np.vstack([single.predict_proba([t]) for t in TITLES])
    assert together.shape == (len(TITLES), len(batched.labels))
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert [lb for lb, _ in batched.predict(TITLES)] == [lb for lb, _ in single.predict(TITLES)]


def test_empty_input(tiny_model_dir: Path) -> None:
    """No titles: no rows, no crash."""
    assert Predictor(tiny_model_dir).predict([]) == []
