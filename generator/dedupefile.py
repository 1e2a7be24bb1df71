"""`titleforge dedupe`: the pipeline's clean + exact + near-duplicate steps on any CSV/JSONL/Parquet file."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from generator.items import TitleforgeError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
STEPS = ["read", "clean", "exact", "minhash", "lsh", "verify", "clusters", "write"]


class DedupeOptions(BaseModel):
    """What `titleforge dedupe` reads, how it decides, and where it writes."""

    model_config = ConfigDict(extra="forbid")

    source: Path = Field(description="Input file: .csv, .jsonl or .parquet with a `text` column.")
    out: Path = Field(description="Output file (.csv, .jsonl or .parquet): survivors, all columns.")
    threshold: float = Field(
        0.8, gt=0, le=1, description="Near duplicates: word-set Jaccard at or above this."
    )
    seed: int = Field(0, description="Seed of the MinHash permutations (recorded in the summary).")
    task: str | None = Field(
        None,
        description="Task spec (name or YAML) whose cleaning options and label names apply, as "
        "in `generate`; default: the default cleaning options and no label names.",
    )


class DedupeFileError(TitleforgeError):
    """A bad input or output path or file; the message names the fix."""


@dataclass
class DedupeSummary:
    """Rows in and out, drops by reason, seconds per step."""

    rows_in: int
    rows_out: int
    dropped: Counter[str]
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def work_s(self) -> float:
        """Wall seconds of dedupe work: clean, exact and near steps (reading and writing excluded)."""
        return sum(v for k, v in self.seconds.items() if k not in {"read", "write"})

    @property
    def total_s(self) -> float:
        """Wall seconds of the whole command after start-up: read, work and write."""
        return sum(self.seconds.values())

    @property
    def total_cpu_s(self) -> float:
        """CPU seconds of the same, worker processes included."""
        return sum(self.cpu_seconds.values())

    @property
    def work_cpu_s(self) -> float:
        """CPU seconds of the same work, all threads and worker processes (a busy machine inflates
        wall time, not this)."""
        return sum(v for k, v in self.cpu_seconds.items() if k not in {"read", "write"})


def _format(path: Path, flag: str) -> str:
    """The file format from the extension, or a user error naming the accepted ones."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DedupeFileError(
            f"{flag} {path} has the extension {path.suffix or '(none)'!r}, which titleforge cannot "
            "read or write: use a .csv, .jsonl or .parquet file (for other formats, convert "
            "first, e.g. with pandas)."
        )
    return fmt


def check_paths(opts: DedupeOptions) -> None:
    """Fail before any work on a missing input or an unusable extension."""
    _format(opts.source, "IN")
    _format(opts.out, "--out")
    if not opts.source.is_file():
        raise DedupeFileError(
            f"IN {opts.source} does not exist (looked for {opts.source.absolute()}): check the "
            "path, or create the file with a `text` column (one title per row)."
        )


def read_table(path: Path) -> Any:
    """The file as a pandas DataFrame (every column as read; `text` must be there)."""
    import pandas as pd

    fmt = _format(path, "IN")
    try:
        if fmt == "csv":
            # other columns keep their inferred types; titles stay text ("NA" is a word here)
            opts: dict[str, Any] = {"dtype": {"text": str}, "keep_default_na": False}
            try:  # Arrow's reader is multi-threaded: 1M rows in a third of the C engine's time
                df = pd.read_csv(path, engine="pyarrow", **opts)
            except Exception:  # what it cannot parse, the C engine may (or names the fault)
                df = pd.read_csv(path, **opts)
        elif fmt == "jsonl":
            df = pd.read_json(path, lines=True, dtype=False)
        else:
            df = pd.read_parquet(path)
    except Exception as exc:  # parser errors of three libraries: all mean "not that format"
        raise DedupeFileError(
            f"IN {path} could not be read as {fmt.upper()} ({type(exc).__name__}: "
            f"{str(exc)[:200]}): check that the file is complete and really {fmt.upper()}."
        ) from None
    if "text" not in df.columns:
        cols = ", ".join(map(str, df.columns[:10])) or "none"
        raise DedupeFileError(
            f"IN {path} has no `text` column (columns: {cols}): rename the column holding the "
            "titles to `text` and run the command again."
        )
    return df


def write_table(df: Any, path: Path) -> None:
    """Write the survivors in the format of the output's extension."""
    fmt = _format(path, "--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        df.to_parquet(path, index=False)


def dedupe_frame(
    df: Any, opts: DedupeOptions, on_step: Callable[[str], None] | None = None
) -> tuple[Any, DedupeSummary]:
    """Clean, exact- and near-dedupe the `text` column: the pipeline's functions, file rows in."""
    from generator.fastclean import clean_exact
    from generator.forkmap import cpu_seconds
    from generator.nearclusters import near_duplicates
    from generator.spec import CleanOptions, load_spec

    spec = load_spec(opts.task) if opts.task else None
    cleaning = spec.cleaning if spec else CleanOptions()
    names = spec.label_names if spec else []
    texts = ["" if t is None else str(t) for t in df["text"].tolist()]
    # a label column makes cross-label copies conflicts (dropped whole), as in the pipeline
    labels = [str(v) for v in df["label"].tolist()] if "label" in df.columns else [""] * len(texts)
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0 = [time.perf_counter(), cpu_seconds()]

    def step(name: str) -> None:
        """Close the running step's clocks and announce the next one."""
        now, now_cpu = time.perf_counter(), cpu_seconds()
        prev = STEPS[STEPS.index(name) - 1]
        seconds[prev] = seconds.get(prev, 0.0) + now - t0[0]
        cpu[prev] = cpu.get(prev, 0.0) + now_cpu - t0[1]
        t0[:] = [now, now_cpu]
        if on_step:
            on_step(name)

    step("clean")
    idx, cleaned, dropped = clean_exact(texts, labels, cleaning, names, on_step=step)
    near = near_duplicates(
        cleaned,
        [labels[i] for i in idx],
        threshold=opts.threshold,
        seed=opts.seed,
        on_step=step,
    )
    step("write")
    if len(near.duplicate):
        dropped["near_duplicate"] += len(near.duplicate)
    if len(near.conflict):
        dropped["near_conflict"] += len(near.conflict)
    keep = near.keep.tolist()
    rows = [i for i, k in zip(idx, keep, strict=True) if k]
    out = df.iloc[rows].copy()
    out["text"] = [t for t, k in zip(cleaned, keep, strict=True) if k]
    return out, DedupeSummary(len(texts), len(out), dropped, seconds, cpu)


def run_dedupe(opts: DedupeOptions, on_step: Callable[[str], None] | None = None) -> DedupeSummary:
    """Read, dedupe and write one file; the summary has drops by reason and step timings."""
    from generator.forkmap import cpu_seconds

    check_paths(opts)
    t0, c0 = time.perf_counter(), cpu_seconds()
    df = read_table(opts.source)
    read_s, read_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    out, summary = dedupe_frame(df, opts, on_step)
    t1, c1 = time.perf_counter(), cpu_seconds()
    write_table(out, opts.out)
    summary.seconds["read"], summary.cpu_seconds["read"] = read_s, read_cpu
    summary.seconds["write"] = time.perf_counter() - t1
    summary.cpu_seconds["write"] = cpu_seconds() - c1
    return summary
