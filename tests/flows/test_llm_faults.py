"""LLM faults as a user meets them through the CLI: a missing model, a hung server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.ollama_server import FakeConfig, FakeOllama

REPO = Path(__file__).resolve().parents[2]


def _generate(workdir: Path, url: str, tmp: Path, *extra: str) -> tuple[int, str, float]:
    """`titleforge generate` in a subprocess: exit code, terminal text, seconds taken."""
    args = ["generate", "--workdir", str(workdir), "--per-label", "20", "--seed", "7", *extra]
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect")}
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args, "--ollama-host", url],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - t0


def test_missing_model_that_cannot_be_pulled_then_pulled(tmp_path: Path) -> None:
    """404 + refused pull: exit 2 in < 10 s naming `ollama pull`; then the same command completes
    with the dataset of a clean run."""
    with FakeOllama(FakeConfig(seed=1, models=[], pull_allowed=False)) as fake:
        code, text, took = _generate(tmp_path / "run", fake.url, tmp_path)
        assert code == 2 and took < 10, (code, took, text)
        assert "ollama pull phi3" in text and fake.url in text and "Traceback" not in text
        assert not (tmp_path / "run" / "raw.jsonl").exists()
        fake.config.models = ["phi3:latest"]
        code, text, _ = _generate(tmp_path / "run", fake.url, tmp_path)
        assert code == 0, text
        code, text, _ = _generate(tmp_path / "clean", fake.url, tmp_path)
        assert code == 0, text
    hashes = [
        json.loads((tmp_path / d / "report.json").read_text())["round"]["dataset_hash"]
        for d in ("run", "clean")
    ]
    assert hashes[0] == hashes[1]


def test_a_server_that_accepts_and_never_answers_fails_fast_naming_the_timeout(
    tmp_path: Path,
) -> None:
    """A socket that accepts connections and says nothing: exit 1 within seconds, no traceback."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)  # the kernel completes handshakes; nobody ever reads or writes
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        code, text, took = _generate(tmp_path / "run", url, tmp_path)
    assert code == 1 and took < 30, (code, took, text)
    assert "no answer within 2 s" in text and url in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("timeout", "limit_s"),
    [("3", 60), pytest.param(None, 300, marks=pytest.mark.slow)],
)
def test_replies_that_never_come_stop_the_run_within_five_minutes(
    tmp_path: Path, timeout: str | None, limit_s: float
) -> None:
    """The server answers health checks but hangs on every call: a hung-server error naming the
    host and --timeout, under 5 minutes with the default timeout, no Prefect retry multiplying it."""
    with FakeOllama(FakeConfig(seed=1, hang_rate=1.0, hang_seconds=900)) as fake:
        extra = ("--timeout", timeout) if timeout else ()
        code, text, took = _generate(tmp_path / "run", fake.url, tmp_path, *extra)
    assert code == 1 and took < limit_s, (code, took, text)
    assert "sent no reply within" in text and "--timeout" in text and fake.url in text
    assert "Traceback" not in text
    print(f"hung server stopped the run after {took:.0f} s (timeout {timeout or 'default'})")
