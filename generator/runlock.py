"""One writer per run directory: an flock'd `DIR/.lock` naming its holder's PID, host and start."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from generator.items import TitleforgeError

LOCK_NAME = ".lock"


class RunLocked(TitleforgeError):
    """Another live process holds the run directory's lock (a user error: exit 2)."""


def _holder(path: Path) -> str:
    """The lock file's holder as 'PID n on host since t', or a fallback when unreadable."""
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
        return f"PID {info['pid']} on {info['host']} since {info['started']}"
    except (OSError, ValueError, KeyError):
        return "another process (no holder details written yet)"


@contextlib.contextmanager
def run_lock(workdir: str | Path) -> Iterator[Path]:
    """Hold `workdir/.lock` for the block; a second writer fails at once naming the holder.

    flock is released by the kernel when the holder dies (even on kill -9), so a lock left by
    a dead process is taken over without any staleness guesswork; the JSON is only for messages.
    """
    path = Path(workdir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"{workdir} is in use by {_holder(path)} (lock file {path}). Wait for that run to "
                "finish or stop it, or use another run directory (a new --workdir)."
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield path
    finally:
        # Closing the descriptor releases the flock; the file stays so holders' details never race.
        os.close(fd)
