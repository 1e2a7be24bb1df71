"""Dataset and model cards as the Hub reads them: parsed back with huggingface_hub and datasets.

A whole `titleforge run` (loopback LLM, real data, Hub pushes on) per task; the Hub client is the
real HfApi with only its network calls intercepted, so the test sees exactly what a push uploads.
"""

from __future__ import annotations

import hashlib
import json
from fnmatch import fnmatch
from pathlib import Path

import pytest
from datasets import load_from_disk
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData, ModelCard, ModelCardData
from huggingface_hub.repocard_data import eval_results_to_model_index
from huggingface_hub.utils import validate_repo_id
from typer.testing import CliRunner

from flows.cli import app
from generator.spec import load_spec
from tests.conftest import REAL_DIR
from tests.fakes.hub import InterceptedHub
from tests.fakes.ollama_server import FakeConfig, FakeOllama

CASES = [
    ("clickbait", "stop_clickbait_dev.csv", "minilm", "sentence-transformers/all-MiniLM-L6-v2"),
    ("news_topic", "ag_news_titles_dev.csv", "tiny", None),  # a purely local base model
]


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch) -> type[InterceptedHub]:
    """Pushes on (a token, not offline), every Hub call intercepted."""
    monkeypatch.setenv("HF_TOKEN", "hf_card_test_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("generator.hub.HfApi", InterceptedHub)
    InterceptedHub.reset()
    return InterceptedHub


@pytest.mark.slow  # two whole runs with training: ~160 s, so it runs in the slow CI stage
@pytest.mark.parametrize(("task", "real_file", "base", "hub_base"), CASES)
def test_cards_parse_back_with_every_field_and_each_push_uploads_its_card_once(
    tmp_path: Path,
    tiny_albert: Path,
    hub: type[InterceptedHub],
    task: str,
    real_file: str,
    base: str,
    hub_base: str | None,
) -> None:
    """Run with pushes; parse both cards with huggingface_hub/datasets; check the commits' files."""
    real = REAL_DIR / real_file
    if not real.exists():
        pytest.skip(f"real data not found at {real}")
    ds_repo, model_repo = f"me/{task}-titles", f"me/{task}-clf"
    with FakeOllama(FakeConfig(seed=4)) as fake:
        args = ["run", "--runs-dir", str(tmp_path / "runs"), "--task", task, "--seed", "11"]
        args += ["--per-label", "15", "--ollama-host", fake.url, "--real-data", str(real)]
        args += ["--base-model", str(tiny_albert) if base == "tiny" else base, "--epochs", "1"]
        args += ["--hub-repo", ds_repo, "--hub-model", model_repo]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (workdir,) = [p for p in (tmp_path / "runs" / task).iterdir() if p.is_dir()]
    report = json.loads((workdir / "report.json").read_text())
    spec = load_spec(task)

    # --- the dataset card, as the Hub and `datasets` read it
    card_text = (workdir / "dataset" / "README.md").read_text(encoding="utf-8")
    data = DatasetCard(card_text).data
    assert isinstance(data, DatasetCardData)
    assert DatasetCardData(**data.to_dict()).to_dict() == data.to_dict()  # round trip
    assert data.license == spec.license and data.language == ["en"]
    assert data.task_categories == ["text-classification"]
    assert data.size_categories == ["n<1K"] and "synthetic" in data.tags
    dd = load_from_disk(str(workdir / "dataset"))
    info = DatasetInfosDict.from_dataset_card_data(data)["default"]
    assert info.features["label"].names == spec.label_names
    assert info.features["text"].dtype == "string"
    for name, split in dd.items():
        assert info.splits[name].num_examples == len(split) > 0
        assert info.splits[name].num_bytes == split.data.nbytes > 0
    configs = MetadataConfigs.from_dataset_card_data(data)["default"]
    ds_commits = [c for c in hub.commits if c.repo_id == ds_repo]
    assert len(ds_commits) == 1, "one commit carries the data files and the card"
    pushed = ds_commits[0].files
    parquet = {p for p in pushed if p.endswith(".parquet")}
    assert set(pushed) == parquet | {"README.md"} and len(parquet) == len(dd)
    for entry in configs["data_files"]:
        assert [p for p in parquet if fnmatch(p, entry["path"])], (
            entry
        )  # each config finds its file
    assert info.download_size == sum(len(pushed[p]) for p in parquet)
    assert pushed["README.md"] == card_text.encode("utf-8")  # the local card, byte for byte
    assert f"A synthetic dataset for this task: {spec.description}" in card_text
    assert "\n\n| dropped because |" in card_text  # a table, not run-on text
    tags = [(kw["tag"]) for name, repo, kw in hub.calls if name == "create_tag" and repo == ds_repo]
    assert tags == [workdir.name]

    # --- the model card: metadata through ModelCardData, the model-index through EvalResult
    mcard_text = (workdir / "model" / "README.md").read_text(encoding="utf-8")
    mdata = ModelCard(mcard_text).data
    assert isinstance(mdata, ModelCardData)
    assert mdata.base_model == hub_base
    if hub_base:
        validate_repo_id(hub_base)
    else:
        assert "a local model (" in mcard_text and str(tiny_albert) not in mcard_text
    assert mdata.license == "apache-2.0" and mdata.datasets == [ds_repo]
    assert mdata.pipeline_tag == "text-classification" and mdata.library_name == "transformers"
    assert (
        eval_results_to_model_index(mdata.model_name, mdata.eval_results)
        == (mdata.to_dict()["model-index"])
    )
    by_set: dict[tuple[str, str | None, str | None], dict[str, float]] = {}
    for r in mdata.eval_results or []:
        assert r.task_type == "text-classification"
        by_set.setdefault((r.dataset_type, r.dataset_revision, r.dataset_split), {})[
            r.metric_type
        ] = r.metric_value
    real_rev = hashlib.sha256(real.read_bytes()).hexdigest()[:12]
    assert by_set == {
        (ds_repo, workdir.name, "test"): {
            "accuracy": round(report["synthetic_test"]["accuracy"], 4),
            "f1": round(report["synthetic_test"]["f1"], 4),
        },
        (real.stem, real_rev, "test part"): {
            "accuracy": round(report["real"]["accuracy"], 4),
            "f1": round(report["real"]["f1"], 4),
        },
    }
    assert mdata.to_dict()["titleforge"]["seed"] == 11
    model_commits = [c for c in hub.commits if c.repo_id == model_repo]
    assert model_commits and all(c.revision == workdir.name for c in model_commits[:1])
    for commit in model_commits:
        assert list(commit.files).count("README.md") == 1
        assert commit.files["README.md"] == mcard_text.encode("utf-8")
        assert "model.safetensors" in commit.files and "config.json" in commit.files
        assert not [p for p in commit.files if p.endswith((".onnx", ".pt", ".bin", ".log"))]
        assert not [p for p in commit.files if p.startswith("checkpoint")]
    everything = b"".join(f for c in hub.commits for f in c.files.values())
    assert b"hf_card_test_token" not in everything
