"""Plain mode: the same flows and steps as ordinary Python calls, with no Prefect server at all.

Without PREFECT_API_URL, every Prefect flow run starts a temporary server (13-20 s here) and
tears it down again. A single-step command needs none of it: `--no-prefect` (or
TITLEFORGE_NO_PREFECT=1) runs each flow and task function directly, logs to the terminal and the
run's log file, and skips what only a server can hold (artifacts, run tags, the shared Ollama
limit, Prefect's task retries). A server that is already running is reused instead (see
`flows.apiserver`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from prefect import Flow, Task, get_run_logger

_PLAIN: ContextVar[bool] = ContextVar("titleforge_plain", default=False)


def is_plain() -> bool:
    """Whether flows run without Prefect right now."""
    return _PLAIN.get()


@contextmanager
def plain_mode(on: bool = True) -> Iterator[None]:
    """Run the flows called inside without Prefect (when `on`)."""
    if not on:
        yield
        return
    token = _PLAIN.set(True)
    # Prefect's console handler on the root logger prints it (and the run's log file keeps it)
    logging.getLogger("titleforge").setLevel(logging.INFO)
    try:
        yield
    finally:
        _PLAIN.reset(token)


class Step(Task):  # type: ignore[type-arg]
    """A Prefect task that, in plain mode, is just its function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run through Prefect, or directly in plain mode."""
        if _PLAIN.get():
            return self.fn(*args, **kwargs)
        return super().__call__(*args, **kwargs)


class PlainFlow(Flow):  # type: ignore[type-arg]
    """A Prefect flow that, in plain mode, is just its function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run through Prefect, or directly in plain mode."""
        if _PLAIN.get():
            return self.fn(*args, **kwargs)
        return super().__call__(*args, **kwargs)


def task(**kwargs: Any) -> Any:
    """`prefect.task` that also runs in plain mode."""
    return lambda fn: Step(fn=fn, **kwargs)


def flow(**kwargs: Any) -> Any:
    """`prefect.flow` that also runs in plain mode."""
    return lambda fn: PlainFlow(fn=fn, **kwargs)


def run_logger() -> Any:
    """Prefect's run logger, or the `titleforge` logger in plain mode."""
    return logging.getLogger("titleforge") if _PLAIN.get() else get_run_logger()
