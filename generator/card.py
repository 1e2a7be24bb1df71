"""The dataset card: README.md with YAML metadata, rendered from a sandboxed Jinja template."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCardData
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from generator.spec import TaskSpec

TEMPLATE = Path(__file__).with_name("templates") / "dataset_card.md.j2"


@dataclass
class CardInfo:
    """Everything the card says; no secrets ever enter it."""

    pretty_name: str
    task_description: str
    license: str
    labels: list[dict[str, str]]
    model: str
    prompt_id: str
    splits: dict[str, int]
    raw_titles: int
    kept: int
    dropped: dict[str, int]
    probe_accuracy: float
    chance: float
    flags: list[str] = field(default_factory=list)
    calls: dict[str, int] | None = None
    repo_id: str | None = None
    # the round: its seed reproduces this dataset; the fingerprint names every option behind it
    seed: int | None = None
    fingerprint: str | None = None
    dataset_hash: str | None = None
    model_note: str | None = None  # e.g. that a tiny embedded model wrote the data
    # sizes the Hub shows: arrow bytes per split and the parquet files' total (see with_sizes)
    split_bytes: dict[str, int] = field(default_factory=dict)
    download_size: int = 0
    multi_label: bool = False  # a `labels` list per title instead of one `label`

    def with_sizes(self, dd: Any, files: dict[str, bytes]) -> CardInfo:
        """This card with the splits' byte sizes and the data files' total, as pushed."""
        self.split_bytes = {name: int(ds.data.nbytes) for name, ds in dd.items()}
        self.download_size = sum(len(b) for b in files.values())
        return self

    @classmethod
    def from_run(
        cls,
        spec: TaskSpec,
        prompt: str,
        model: str,
        summary: dict[str, Any],
        audit: dict[str, Any],
        repo_id: str | None,
        round_info: dict[str, Any] | None = None,
    ) -> CardInfo:
        """Assemble the card from the spec, the dataset summary and the audit."""
        return cls(
            pretty_name=f"titleforge {spec.name} (synthetic)",
            task_description=spec.description,
            license=spec.license,
            labels=[{"name": lb.name, "description": lb.description} for lb in spec.labels],
            model=model,
            prompt_id=prompt,
            splits=summary.get("splits", {}),
            raw_titles=summary.get("raw_titles", 0),
            kept=summary.get("kept", 0),
            dropped=summary.get("dropped", {}),
            probe_accuracy=audit.get("shortcut_probe_accuracy", float("nan")),
            chance=audit.get("chance", float("nan")),
            flags=[f["detail"] for f in audit.get("flags", [])],
            calls=summary.get("calls"),
            repo_id=repo_id,
            seed=(round_info or {}).get("seed"),
            fingerprint=(round_info or {}).get("fingerprint"),
            dataset_hash=(round_info or {}).get("dataset_hash"),
            model_note=(summary.get("generator") or {}).get("note"),
            multi_label=spec.multi_label,
        )


def _size_category(n: int) -> str:
    """The Hub's size_categories bucket."""
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return name
    return "1M<n<10M"


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    """Sandboxed and strict: a missing field fails instead of rendering blank."""
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )


def card_data(info: CardInfo) -> DatasetCardData:
    """The card's metadata through huggingface_hub's own class: what the Hub reads and shows."""
    names = [lb["name"] for lb in info.labels]
    label_feature = {"class_label": {"names": {str(i): n for i, n in enumerate(names)}}}
    return DatasetCardData(
        language=["en"],
        license=info.license,
        pretty_name=info.pretty_name,
        task_categories=["text-classification"],
        task_ids=["multi-label-classification"] if info.multi_label else None,
        size_categories=[_size_category(sum(info.splits.values()))],
        tags=["synthetic", "titleforge", "llm-generated"],
        # the data files push_dataset uploads (generator.dataset.parquet_files names them)
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": k, "path": f"data/{k}-*"} for k in info.splits],
            }
        ],
        dataset_info={
            "features": [
                {"name": "text", "dtype": "string"},
                {"name": "labels", "sequence": label_feature}
                if info.multi_label
                else {"name": "label", "dtype": label_feature},
            ],
            "splits": [
                {"name": k, "num_bytes": info.split_bytes.get(k, 0), "num_examples": v}
                for k, v in info.splits.items()
            ],
            "download_size": info.download_size,
            "dataset_size": sum(info.split_bytes.values()),
        },
        titleforge={"generator_model": info.model, "prompt_id": info.prompt_id},
    )


def render_card(info: CardInfo) -> str:
    """README.md text: YAML metadata block, then the body."""
    return (
        _env()
        .from_string(TEMPLATE.read_text(encoding="utf-8"))
        .render(info=info, metadata=card_data(info).to_yaml())
    )
