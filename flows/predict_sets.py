"""`titleforge predict` output for a multi-label model: the label set of each title, with scores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from training.thresholds import label_sets


def print_label_sets(texts: Sequence[str], predictor: Any, as_json: bool) -> None:
    """One line per title: labels at or above their thresholds (best first) and their scores."""
    from flows.cli_model import printable

    probs = predictor.predict_proba(texts)
    sets = label_sets(probs, predictor.labels, predictor.thresholds)
    for text, row, hits in zip(texts, probs, sets, strict=True):
        if as_json:
            scores = {n: round(float(p), 4) for n, p in zip(predictor.labels, row, strict=True)}
            print(json.dumps({"text": text, "labels": [n for n, _ in hits], "scores": scores}))
        else:
            shown = ",".join(f"{n}:{p:.4f}" for n, p in hits) or "-"
            print(f"{shown}\t{printable(text)}")
