"""A real Prefect server for end-to-end tests: start, wait, call its REST API, stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    """Poll until `url` answers 200, failing early if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} came up")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up within {timeout_s} s")


# the codes Prefect's own client retries (prefect.client.base): the server answers 503 when a
# request failed on a retryable error, such as SQLite busy while a flow run writes its states
# (seen in CI: creating the second run right after the first finished)
RETRY_CODES = {408, 429, 502, 503}


def api_call(base: str, path: str, body: dict | None = None, attempts: int = 6) -> object:
    """Call the Prefect REST API (POST with a JSON body, GET without), retrying as Prefect's client does."""
    for attempt in range(attempts):
        req = urllib.request.Request(
            base + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_CODES or attempt == attempts - 1:
                raise
            time.sleep(2**attempt)  # 1, 2, 4, 8, 16 s: as the client's exponential backoff
    raise AssertionError("unreachable")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process group politely, then firmly."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def running_server(tmp_path: Path, *, ui: bool = False) -> Iterator[tuple[str, dict[str, str]]]:
    """A real `prefect server start` on a free loopback port with a temporary PREFECT_HOME."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true" if ui else "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", 120, proc)
        yield env["PREFECT_API_URL"], env
    finally:
        stop_group(proc)
        log.close()
