"""The Hugging Face Hub edge: token from HF_TOKEN only, retries on transient errors, clear failures."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from huggingface_hub.utils import filter_repo_objects

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


# never pushed: checkpoints, pickles, the ONNX exports (local speed-ups) and the run log
MODEL_IGNORE = ["checkpoint-*", "checkpoint-*/*", "*.pt", "*.bin", "*.onnx", "*.log"]
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
    files: dict[str, bytes],
    card: str,
    repo_id: str,
    *,
    private: bool = False,
    api: HfApi | None = None,
) -> str:
    """Push the data files and the card (README.md) in one commit; returns the dataset's URL.

    One commit, not `push_to_hub` + a card upload: push_to_hub writes a README of its own, so
    the card would be written twice and the Hub would briefly show a card without ours.
    """
    api = api or HfApi(token=hub_token())
    if api.token is None:
        hub_token()
    with_retries(
        lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
        f"creating {repo_id}",
    )
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=b) for p, b in files.items()]
    ops.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8")))
    with_retries(
        lambda: api.create_commit(
            repo_id, ops, repo_type="dataset", commit_message="titleforge dataset and card"
        ),
        f"pushing the dataset to {repo_id}",
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
    # one create_commit with exactly these files (upload_folder may split a push into several
    # commits); the card is one of them, written once
    files = sorted(
        filter_repo_objects(
            (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()),
            ignore_patterns=MODEL_IGNORE,
        )
    )
    ops = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=folder / f) for f in files]
    with_retries(
        lambda: api.create_commit(
            repo_id,
            ops,
            repo_type="model",
            revision=revision,
            commit_message=f"titleforge model{f' ({revision})' if revision else ''}",
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
