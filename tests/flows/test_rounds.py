"""Rounds: `run` without --workdir starts a fresh round directory with a fresh seed, never reusing one."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from flows.rounds import new_round_dir, start_round

ROUND = re.compile(r"^\d{8}T\d{4}Z-s\d+(-\d+)?$")


def test_round_dirs_are_named_by_time_and_seed_and_never_reused(tmp_path: Path) -> None:
    """Same minute and seed twice: the second round gets its own directory; the first is untouched."""
    now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    first = new_round_dir(tmp_path, "clickbait", 123456, now)
    (first / "raw.jsonl").write_text("kept\n")
    second = new_round_dir(tmp_path, "clickbait", 123456, now)
    assert first.name == "20261124T0600Z-s123456" and first.parent == tmp_path / "clickbait"
    assert second != first and ROUND.match(second.name)
    assert (first / "raw.jsonl").read_text() == "kept\n" and not any(second.iterdir())


def test_new_rounds_draw_fresh_seeds_and_a_given_seed_or_workdir_is_kept(tmp_path: Path) -> None:
    """No seed: each round draws its own; a given seed is used; an explicit workdir is used as is."""
    seeds = {start_round(None, tmp_path, "clickbait", None)[1] for _ in range(5)}
    assert len(seeds) > 1
    path, seed = start_round(None, tmp_path, "news_topic", 42)
    assert seed == 42 and path.name.endswith("-s42") and path.parent.name == "news_topic"
    # an explicit new workdir without a seed is a new round too; a resumed one keeps its seed
    workdir, fresh = start_round(tmp_path / "w", tmp_path, "clickbait", None)
    assert workdir == tmp_path / "w" and fresh >= 0
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "fingerprint.json").write_text('{"components": {"seed": 77}}')
    assert start_round(tmp_path / "w", tmp_path, "clickbait", None) == (tmp_path / "w", 77)


def test_run_without_workdir_starts_a_new_round_below_runs_dir(tmp_path: Path) -> None:
    """`titleforge run --runs-dir R` (no Ollama here): a round dir R/clickbait/<id> is made and named."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["run", "--runs-dir", str(tmp_path), "--per-label", "5"]
    result = CliRunner().invoke(app, [*args, "--ollama-host", f"http://127.0.0.1:{port}"])
    rounds = list((tmp_path / "clickbait").iterdir())
    assert len(rounds) == 1 and ROUND.match(rounds[0].name), rounds
    assert "New round in" in result.output and rounds[0].name.split("-s")[1] in result.output
    assert result.exit_code != 0  # then stops at the Ollama preflight: nothing is listening
