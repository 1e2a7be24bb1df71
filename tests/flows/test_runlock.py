"""One writer per run directory: a second `titleforge run` is refused fast; a killed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A writer that takes the lock with the real module and then works (sleeps) until killed.
HOLDER = (
    "import sys, time\n"
    "from generator.runlock import run_lock\n"
    "with run_lock(sys.argv[1]):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(120)\n"
)


def _dead_port() -> int:
    """A loopback port with nothing listening, so the run stops at the Ollama preflight."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(workdir: Path, port: int) -> tuple[subprocess.CompletedProcess[str], float]:
    """`titleforge run` on workdir; the result and its wall time."""
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            "--workdir",
            str(workdir),
            "--per-label",
            "5",
            "--ollama-host",
            f"http://127.0.0.1:{port}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return proc, time.monotonic() - t0


def test_second_writer_exits_2_naming_the_holder_and_takes_over_after_kill_9(
    tmp_path: Path,
) -> None:
    """Held lock: exit 2 in < 5 s naming the PID; after kill -9 of the holder the run gets past the lock."""
    workdir = tmp_path / "w"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(workdir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        port = _dead_port()
        proc, took = _run(workdir, port)
        assert proc.returncode == 2, proc.stderr
        assert took < 5
        assert f"PID {holder.pid}" in proc.stderr and ".lock" in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    proc, _ = _run(workdir, port)
    # Past the lock: it now stops at the next check (no Ollama), not at the dead holder's lock.
    assert "in use by" not in proc.stderr
    assert f"http://127.0.0.1:{port}" in proc.stderr
