"""A clean terminal: one paragraph per failure there, full tracebacks in DIR/titleforge.log.

Prefect logs a failed task with its traceback on the root logger's console handler; users
need the message and the fix, developers need the traceback. So the console formatter drops
tracebacks, and a file handler in the run directory keeps everything.
"""

from __future__ import annotations

import logging
import tempfile
import traceback
from pathlib import Path

LOG_NAME = "titleforge.log"
_FALLBACK = Path(tempfile.gettempdir()) / "titleforge-last-error.log"
_current: dict[str, Path] = {}


class _NoTraceback(logging.Formatter):
    """Wraps a console formatter: the same line, minus any traceback."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        """Keep the handler's own formatter (Prefect's colours and layout)."""
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        """Format without exc_info/stack_info, and cut a traceback pasted into the message."""
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            text = self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        return text.split("\nTraceback (most recent call last)")[0].rstrip()


def quiet_console() -> None:
    """Strip tracebacks from every console handler on the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        console = isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        )
        if console and not isinstance(handler.formatter, _NoTraceback):
            handler.setFormatter(_NoTraceback(handler.formatter))


def set_run_dir(workdir: Path) -> Path | None:
    """Log everything (tracebacks included) to WORKDIR/titleforge.log from now on."""
    path = Path(workdir) / LOG_NAME
    if _current.get("path") == path:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None  # an unwritable directory is reported by the command's own checks
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    _current["path"] = path
    return path


def log_file() -> Path:
    """Where this command's tracebacks go: the run directory's log, or a temp file before one."""
    return _current.get("path", _FALLBACK)


def record_exception(exc: BaseException) -> Path:
    """Append the exception's full traceback to the log file; returns the file."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    for path in (log_file(), _FALLBACK):
        try:
            with path.open("a", encoding="utf-8") as fh:
                fh.write("".join(lines) + "\n")
            return path
        except OSError:
            continue
    return _FALLBACK
