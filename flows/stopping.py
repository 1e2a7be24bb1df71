"""SIGTERM and Ctrl-C stop a CLI run within a second or two, with nothing lost and no traceback.

Letting the signal unwind through Prefect takes over a minute (its temporary server, also
signalled, is gone, and the engine keeps trying to report the crash to it), then prints two
tracebacks. Every finished LLM call is already on disk (raw.jsonl is appended and fsynced per
call), so the honest, fast stop is: let a row being written finish, stop our child processes
(the temporary Prefect server), say how to resume, and exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from generator import rawlog

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _stop_children(timeout_s: float = 2.0) -> None:
    """Terminate, then kill, every process this one started (Prefect's temporary server)."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        child.terminate()
    _, alive = psutil.wait_procs(children, timeout=timeout_s)
    for child in alive:
        child.kill()


def _stop(signum: int) -> None:
    """Exit now: the run directory is consistent between two rows."""
    from flows.clilog import log_file

    name = signal.Signals(signum).name
    where = log_file().parent
    sys.stderr.write(
        f"\nStopped by {name}. Every finished LLM call is saved in {where}/raw.jsonl; calls in "
        "flight were dropped and will be asked again. Run the same command to resume.\n"
    )
    sys.stderr.flush()
    try:
        _stop_children()
    finally:
        os._exit(EXIT.get(signal.Signals(signum), 1))


def _handler(signum: int, frame: FrameType | None) -> None:
    """Stop now, or right after the raw.jsonl row being written (never half a row)."""
    if rawlog.WRITING.is_set():
        rawlog.on_written(lambda: _stop(signum))
        return
    _stop(signum)


class _DetachedSubprocess:
    """The subprocess module, except that Popen starts the child in its own session, silenced.

    Prefect's temporary server would otherwise share our terminal: Ctrl-C reaches it first,
    it dies mid-run and prints its own traceback. Detached, it only stops when we stop it.
    """

    def __getattr__(self, name: str) -> object:
        """Everything else is the real subprocess module."""
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        """subprocess.Popen in a new session with output to /dev/null."""
        kwargs.setdefault("start_new_session", True)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        return subprocess.Popen(*args, **kwargs)  # type: ignore[call-overload,no-any-return]


def _detach_temporary_server() -> None:
    """Make Prefect start its temporary server detached from our terminal (see above)."""
    from prefect.server.api import server

    server.subprocess = _DetachedSubprocess()  # type: ignore[assignment]


@contextlib.contextmanager
def fast_stop() -> Iterator[None]:
    """Handle SIGTERM and SIGINT this way while the block runs (then restore the old handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread
        return
    _detach_temporary_server()
    old = {sig: signal.signal(sig, _handler) for sig in EXIT}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
