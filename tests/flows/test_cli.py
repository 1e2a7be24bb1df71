"""The CLI: fast, friendly failures before Prefect starts, and prediction from args, file and stdin."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_no_ollama_fails_within_5_seconds_with_the_fix(tmp_path: Path) -> None:
    """Nothing listening: non-zero exit in < 5 s, one paragraph naming the host and `ollama serve`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "generate",
            "--task",
            "clickbait",
            "--per-label",
            "300",
            "--workdir",
            str(tmp_path / "w"),
            "--ollama-host",
            f"http://127.0.0.1:{port}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.monotonic() - t0 < 5
    assert proc.returncode != 0
    assert f"http://127.0.0.1:{port}" in proc.stderr and "ollama serve" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_predict_from_args_file_and_stdin(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Titles come from arguments, a file or stdin; each line is label, score, title."""
    out = runner.invoke(
        app, ["predict", "--model", str(tiny_model_dir), "council approves road budget after vote"]
    )
    assert out.exit_code == 0, out.output
    label, score, text = out.stdout.strip().split("\t")
    assert (
        label in {"clickbait", "factual"} and 0 <= float(score) <= 1 and text.startswith("council")
    )
    f = tmp_path / "t.txt"
    f.write_text("a title here\n\nanother title here\n")
    assert (
        len(
            runner.invoke(
                app, ["predict", "--model", str(tiny_model_dir), "--file", str(f)]
            ).stdout.splitlines()
        )
        == 2
    )
    res = runner.invoke(
        app, ["predict", "--model", str(tiny_model_dir), "--json"], input="one\ntwo\nthree\n"
    )
    assert res.exit_code == 0 and res.stdout.count('"label"') == 3
    missing = runner.invoke(app, ["predict", "--model", str(tmp_path / "nope"), "x"])
    assert missing.exit_code == 2 and "No model at" in missing.output


def test_no_prefect_runs_the_same_steps_without_any_server(tmp_path: Path) -> None:
    """`--no-prefect` and TITLEFORGE_NO_PREFECT=1: no temporary server; the same dataset either way."""
    import json
    import os

    from tests.fakes.ollama_server import FakeConfig, FakeOllama

    def generate(
        workdir: Path, flag: list[str], env: dict[str, str]
    ) -> subprocess.CompletedProcess:
        args = ["generate", "--task", "clickbait", "--per-label", "8", "--seed", "3"]
        args += ["--workdir", str(workdir), "--ollama-host", fake.url, *flag]
        return subprocess.run(
            [sys.executable, "-m", "flows.cli", *args],
            cwd=REPO, env={**os.environ, "PREFECT_API_URL": "", **env},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    with FakeOllama(FakeConfig(seed=0)) as fake:
        plain = generate(tmp_path / "plain", ["--no-prefect"], {})
        by_env = generate(tmp_path / "env", [], {"TITLEFORGE_NO_PREFECT": "1"})
        served = generate(tmp_path / "served", [], {})
    for proc in (plain, by_env, served):
        assert proc.returncode == 0, proc.stderr[-2000:]
    for proc in (plain, by_env):
        assert "temporary server" not in proc.stderr + proc.stdout
        assert "Dataset saved" in proc.stdout and "Traceback" not in proc.stderr
    assert "temporary server" in served.stderr + served.stdout  # the contrast: Prefect's own
    hashes = {
        json.loads((tmp_path / d / "report.json").read_text())["round"]["dataset_hash"]
        for d in ("plain", "env", "served")
    }
    assert len(hashes) == 1
    assert "Task 'clickbait'" in (tmp_path / "plain" / "titleforge.log").read_text()
