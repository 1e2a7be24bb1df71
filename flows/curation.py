"""Dataset-shaping steps of the generate flow after the LLM calls: carry-forward, label noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from flows.config import GenerateConfig
from flows.plain import task
from generator.items import Title, TitleforgeError


def data_options(config: GenerateConfig) -> dict[str, Any]:
    """The flow's options that shape the dataset after the calls: part of the run's fingerprint."""
    real = config.real_data
    return {
        "near_dup_threshold": config.near_dup_threshold,
        "neutralise": config.neutralise,
        "balance": config.balance,
        "label_noise": [config.label_noise, config.label_noise_encoder],
        "carry_from": config.carry_from,
        "split_ratios": list(config.split_ratios),
        # the contamination guard drops titles close to these real ones
        "real_data": real.model_dump() if real else None,
    }


@task(name="carry-forward", cache_policy=NO_CACHE)
def carry_forward_task(
    items: list[Title], dataset_dir: str, labels: list[str]
) -> tuple[list[Title], int]:
    """This round's titles plus a previous round's, minus exact repeats (casefolded)."""
    from datasets import load_from_disk

    seen = {t.text.casefold() for t in items}
    out = list(items)
    previous = load_from_disk(dataset_dir)
    source = Path(dataset_dir).parent.name  # the round it came from
    for split in previous.values():
        names = split.features["label"].names
        if names != labels:
            raise TitleforgeError(
                f"{dataset_dir} has labels {names}, this task {labels}: carry only from the "
                "same task's rounds."
            )
        for text, label in zip(split["text"], split["label"], strict=True):
            if text.casefold() not in seen:
                seen.add(text.casefold())
                out.append(Title(text=text, label=names[label], call_id=f"carried:{source}"))
    return out, len(out) - len(items)


@task(name="label-noise", cache_policy=NO_CACHE)
def label_noise_task(
    items: list[Title], labels: list[str], config: GenerateConfig
) -> tuple[list[Title], dict[str, Any]]:
    """Flag titles whose label a cross-validated probe confidently contradicts; drop them if asked."""
    from training.labelnoise import find_label_noise, text_features

    texts = [t.text for t in items]
    index = {name: i for i, name in enumerate(labels)}
    try:
        features = text_features(texts, config.label_noise_encoder, seed=config.seed or 0)
        noise = find_label_noise(
            features, [index[t.label] for t in items], labels, seed=config.seed or 0
        )
    except ValueError as exc:  # too few titles per label for k-fold: say so, keep everything
        return items, {"mode": config.label_noise, "skipped": str(exc)}
    summary = {"mode": config.label_noise, **noise.summary(texts, labels)}
    if config.label_noise == "drop":
        flagged = set(noise.indices)
        items = [t for i, t in enumerate(items) if i not in flagged]
    return items, summary
