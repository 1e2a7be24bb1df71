"""The model card: README.md with YAML metadata (model-index with synthetic and real results)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATE = Path(__file__).with_name("templates") / "model_card.md.j2"


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    """Sandboxed, strict rendering."""
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )


def _results(name: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """One model-index result entry."""
    return {
        "task": {"type": "text-classification", "name": "Text Classification"},
        "dataset": {"name": name, "type": name},
        "metrics": [
            {"type": "accuracy", "value": round(metrics["accuracy"], 4)},
            {"type": "f1", "value": round(metrics["f1"], 4), "name": "F1 (weighted)"},
        ],
    }


def written_by(workdir: Path) -> dict[str, Any] | None:
    """Which LLM wrote this run's data (report.json's dataset.generator), for the card."""
    path = workdir / "report.json"
    if not path.exists():
        return None
    return (json.loads(path.read_text(encoding="utf-8")).get("dataset") or {}).get("generator")


def render_model_card(
    *,
    name: str,
    base_model: str,
    dataset: str,
    labels: list[str],
    report: dict[str, Any],
    repo_or_path: str,
    real_name: str | None,
    dataset_revision: str | None = None,
    generator: dict[str, Any] | None = None,
) -> str:
    """README.md for the model folder (and the Hub)."""
    results = [_results("synthetic test split", report["synthetic_test"])]
    if report.get("real"):
        results.append(_results(real_name or "real data", report["real"]))
    meta = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "base_model": base_model,
        "tags": ["titleforge", "synthetic-data", "text-classification"],
        "datasets": [dataset] if "/" in dataset and not Path(dataset).exists() else [],
        "model-index": [{"name": name, "results": results}],
        "titleforge": {
            "overfitting_verdict": report["overfitting"]["verdict"],
            "dataset_revision": dataset_revision,
            "seed": (report.get("round") or {}).get("seed"),
            "fingerprint": (report.get("round") or {}).get("fingerprint"),
        },
    }
    return (
        _env()
        .from_string(TEMPLATE.read_text(encoding="utf-8"))
        .render(
            metadata=yaml.safe_dump(meta, sort_keys=False).strip(),
            name=name,
            base_model=base_model,
            dataset=dataset,
            dataset_revision=dataset_revision,
            generator=generator or {},
            labels=labels,
            synthetic=report["synthetic_test"],
            real=report.get("real"),
            verdict=report["overfitting"],
            repo_or_path=repo_or_path,
        )
    )
