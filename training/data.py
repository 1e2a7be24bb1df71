"""Loading labelled data from a saved DatasetDict, a CSV/JSONL/Parquet file or the Hub."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from datasets import (
    ClassLabel,
    Dataset,
    DatasetDict,
    Features,
    Value,
    concatenate_datasets,
    load_dataset,
    load_from_disk,
)

from training.errors import DataError

SPLITS = ("train", "validation", "test")


def parse_label_map(spec: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """'1=clickbait,0=factual' → {'1': 'clickbait', '0': 'factual'}."""
    if spec is None or isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()} if spec else None
    out = {}
    for part in spec.split(","):
        if "=" not in part:
            raise DataError(
                f"Label map entry {part!r} in {spec!r} is not raw=name: write e.g. '1=clickbait,0=factual'."
            )
        raw, name = (s.strip() for s in part.split("=", 1))
        out[raw] = name
    return out


def read_table(path: Path) -> pd.DataFrame:
    """CSV, JSONL/JSON or Parquet into a DataFrame."""
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".tsv"}:
            return pd.read_csv(
                path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False
            )
        if suffix in {".jsonl", ".json"}:
            return pd.read_json(path, lines=suffix == ".jsonl", dtype=False)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"Could not read {path}: {exc}. Check that it is valid {suffix[1:].upper()}."
        ) from None
    raise DataError(f"Unsupported file type {suffix!r} for {path}: use .csv, .jsonl or .parquet.")


def _to_dataset(
    df: pd.DataFrame,
    source: str,
    text_column: str,
    label_column: str,
    label_map: dict[str, str] | None,
    label_names: Sequence[str] | None,
) -> Dataset:
    """A DataFrame → Dataset(text, label: ClassLabel), with every check that names the fix."""
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} not found; columns present: {list(df.columns)}. "
            "Pass --text-column/--label-column (or --real-text-column/--real-label-column)."
        )
    if df.empty:
        raise DataError(
            f"{source} is empty: it needs rows with {text_column!r} and {label_column!r}."
        )
    raw = df[label_column].astype(str).str.strip()
    labels = raw.map(label_map) if label_map else raw
    unknown = sorted(set(raw[labels.isna()])) if label_map else []
    if unknown:
        raise DataError(
            f"{source}: labels {unknown[:10]} are not in the label map {label_map}: add them to it."
        )
    names = list(label_names) if label_names else sorted(set(labels))
    bad = sorted(set(labels) - set(names))
    if bad:
        raise DataError(
            f"{source}: labels {bad[:10]} are not known labels {names}: map them with "
            "--real-label-map 'raw=name,…' or fix the data."
        )
    texts = df[text_column].astype(str).tolist()
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    index = {n: i for i, n in enumerate(names)}
    return Dataset.from_dict(
        {"text": texts, "label": [index[v] for v in labels]}, features=features
    )


def _from_dataset(
    ds: Dataset,
    source: str,
    text_column: str,
    label_column: str,
    label_map: dict[str, str] | None,
    label_names: Sequence[str] | None,
) -> Dataset:
    """A datasets.Dataset with any label encoding → our schema."""
    feat = ds.features.get(label_column)
    df = ds.to_pandas() if len(ds) else pd.DataFrame(columns=list(ds.features))
    if isinstance(feat, ClassLabel) and label_column in df:
        df[label_column] = [feat.int2str(int(v)) for v in df[label_column]]
    return _to_dataset(df, source, text_column, label_column, label_map, label_names)


def load_labelled(
    source: str,
    *,
    text_column: str = "text",
    label_column: str = "label",
    label_map: str | Mapping[str, str] | None = None,
    label_names: Sequence[str] | None = None,
    split: str | None = None,
) -> Dataset:
    """One labelled Dataset (all splits joined unless `split` is given) with text + ClassLabel label."""
    lmap = parse_label_map(label_map)
    path = Path(source)
    if path.is_dir():
        loaded = load_from_disk(str(path))
        if isinstance(loaded, DatasetDict):
            if split is not None:
                if split not in loaded:
                    raise DataError(f"{source} has no split {split!r}; it has {list(loaded)}.")
                loaded = loaded[split]
            else:
                loaded = concatenate_datasets([loaded[s] for s in loaded])
        names = label_names or (
            loaded.features[label_column].names
            if isinstance(loaded.features.get(label_column), ClassLabel)
            else None
        )
        return _from_dataset(loaded, source, text_column, label_column, lmap, names)
    if path.exists():
        return _to_dataset(read_table(path), source, text_column, label_column, lmap, label_names)
    if path.suffix.lower() in {".csv", ".tsv", ".jsonl", ".json", ".parquet"} or source.startswith(
        (".", "/")
    ):
        raise DataError(f"{source} does not exist: check the path.")
    # a Hub dataset id: the real loading code, used offline only when cached
    loaded = load_dataset(source, split=split or "train")
    return _from_dataset(loaded, source, text_column, label_column, lmap, label_names)


def load_splits(
    source: str, *, text_column: str = "text", label_column: str = "label"
) -> DatasetDict:
    """The train/validation/test DatasetDict to finetune on; a file is split 80/10/10 (seeded)."""
    path = Path(source)
    if path.is_dir():
        dd = load_from_disk(str(path))
        if not isinstance(dd, DatasetDict):
            raise DataError(
                f"{source} holds one Dataset, not a DatasetDict with {SPLITS}: save splits, or pass a file."
            )
        missing = [s for s in SPLITS if s not in dd]
        if missing:
            raise DataError(
                f"{source} lacks split(s) {missing}; it has {list(dd)}. Regenerate it with titleforge generate."
            )
        names = (
            dd["train"].features[label_column].names
            if isinstance(dd["train"].features.get(label_column), ClassLabel)
            else None
        )
        out = DatasetDict(
            {
                s: _from_dataset(dd[s], f"{source}[{s}]", text_column, label_column, None, names)
                for s in SPLITS
            }
        )
    else:
        full = load_labelled(source, text_column=text_column, label_column=label_column)
        first = full.train_test_split(test_size=0.2, seed=0, stratify_by_column="label")
        rest = first["test"].train_test_split(test_size=0.5, seed=0, stratify_by_column="label")
        out = DatasetDict(
            {"train": first["train"], "validation": rest["train"], "test": rest["test"]}
        )
    present = set(out["train"]["label"])
    if len(present) < 2:
        names = out["train"].features["label"].names
        raise DataError(
            f"{source}: the train split has a single class ({[names[i] for i in present]}); "
            "a classifier needs at least two labels."
        )
    return out


def align_labels(ds: Dataset, label_names: Sequence[str], source: str) -> Dataset:
    """Re-index a dataset's labels to the model's label names; unknown labels are an error."""
    have = ds.features["label"].names
    unknown = sorted(set(have[i] for i in set(ds["label"])) - set(label_names))
    if unknown:
        raise DataError(
            f"{source} has labels {unknown} the model does not know ({list(label_names)}): "
            "map them with --real-label-map or drop those rows."
        )
    index = {n: i for i, n in enumerate(label_names)}
    features = Features({"text": Value("string"), "label": ClassLabel(names=list(label_names))})
    return Dataset.from_dict(
        {"text": ds["text"], "label": [index[have[i]] for i in ds["label"]]}, features=features
    )
