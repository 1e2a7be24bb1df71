"""The Hugging Face Hub edge: token from HF_TOKEN only, retries on transient errors, clear failures."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from generator.items import TitleforgeError

T = TypeVar("T")
TOKEN_URL = "https://huggingface.co/settings/tokens"


class HubError(TitleforgeError):
    """A Hub push that cannot succeed as asked; the message says how to fix it (never the token)."""

    exit_code = 1  # the Hub or the network failed, not the user's input


def hub_token() -> str:
    """HF_TOKEN from the environment, or a HubError naming the fix."""
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise HubError(
            f"HF_TOKEN is not set: create a write token at {TOKEN_URL} and `export HF_TOKEN=...`."
        )
    return token


def _status(exc: HfHubHTTPError) -> int:
    """HTTP status of a Hub error (0 when unknown)."""
    resp = getattr(exc, "response", None)
    return int(getattr(resp, "status_code", 0) or 0)


OFFLINE_FIX = "`unset HF_HUB_OFFLINE` (and connect) to push, or leave out --hub-repo/--hub-model."
_sleep = time.sleep  # tests shorten the backoff here, not for the whole process


def with_retries(
    action: Callable[[], T], what: str, *, max_retries: int = 4, backoff_s: float = 2.0
) -> T:
    """Run a Hub action, retrying 5xx/429 and connection errors; 401/403 become a clear HubError."""
    for attempt in range(max_retries + 1):
        try:
            return action()
        except HfHubHTTPError as exc:
            status = _status(exc)
            if status in (401, 403):
                raise HubError(
                    f"The Hub refused {what} ({status}): the HF_TOKEN lacks write rights to it or the name is "
                    f"taken. Use a token with 'write' scope ({TOKEN_URL}) and a repo under your user or org."
                ) from None
            if status and status < 500 and status != 429:
                raise HubError(
                    f"The Hub rejected {what} ({status}): {exc.server_message or 'bad request'}."
                ) from None
            last = f"HTTP {status}"
        except OfflineModeIsEnabled:
            # a ConnectionError subclass, but no retry can help: the user switched the Hub off
            raise HubError(
                f"HF_HUB_OFFLINE is set, so {what} cannot happen: {OFFLINE_FIX}"
            ) from None
        except (httpx.TransportError, ConnectionError, TimeoutError) as exc:
            last = type(exc).__name__
        if attempt < max_retries:
            _sleep(backoff_s * 2**attempt)
    raise HubError(
        f"The Hub kept failing for {what} after {max_retries + 1} attempts (last: {last}); try again later."
    )


def push_dataset(
    dd: Any, card: str, repo_id: str, *, private: bool = False, api: HfApi | None = None
) -> str:
    """Push a DatasetDict and its card (README.md); returns the dataset's URL."""
    token = hub_token()
    api = api or HfApi(token=token)
    with_retries(
        lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
        f"creating {repo_id}",
    )
    with_retries(
        lambda: dd.push_to_hub(repo_id, private=private, token=token),
        f"pushing the dataset to {repo_id}",
    )
    with_retries(
        lambda: api.upload_file(
            path_or_fileobj=card.encode("utf-8"),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="titleforge dataset card",
        ),
        f"uploading the card to {repo_id}",
    )
    return f"https://huggingface.co/datasets/{repo_id}"


def push_folder(
    folder: Path,
    repo_id: str,
    *,
    private: bool = False,
    api: HfApi | None = None,
    revision: str | None = None,
) -> str:
    """Push a saved model folder (weights, tokenizer, card) to a model repo; returns its URL.

    `revision`: a branch (created from main when missing) instead of main, so a round that
    is not promoted is still on the Hub without replacing the current model.
    """
    api = api or HfApi(token=hub_token())
    if api.token is None:
        hub_token()
    with_retries(
        lambda: api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True),
        f"creating {repo_id}",
    )
    if revision:
        with_retries(
            lambda: api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True),
            f"creating branch {revision} of {repo_id}",
        )
    with_retries(
        lambda: api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="model",
            revision=revision,
            commit_message=f"titleforge model{f' ({revision})' if revision else ''}",
            ignore_patterns=["checkpoint-*", "*.pt", "*.onnx", "titleforge.log"],
        ),
        f"uploading the model to {repo_id}",
    )
    return f"https://huggingface.co/{repo_id}" + (f"/tree/{revision}" if revision else "")


def tag_revision(repo_id: str, tag: str, repo_type: str, *, api: HfApi | None = None) -> None:
    """Tag the repo's main at its current commit (a round's immutable name on the Hub)."""
    api = api or HfApi(token=hub_token())
    with_retries(
        lambda: api.create_tag(repo_id, tag=tag, repo_type=repo_type, exist_ok=True),
        f"tagging {repo_id} as {tag}",
    )
