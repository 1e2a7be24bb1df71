"""Fixtures of the flow tests: a real Prefect server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows.prefect_server import running_server


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real Prefect server (API only) for one test."""
    with running_server(tmp_path) as server:
        yield server
