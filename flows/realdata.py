"""Real, human-labelled data handed to the generator as `Title`s (loading lives in training.data)."""

from __future__ import annotations

from collections.abc import Sequence

from flows.config import RealDataOptions
from generator.items import Title
from training.data import load_labelled


def load_real_titles(opts: RealDataOptions, label_names: Sequence[str] | None) -> list[Title]:
    """Load a labelled file/dir/Hub id and return its rows as Titles with label names."""
    ds = load_labelled(
        opts.source,
        text_column=opts.text_column,
        label_column=opts.label_column,
        label_map=opts.label_map,
        label_names=list(label_names) if label_names else None,
    )
    names = ds.features["label"].names
    return [Title(text=t, label=names[y]) for t, y in zip(ds["text"], ds["label"], strict=True)]
