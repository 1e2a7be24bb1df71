"""The one LLM boundary: a small protocol every backend implements, plus its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Completion:
    """One finished LLM call: the raw text and the server's token counts."""

    text: str
    model: str
    host: str = ""
    eval_count: int | None = None
    prompt_eval_count: int | None = None
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class BackendError(RuntimeError):
    """A call failed in a way retrying will not fix (bad request, unknown model)."""

    exit_code = 1


class BackendUnavailable(BackendError):
    """The server could not be reached or kept failing; the message names the fix."""


class BackendHung(BackendUnavailable):
    """The server took calls but answered none in time: more retries would only wait longer."""


class ModelMissing(BackendError):
    """The model is not on the server and cannot be pulled: the user's model name or server (exit 2)."""

    exit_code = 2


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that turns a prompt into text; backends neither parse nor clean."""

    model: str

    def generate(
        self,
        prompt: str,
        *,
        system: str | None = None,
        schema: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Completion:
        """Run one call and return its raw text; raise BackendError/BackendUnavailable."""
        ...
