"""The real HfApi with the network cut at the repo and commit calls: records what each push uploads.

The client builds its commit operations as it would for the Hub; only the calls that would reach
it (create_repo/branch/tag, create_commit) are answered here, so a test sees exactly which files a
push would upload and in how many commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi
from huggingface_hub.utils import validate_repo_id


@dataclass
class Commit:
    """One intercepted commit: where it went and the files it added (path → bytes)."""

    repo_id: str
    repo_type: str
    revision: str
    files: dict[str, bytes] = field(default_factory=dict)


def _read(op: CommitOperationAdd) -> bytes:
    """The bytes a commit operation would upload."""
    with op.as_file() as fh:
        return fh.read()


class InterceptedHub(HfApi):
    """HfApi whose Hub-side effects are recorded instead of sent (class-level log, one per test)."""

    commits: ClassVar[list[Commit]] = []
    calls: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    @classmethod
    def reset(cls) -> None:
        """Forget earlier pushes."""
        cls.commits, cls.calls = [], []

    def create_repo(self, repo_id: str, **kw: Any) -> Any:  # type: ignore[override]
        """Record; the Hub would create the repo (exist_ok)."""
        validate_repo_id(repo_id)
        self.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/{repo_id}"

    def create_branch(self, repo_id: str, **kw: Any) -> None:  # type: ignore[override]
        """Record the branch."""
        self.calls.append(("create_branch", repo_id, kw))

    def create_tag(self, repo_id: str, **kw: Any) -> None:  # type: ignore[override]
        """Record the tag."""
        self.calls.append(("create_tag", repo_id, kw))

    def create_commit(  # type: ignore[override]
        self, repo_id: str, operations: Any, **kw: Any
    ) -> CommitInfo:
        """Record every file the commit adds, with its bytes."""
        validate_repo_id(repo_id)
        commit = Commit(repo_id, kw.get("repo_type") or "model", kw.get("revision") or "main")
        for op in operations:
            assert isinstance(op, CommitOperationAdd), op  # titleforge never deletes or copies
            assert op.path_in_repo not in commit.files, f"{op.path_in_repo} twice in one commit"
            commit.files[op.path_in_repo] = _read(op)
        self.commits.append(commit)
        self.calls.append(("create_commit", repo_id, kw))
        n = len(self.commits)
        return CommitInfo(
            commit_url=f"https://huggingface.co/{repo_id}/commit/{n:040x}",
            commit_message=kw.get("commit_message", ""),
            commit_description="",
            oid=f"{n:040x}",
        )
