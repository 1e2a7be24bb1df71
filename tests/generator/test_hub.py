"""The Hub edge with the client replaced by a recording fake: token, retries, clear errors."""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
import pytest
from huggingface_hub.errors import HfHubHTTPError

from generator.hub import HubError, push_dataset, push_folder


def _http_error(status: int) -> HfHubHTTPError:
    """An error like huggingface_hub raises for an HTTP status."""
    req = httpx.Request("POST", "https://huggingface.co/api/repos/create")
    return HfHubHTTPError(f"{status} error", response=httpx.Response(status, request=req))


class RecordingApi:
    """Stands in for HfApi at the boundary; fails the first `fail` calls with `status`."""

    def __init__(self, fail: int = 0, status: int = 503) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail, self.status, self.token = fail, status, "unused"

    def _record(self, name: str, **kw: Any) -> None:
        self.calls.append((name, kw))
        if self.fail:
            self.fail -= 1
            raise _http_error(self.status)

    def create_repo(self, repo_id: str, **kw: Any) -> None:
        self._record("create_repo", repo_id=repo_id, **kw)

    def upload_file(self, **kw: Any) -> None:
        self._record("upload_file", **kw)

    def create_commit(self, repo_id: str, operations: Any, **kw: Any) -> None:
        self._record(
            "create_commit", repo_id=repo_id, paths=[op.path_in_repo for op in operations], **kw
        )

    def create_branch(self, repo_id: str, **kw: Any) -> None:
        self._record("create_branch", repo_id=repo_id, **kw)

    def create_tag(self, repo_id: str, **kw: Any) -> None:
        self._record("create_tag", repo_id=repo_id, **kw)


FILES = {"data/train-00000-of-00001.parquet": b"PAR1"}


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real sleeping between retries."""
    monkeypatch.setattr("generator.hub._sleep", lambda s: None)


def test_push_dataset_records_repo_card_and_private(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Repo created private, data and card in one commit (a 503 retried); token never logged."""
    monkeypatch.setenv("HF_TOKEN", "hf_sekrit_token_value")
    api = RecordingApi(fail=1)
    caplog.set_level(logging.DEBUG)
    url = push_dataset(FILES, "---\nlicense: mit\n---\n# card", "me/titles", private=True, api=api)  # type: ignore[arg-type]
    assert url == "https://huggingface.co/datasets/me/titles"
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "create_repo", "create_commit"]  # one 503 retried
    assert api.calls[0][1]["private"] is True and api.calls[0][1]["repo_type"] == "dataset"
    assert api.calls[-1][1]["paths"] == [*FILES, "README.md"]
    assert api.calls[-1][1]["repo_type"] == "dataset"
    assert "hf_sekrit_token_value" not in caplog.text


def test_missing_token_and_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HF_TOKEN: a HubError naming the fix; 403: a HubError about rights, not retried."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubError, match="HF_TOKEN is not set"):
        push_dataset(FILES, "card", "me/x")  # type: ignore[arg-type]
    monkeypatch.setenv("HF_TOKEN", "hf_abc")
    api = RecordingApi(fail=5, status=403)
    with pytest.raises(HubError, match="write rights") as exc:
        push_folder(__import__("pathlib").Path("."), "me/model", api=api)  # type: ignore[arg-type]
    assert len(api.calls) == 1 and "hf_abc" not in str(exc.value)


def test_persistent_5xx_gives_up_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Hub that keeps failing ends in a HubError after the retries."""
    monkeypatch.setenv("HF_TOKEN", "hf_abc")
    api = RecordingApi(fail=99, status=502)
    with pytest.raises(HubError, match="kept failing"):
        push_dataset(FILES, "card", "me/x", api=api)  # type: ignore[arg-type]
    assert len(api.calls) == 5


@pytest.mark.network
def test_live_push_needs_a_token(tmp_path: Any) -> None:
    """Opt-in: push a tiny dataset to HF_TEST_REPO with a real token."""
    repo = os.environ.get("HF_TEST_REPO")
    if not os.environ.get("HF_TOKEN") or not repo:
        pytest.skip("set HF_TOKEN and HF_TEST_REPO to run the live Hub test")
    from datasets import Dataset, DatasetDict

    from generator.dataset import parquet_files

    dd = DatasetDict({"train": Dataset.from_dict({"text": ["a b c"], "label": [0]})})
    assert push_dataset(
        parquet_files(dd), "---\nlicense: mit\n---\n# test", repo, private=True
    ).endswith(repo)


def test_a_round_is_pushed_to_its_own_branch(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """revision=<round>: the branch is created, the upload goes there, the URL names it."""
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    api = RecordingApi()
    url = push_folder(tmp_path, "me/model", api=api, revision="20261124T0200Z-s42")  # type: ignore[arg-type]
    names = [name for name, _ in api.calls]
    assert names == ["create_repo", "create_branch", "create_commit"]
    assert api.calls[1][1]["branch"] == "20261124T0200Z-s42"
    assert api.calls[2][1]["revision"] == "20261124T0200Z-s42"
    assert url.endswith("/tree/20261124T0200Z-s42")


def test_offline_push_says_hf_hub_offline_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE: the message names the switch, not 'try again later'."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    from generator.hub import with_retries

    def offline() -> None:
        raise OfflineModeIsEnabled("offline")

    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set") as exc:
        with_retries(offline, "pushing the model")
    assert "try again later" not in str(exc.value)


def test_a_failed_model_push_keeps_every_result_and_records_the_error(
    tiny_albert: Any, toy_dataset_dir: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Hub down for good: the flow fails, but report.json has the metrics and the push error."""
    import json

    from flows.finetune import finetune
    from training.config import FinetuneConfig

    monkeypatch.setenv("HF_TOKEN", "hf_test")
    monkeypatch.setattr("generator.hub.HfApi", lambda token=None: RecordingApi(fail=99))
    cfg = FinetuneConfig(
        dataset=str(toy_dataset_dir),
        workdir=str(tmp_path / "run"),
        base_model=str(tiny_albert),
        epochs=1,
        hub_model="me/model",
        hub_revision="r1",
    )
    with pytest.raises(HubError, match="kept failing"):
        finetune(cfg)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["synthetic_test"]["accuracy"] is not None and report["overfitting"]["verdict"]
    assert report["hub"]["pushed"] is False and "kept failing" in report["hub"]["error"]
    assert report["hub"]["revision"] == "r1" and "hf_test" not in json.dumps(report)
