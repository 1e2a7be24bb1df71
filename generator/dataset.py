"""The DatasetDict of the contract (`text`, `label` as ClassLabel; train/validation/test) and its saving."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from datasets import Sequence as Sequence_

from generator.items import Title


def build_dataset_dict(
    splits: Mapping[str, Sequence[Title]], label_names: Sequence[str]
) -> DatasetDict:
    """Pure: splits of Titles → DatasetDict with a ClassLabel over the task's label names."""
    if any(t.labels for items in splits.values() for t in items):
        return _multi_label_dict(splits, label_names)
    features = Features({"text": Value("string"), "label": ClassLabel(names=list(label_names))})
    index = {name: i for i, name in enumerate(label_names)}
    return DatasetDict(
        {
            name: Dataset.from_dict(
                {"text": [t.text for t in items], "label": [index[t.label] for t in items]},
                features=features,
            )
            for name, items in splits.items()
        }
    )


def _multi_label_dict(
    splits: Mapping[str, Sequence[Title]], label_names: Sequence[str]
) -> DatasetDict:
    """Multi-label tasks: `labels` is a list of ClassLabel ids per title (no `label` column)."""
    classes = ClassLabel(names=list(label_names))
    features = Features({"text": Value("string"), "labels": Sequence_(classes)})
    index = {name: i for i, name in enumerate(label_names)}
    return DatasetDict(
        {
            name: Dataset.from_dict(
                {
                    "text": [t.text for t in items],
                    "labels": [[index[n] for n in t.labels] for t in items],
                },
                features=features,
            )
            for name, items in splits.items()
        }
    )


def save_dataset(dd: DatasetDict, card: str, out_dir: Path) -> None:
    """save_to_disk into a fresh directory (via a temp dir + rename), with the card beside it."""
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    dd.save_to_disk(str(tmp))
    (tmp / "README.md").write_text(card, encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def parquet_files(dd: DatasetDict) -> dict[str, bytes]:
    """The Hub's data files of a DatasetDict (`data/<split>-00000-of-00001.parquet`, as push_to_hub names them)."""
    files = {}
    for name, ds in dd.items():
        buf = io.BytesIO()
        ds.to_parquet(buf)
        files[f"data/{name}-00000-of-00001.parquet"] = buf.getvalue()
    return files


def content_hash(splits: Mapping[str, Sequence[Title]]) -> str:
    """sha256 of every split's (label, text) rows in order: equal for equal datasets, run after run.

    Hashing the saved files would not do: `save_to_disk` stores a random fingerprint per save.
    """
    h = hashlib.sha256()
    for name in sorted(splits):
        h.update(f"\x1e{name}\x1e".encode())
        for t in splits[name]:
            label = "|".join(t.labels) if t.labels else t.label
            h.update(f"{label}\x1f{t.text}\x1d".encode())
    return h.hexdigest()[:16]
