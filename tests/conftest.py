"""Shared fixtures: the loopback Ollama double and a Prefect test harness started once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.ollama_server import FakeConfig, FakeOllama

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
REAL_DIR = REPO.parent / "shared" / "data" / "real"


@pytest.fixture()
def fake_ollama() -> Iterator[FakeOllama]:
    """A well-behaved fake Ollama on a free loopback port."""
    with FakeOllama(FakeConfig(seed=0)) as srv:
        yield srv


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness (a temporary server, ~20 s to start): once per session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def real_clickbait_csv() -> Path:
    """The shared human-labelled clickbait data; skips cleanly when it is not there."""
    path = REAL_DIR / "stop_clickbait_dev.csv"
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path
