"""One writer per run directory: a second `titleforge run` is refused fast; a killed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.ollama_server import FakeConfig, FakeOllama

REPO = Path(__file__).resolve().parents[2]

# A writer that takes the lock with the real module and then works (sleeps) until killed.
HOLDER = (
    "import sys, time\n"
    "from generator.runlock import run_lock\n"
    "with run_lock(sys.argv[1]):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(120)\n"
)


def _run(
    workdir: Path, url: str, base_model: Path, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`titleforge run` on workdir (inputs that pass every check); the result and its wall time."""
    t0 = time.monotonic()
    args = ["run", "--workdir", str(workdir), "--per-label", "8", "--ollama-host", url]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            *args,
            "--base-model",
            str(base_model),
            "--epochs",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(workdir.parent / "ph")},
    )
    return proc, time.monotonic() - t0


def test_second_writer_exits_2_naming_the_holder_and_takes_over_after_kill_9(
    tmp_path: Path, tiny_albert: Path
) -> None:
    """Held lock: exit 2 in < 5 s naming the PID; after kill -9 of the holder the run completes."""
    workdir = tmp_path / "w"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(workdir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    with FakeOllama(FakeConfig(seed=2)) as fake:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            proc, took = _run(workdir, fake.url, tiny_albert)
            assert proc.returncode == 2, proc.stderr
            assert took < 5, took
            assert f"PID {holder.pid}" in proc.stderr and ".lock" in proc.stderr
            assert "Traceback" not in proc.stderr
        finally:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
        # the kernel dropped the dead holder's lock: the same command now runs to the end
        proc, _ = _run(workdir, fake.url, tiny_albert, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (workdir / "report.json").exists() and (workdir / "model").is_dir()
