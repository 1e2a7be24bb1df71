"""Prefect UI artifacts: the run's markdown report, per-label tables and moving progress bars."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.context import FlowRunContext, TaskRunContext


def _in_run() -> bool:
    """Artifacts only make sense inside a flow or task run (not in plain unit calls)."""
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key: lowercase letters, digits and dashes only."""
    raw = "-".join(parts).lower()
    return "".join(c if c.isalnum() else "-" for c in raw).strip("-")


def task_key(task: str, kind: str) -> str:
    """One stable key per kind of artifact, task and deployment (not per run or run directory)."""
    return artifact_key(deployment_scope(), task, kind)


def deployment_scope() -> str:
    """The deployment this run belongs to ('' for ad-hoc runs), so each deployment keeps one history."""
    from prefect.runtime import deployment

    return deployment.name or ""


class ProgressArtifact:
    """A progress artifact that moves while work runs, updated at most every `min_interval_s`."""

    def __init__(self, key: str, description: str, min_interval_s: float = 2.0) -> None:
        """Create the artifact at 0% (a no-op outside a Prefect run)."""
        self._id: UUID | None = None
        self._last = 0.0
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()
        if _in_run():
            self._id = create_progress_artifact(progress=0.0, key=key, description=description)

    @property
    def active(self) -> bool:
        """Whether updates reach a Prefect server."""
        return self._id is not None

    def update(self, fraction: float, *, force: bool = False) -> None:
        """Move the bar to `fraction` (0..1); throttled so the API is not flooded."""
        if self._id is None:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self._min_interval_s:
                return
            self._last = now
        update_progress_artifact(self._id, progress=round(100.0 * min(max(fraction, 0.0), 1.0), 1))


def publish_report(
    key: str, markdown: str, description: str, images_from: Path | None = None
) -> None:
    """Publish the run's markdown report as a keyed artifact (plots inlined so the UI shows them)."""
    if _in_run():
        if images_from is not None:
            markdown = inline_images(markdown, images_from)
        create_markdown_artifact(markdown=markdown, key=key, description=description)


_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^()\s]+\.png)\)")


def inline_images(markdown: str, folder: Path) -> str:
    """Relative PNG links → data URIs: the Prefect UI cannot load files from a run directory."""

    def embed(m: re.Match[str]) -> str:
        path = (folder / m.group(2)).resolve()
        if not path.is_file() or not path.is_relative_to(folder.resolve()):
            return m.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f"![{m.group(1)}](data:image/png;base64,{data})"

    return _IMAGE.sub(embed, markdown)


def task_of(workdir: Path) -> str:
    """The run's task name for stable artifact keys (one key per task, not per run directory)."""
    from flows.report import load_report

    return (load_report(workdir).get("round") or {}).get("task") or workdir.name


def per_label_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per label: accuracy on the synthetic test split and on real data."""
    synth = (report.get("synthetic_test") or {}).get("per_label_accuracy", {})
    real = (report.get("real") or {}).get("per_label_accuracy", {})
    labels = list(dict.fromkeys([*synth, *real]))
    return [
        {
            "label": label,
            "synthetic_accuracy": _round(synth.get(label)),
            "real_accuracy": _round(real.get(label)),
            "gap": _round(synth[label] - real[label]) if label in synth and label in real else None,
        }
        for label in labels
    ]


def publish_tables(task: str, report: Mapping[str, Any], kinds: tuple[str, ...]) -> None:
    """Publish the per-label metrics and/or drop counts as table artifacts (each from one flow only)."""
    if not _in_run():
        return
    rows = per_label_rows(report)
    if rows and "per-label" in kinds:
        create_table_artifact(
            table=rows,
            key=task_key(task, "per-label"),
            description="Per-label accuracy: synthetic test split vs real data",
        )
    dropped = (report.get("dataset") or {}).get("dropped") or {}
    if dropped and "drops" in kinds:
        create_table_artifact(
            table=[
                {"reason": k, "titles": v}
                for k, v in sorted(dropped.items(), key=lambda kv: -kv[1])
            ],
            key=task_key(task, "drops"),
            description="Titles dropped during cleaning and dedupe, by reason",
        )


def _round(x: float | None) -> float | None:
    """Round a metric for display."""
    return None if x is None else round(float(x), 4)
