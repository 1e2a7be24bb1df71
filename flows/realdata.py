"""Real, human-labelled data handed to the generator as `Title`s (loading lives in training.data)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flows.config import RealDataOptions
from generator.items import Title
from generator.rawlog import read_rows
from training.data import load_labelled


def load_real_titles(
    opts: RealDataOptions, label_names: Sequence[str] | None, *, multi_label: bool = False
) -> list[Title]:
    """Load a labelled file/dir/Hub id and return its rows as Titles with label names.

    `multi_label`: the label column holds sets ('Politics|Economy'); each Title gets its set.
    """
    if multi_label and label_names:
        from training.multilabel import load_real_sets

        sets = load_real_sets(opts.source, label_names, opts.text_column, opts.label_column)
        out = []
        for text, row in zip(sets["text"], sets["labels"], strict=True):
            names = tuple(n for n, v in zip(label_names, row, strict=True) if v >= 0.5)
            out.append(Title(text=text, label=names[0], labels=names))
        return out
    ds = load_labelled(
        opts.source,
        text_column=opts.text_column,
        label_column=opts.label_column,
        label_map=opts.label_map,
        label_names=list(label_names) if label_names else None,
    )
    names = ds.features["label"].names
    return [Title(text=t, label=names[y]) for t, y in zip(ds["text"], ds["label"], strict=True)]


def is_raw_log(source: str) -> bool:
    """Whether `source` is a titleforge raw.jsonl (one LLM call per row, titles as a list)."""
    path = Path(source)
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
    return '"call_id"' in first and '"titles"' in first


def load_audit_titles(opts: RealDataOptions) -> list[Title]:
    """Titles to audit: a raw.jsonl's uncleaned titles labelled by their call, or any labelled data."""
    if is_raw_log(opts.source):
        return [
            Title(t, r["label"], r["call_id"])
            for r in read_rows(Path(opts.source))
            for t in r.get("titles") or ()
        ]
    return load_real_titles(opts, None)
