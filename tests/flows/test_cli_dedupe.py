"""`titleforge dedupe`: the pipeline's clean + exact + near dedupe on files, as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from generator.nearexact import reference_drops
from tests.fakes.titles import distinct_titles

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    """Run the CLI; exit code and everything it printed."""
    res = runner.invoke(app, ["dedupe", *map(str, args)])
    return res.exit_code, res.output


def _work_seconds(output: str) -> tuple[float, float]:
    """The dedupe work time the command reports: wall and CPU seconds."""
    m = re.search(r"dedupe work ([\d.]+) s,\s+([\d.]+) CPU s", output.replace("\n", " "))
    assert m, output
    return float(m.group(1)), float(m.group(2))


def _total_seconds(output: str) -> tuple[float, float]:
    """The whole command's time it reports (read, work, write): wall and CPU seconds."""
    m = re.search(r"in all ([\d.]+) s,\s+([\d.]+) CPU s", output.replace("\n", " "))
    assert m, output
    return float(m.group(1)), float(m.group(2))


def test_recall_and_precision_against_exact_jaccard(tmp_path: Path) -> None:
    """20k titles: drops match the exact-Jaccard clustering (>= 0.95 both ways); planted found."""
    titles, planted = distinct_titles(20_000, seed=3)
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": titles, "row": range(len(titles))}).to_csv(src, index=False)
    code, output = _run(src, "--out", tmp_path / "out.csv")
    assert code == 0, output
    kept = set(map(int, pd.read_csv(tmp_path / "out.csv")["row"]))
    dropped = set(range(len(titles))) - kept
    # ground truth: every pair with exact word-set Jaccard >= 0.8 (cleaning only strips end marks)
    truth = reference_drops(titles, 0.8)
    assert len(truth) >= len(planted)
    hit = len(dropped & truth)
    assert hit / len(truth) >= 0.95 and hit / len(dropped) >= 0.95
    assert sum(j in dropped for _, j in planted) / len(planted) >= 0.95
    assert "near_duplicate" in output


def test_drop_reasons_and_other_columns(tmp_path: Path) -> None:
    """Each drop reason is counted in the summary; survivors keep their other columns."""
    base = "City council approves new budget for road repairs after a long debate"
    rows = [
        (base, "factual", 1),
        (base.upper() + "!", "factual", 2),  # exact duplicate (case and end mark ignored)
        (base.replace("long", "short"), "factual", 3),  # near duplicate
        ("Stocks rally as inflation cools in spring", "factual", 4),
        ("Stocks rally as inflation cools in spring", "clickbait", 5),  # label conflict
        ("Too short", "factual", 6),
        ("I'm sorry, I cannot write that headline", "factual", 7),
        ("You will not believe what this teacher from Ohio did with her garden", "clickbait", 8),
        ("You will not believe what this teacher from Iowa did with her garden", "factual", 9),
    ]
    src = tmp_path / "in.jsonl"
    pd.DataFrame(rows, columns=["text", "label", "id"]).to_json(src, orient="records", lines=True)
    code, output = _run(src, "--out", tmp_path / "out.parquet")
    assert code == 0, output
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["id"].tolist() == [1] and list(out.columns) == ["text", "label", "id"]
    for reason, count in [
        ("exact_duplicate", 1),
        ("near_duplicate", 1),
        ("label_conflict", 2),
        ("too_short", 1),
        ("refusal", 1),
        ("near_conflict", 2),
    ]:
        assert re.search(rf"dropped: {reason}\s*│\s*{count}\b", output), (reason, output)


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_every_format_round_trips(tmp_path: Path, ext: str) -> None:
    """CSV, JSONL and Parquet in and out; the cleaned text is written, extra columns kept."""
    df = pd.DataFrame(
        {"text": ["Senate passes the water bill after delay!!", "Stocks rally today"], "n": [1, 2]}
    )
    src = tmp_path / f"in.{ext}"
    {
        "csv": lambda: df.to_csv(src, index=False),
        "jsonl": lambda: df.to_json(src, orient="records", lines=True),
        "parquet": lambda: df.to_parquet(src),
    }[ext]()
    code, output = _run(src, "--out", tmp_path / f"out.{ext}")
    assert code == 0, output
    back = {
        "csv": pd.read_csv,
        "jsonl": lambda p: pd.read_json(p, lines=True),
        "parquet": pd.read_parquet,
    }[ext](tmp_path / f"out.{ext}")
    assert back["text"].tolist() == [
        "Senate passes the water bill after delay",
        "Stocks rally today",
    ]
    assert back["n"].tolist() == [1, 2]


def test_bad_inputs_exit_2_with_the_fix(tmp_path: Path) -> None:
    """Missing file, missing `text` column, unknown extension: exit 2, one paragraph, no traceback."""
    code, output = _run(tmp_path / "missing.csv", "--out", tmp_path / "o.csv")
    assert code == 2 and "does not exist" in output and "Traceback" not in output
    no_text = tmp_path / "titles.csv"
    pd.DataFrame({"title": ["a b c"]}).to_csv(no_text, index=False)
    code, output = _run(no_text, "--out", tmp_path / "o.csv")
    assert code == 2 and "no `text` column" in output and "title" in output
    code, output = _run(no_text, "--out", tmp_path / "o.xlsx")
    assert code == 2 and ".csv, .jsonl or .parquet" in output
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.xlsx").exists()


@pytest.mark.slow
def test_one_million_titles_deduped_finding_the_planted_pairs(tmp_path: Path) -> None:
    """1M titles, 2% planted one-word edits: >= 95% of the pairs found, CPU seconds well bounded.

    The command runs in its own process; the figures it prints leave out interpreter start-up
    and imports, and its CPU seconds include its worker process. The issue's goal is <= 10 s of
    work on 2 cores: on a quiet 2-core machine the work took 6.7 s (the command 9.4 s with
    start-up, read and write). Wall time only means something on a quiet machine, so it is
    asserted only when the load average says the cores were free.
    """
    titles, planted = distinct_titles(1_000_000, seed=7, planted_frac=0.02)
    src = tmp_path / "big.csv"
    pd.DataFrame({"text": titles, "row": range(len(titles))}).to_csv(src, index=False)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    # the real command in its own process: its CPU figures then hold only its own work and its
    # worker, not other tests' threads or children reaped meanwhile (seen: CI ran over 20 CPU s
    # in-process right after the card tests; the same run alone took 17)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "dedupe",
            str(src),
            "--out",
            str(tmp_path / "out.parquet"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    code, output = proc.returncode, proc.stdout + proc.stderr
    wall = time.perf_counter() - t0
    assert code == 0, output
    kept = set(map(int, pd.read_parquet(tmp_path / "out.parquet", columns=["row"])["row"]))
    assert len(kept) >= 0.97 * len(titles)  # the survivors really are read back
    found = sum(j not in kept for _, j in planted) / len(planted)
    work, work_cpu = _work_seconds(output)
    total, total_cpu = _total_seconds(output)
    print(
        f"1M at load {load:.1f}: command {wall:.2f} s wall ({total:.2f} s read + work + write, "
        f"{total_cpu:.2f} CPU s); dedupe work {work:.2f} s, {work_cpu:.2f} CPU s; found {found:.4f}"
    )
    assert found >= 0.95
    if load < 1.5:
        assert work <= 10.0, output
    # a guard against regressions, not the goal: 13 CPU s on a quiet machine, more when another
    # job shares the 2 cores (CPU seconds grow under contention too); before the two-process
    # path it took 26-28
    assert total_cpu <= 30.0, output
