"""DIR/raw.jsonl: the append-only resume log, one JSON object per LLM call, errors included."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
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


class RawLog:
    """Thread-safe appender: one write() of a whole line, flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        """Open for appending; make sure a half-written last line cannot glue onto the next row."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._fh = path.open("a", encoding="utf-8")
        if path.stat().st_size > 0:
            with path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    self._fh.write("\n")
                    self._fh.flush()

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row durably: after this returns, a kill cannot lose it."""
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())

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
