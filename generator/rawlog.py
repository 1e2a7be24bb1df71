"""DIR/raw.jsonl: the append-only resume log, one JSON object per LLM call, errors included."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All complete rows; a line cut short by a kill mid-write (or any garbage line) is skipped."""
    if not path.exists():
        return []
    rows = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.endswith("\n"):
                continue  # the last write never finished
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "call_id" in row:
                rows.append(row)
    return rows


TORN_FILE = "raw.torn.jsonl"
# Set while a row is being written: a stop signal then waits for the row to be whole.
WRITING = threading.Event()
_after_write: list[Callable[[], None]] = []


def on_written(callback: Callable[[], None]) -> None:
    """Run `callback` as soon as the row being written is on disk."""
    _after_write.append(callback)


def set_aside_torn_line(path: Path) -> int:
    """Move a last line without its newline to raw.torn.jsonl and cut it off; returns 0 or 1.

    Its call is not in the done set (read_rows skips it), so the run simply asks again; the
    bytes are kept beside the log for whoever wants to see what the kill interrupted.
    """
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with path.open("rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_start = max(0, size - 1_048_576)  # a row is far smaller than 1 MiB
        fh.seek(tail_start)
        tail = fh.read()
        if tail.endswith(b"\n"):
            return 0
        cut = tail.rfind(b"\n") + 1 + tail_start if b"\n" in tail else tail_start
        fh.seek(cut)
        torn = fh.read()
        with (path.parent / TORN_FILE).open("ab") as side:
            side.write(torn + b"\n")
        fh.truncate(cut)
        os.fsync(fh.fileno())
    return 1


class RawLog:
    """Thread-safe appender: one write() of a whole line, flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        """Open for appending; a torn last line (a kill mid-write) is set aside first."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.torn = set_aside_torn_line(path)
        self._lock = threading.Lock()
        self._fh = path.open("a", encoding="utf-8")

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row durably: after this returns, a kill cannot lose it."""
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            WRITING.set()
            try:
                self._fh.write(line)
                self._fh.flush()
                os.fsync(self._fh.fileno())
            finally:
                WRITING.clear()
        while _after_write:
            _after_write.pop()()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._fh.close()

    def __enter__(self) -> RawLog:
        """Context-manager entry."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on exit."""
        self.close()
