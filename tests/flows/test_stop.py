"""SIGTERM and Ctrl-C during generation: out within 5 s, no traceback, nothing lost on resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.rawlog import read_rows
from tests.fakes.ollama_server import FakeConfig, FakeOllama

REPO = Path(__file__).resolve().parents[2]


def _generate(workdir: Path, url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`titleforge generate` as a user starts it, in its own process group (like a terminal job)."""
    args = ["generate", "--workdir", str(workdir), "--per-label", "150", "--seed", "3"]
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args, "--ollama-host", url],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize(
    "how",
    [
        "sigterm",
        # Ctrl-C signals the whole foreground group: Prefect's temporary server gets it too
        pytest.param("ctrl-c", marks=pytest.mark.slow),
    ],
)
def test_stop_during_generation_is_fast_clean_and_resumable(tmp_path: Path, how: str) -> None:
    """Stop after a few calls: exit < 5 s, no traceback, whole rows; the same command completes."""
    work = tmp_path / "run"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    with FakeOllama(FakeConfig(seed=1, per_call_overhead_s=0.4, slots=2)) as fake:
        proc = _generate(work, fake.url, env)
        deadline = time.monotonic() + 90
        while len(read_rows(work / "raw.jsonl")) < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "generation did not start"
            time.sleep(0.2)
        t0 = time.monotonic()
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        stopped_in = time.monotonic() - t0
        before = read_rows(work / "raw.jsonl")
        assert stopped_in < 5, stopped_in
        assert proc.returncode in (130, 143), (proc.returncode, err[-2000:])
        assert "Traceback" not in out + err and "run the same command to resume" in err.lower()
        # every line is a whole row: nothing torn
        assert len((work / "raw.jsonl").read_text().splitlines()) == len(before)
        fake.config.per_call_overhead_s = 0.0
        again = _generate(work, fake.url, env)
        _, err2 = again.communicate(timeout=300)
    assert again.returncode == 0, err2[-3000:]
    rows = read_rows(work / "raw.jsonl")
    assert rows[: len(before)] == before  # nothing lost, nothing rewritten
    ok = [r["call_id"] for r in rows if not r.get("error")]
    assert len(ok) == len(set(ok))  # no call answered twice
    report = json.loads((work / "report.json").read_text())
    assert report["dataset"]["kept"] > 0 and report["round"]["seed"] == 3
