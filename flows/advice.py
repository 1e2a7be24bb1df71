"""Advice that fits where a run executes: a CLI flag at the terminal, a parameter in a deployment."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from generator.backend import BackendError
from generator.items import TitleforgeError

_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z-]*)")
# CLI flags whose config field has another name
_FIELDS = {"timeout": "timeout_s", "workdir": "workdir", "real-data": "real_data.source"}


def for_deployment(message: str) -> str:
    """'pass --model' → 'pass `model` (a deployment parameter)': what a deployment's user can change."""

    def field(m: re.Match[str]) -> str:
        flag = m.group(1)
        return f"`{_FIELDS.get(flag, flag.replace('-', '_'))}` (a deployment parameter)"

    return _FLAG.sub(field, message)


def in_deployment() -> bool:
    """Whether this flow run belongs to a deployment (served or worker)."""
    from prefect.runtime import deployment

    return bool(deployment.id)


@contextlib.contextmanager
def deployment_advice() -> Iterator[None]:
    """Re-raise user-facing errors with parameter advice when running inside a deployment."""
    try:
        yield
    except (TitleforgeError, BackendError) as exc:
        if not in_deployment():
            raise
        translated = type(exc)(for_deployment(str(exc)))
        raise translated from None
