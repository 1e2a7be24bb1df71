"""Feedback rounds: mistakes on the real selection part steer the next round; no real title leaks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.history import read_history
from tests.conftest import REAL_DIR
from tests.fakes.ollama_server import FakeConfig, FakeOllama
from training.feedback import derive_guidance


def test_guidance_names_the_confusion_and_the_subjects_of_the_mistakes() -> None:
    """Mistakes on sport titles called factual: guidance says so, with sport words, no real title."""
    names = ["clickbait", "factual"]
    texts = [
        "You will not believe this football transfer",
        "This football coach did something amazing",
        "Fans lose it over football final twist",
        "Why football stars hate this one trick",
        "Ten celebrity diets that shocked doctors",
        "Parliament passes budget bill",
        "Central bank holds rates steady",
        "Court rejects appeal in tax case",
    ]
    gold = [0, 0, 0, 0, 0, 1, 1, 1]
    preds = [1, 1, 1, 1, 0, 1, 1, 1]  # every football clickbait title was called factual
    synth = ["Football star reveals secret", "Amazing diet trick", "Minister opens bridge"]
    guidance = derive_guidance(texts, gold, preds, names, synth, [0, 0, 1])
    lines = guidance["lines"]["clickbait"]
    assert "factual" not in guidance["lines"]  # no factual title was mistaken
    assert "mistaken for factual" in lines[0]
    assert any("football" in line for line in lines)
    assert any("Football star reveals secret" in line for line in lines)  # a synthetic example
    assert guidance["confusions"] == [
        {"gold": "clickbait", "predicted": "factual", "n": 4, "of": 5}
    ]
    assert not any(t.lower() in " ".join(lines).lower() for t in texts)


def _real_titles(path: Path, column: str) -> set[str]:
    """Every title of a real CSV, casefolded."""
    with path.open(encoding="utf-8") as fh:
        return {row[column].strip().casefold() for row in csv.DictReader(fh) if row[column]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "real_file"),
    [("clickbait", "stop_clickbait_dev.csv"), ("news_topic", "ag_news_titles_dev.csv")],
)
def test_three_feedback_rounds_link_errors_to_prompts_and_leak_no_real_title(
    tmp_path: Path, tiny_albert: Path, task: str, real_file: str
) -> None:
    """`run --rounds 3`: rounds 2 and 3 prompt with the guidance of the round before; no leaks."""
    real = REAL_DIR / real_file
    if not real.exists():
        pytest.skip(f"real data not found at {real}")
    runs = tmp_path / "runs"
    with FakeOllama(FakeConfig(seed=6)) as fake:
        args = ["run", "--rounds", "3", "--runs-dir", str(runs), "--task", task]
        args += ["--per-label", "15", "--ollama-host", fake.url, "--real-data", str(real)]
        args += ["--base-model", str(tiny_albert), "--epochs", "1"]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = read_history(runs / task)
    assert len(rows) == 3 and all(r["real_accuracy"] is not None for r in rows)
    assert all(r["real_selection_accuracy"] is not None for r in rows)
    assert [r["guidance_from"] for r in rows] == [None, rows[0]["round"], rows[1]["round"]]
    reports = [json.loads((Path(r["path"]) / "report.json").read_text()) for r in rows]
    for before, after, row in zip(reports, reports[1:], rows[1:], strict=False):
        lines = before["feedback"]["lines"]
        assert after["feedback_used"]["guidance"] == lines
        prompts = [
            json.loads(x)["prompt"]
            for x in (Path(row["path"]) / "raw.jsonl").read_text().splitlines()
        ]
        # every line of guidance from the round before is in that label's prompts
        for label, label_lines in lines.items():
            ours = [p for p in prompts if f"Category: {label}\n" in p]
            assert ours and all(all(line in p for line in label_lines) for p in ours), label
    assert any(r["feedback"]["lines"] for r in reports[:2]), "no round produced guidance"
    texts = _real_titles(real, "text")
    for row in rows:
        raw = (Path(row["path"]) / "raw.jsonl").read_text().casefold()
        leaked = [t for t in texts if len(t) > 20 and t in raw]
        assert not leaked, leaked[:3]
        from datasets import load_from_disk

        data = load_from_disk(str(Path(row["path"]) / "dataset"))
        kept = {t.casefold() for split in data.values() for t in split["text"]}
        assert not kept & texts
