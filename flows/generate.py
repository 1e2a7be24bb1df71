"""The `generate_dataset` flow: task spec → LLM titles → clean, dedupe, audit, split → dataset (+ Hub)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from flows.advice import deployment_advice
from flows.artifacts import ProgressArtifact, publish_report, publish_tables, task_key
from flows.config import GenerateConfig
from flows.curation import carry_forward_task, data_options, label_noise_task
from flows.llm import backend_from_config, check_backend, ollama_slots, retry_on_outage
from flows.plain import flow, run_logger, task
from flows.realdata import load_real_titles
from flows.report import merge_report, render_report_md
from flows.rounds import begin_round, round_tags
from flows.scale import cluster_for, cluster_summary
from generator import audit as audit_mod
from generator import split as split_mod
from generator.calls import Caller
from generator.card import CardInfo, render_card
from generator.curate import Curator
from generator.dataset import build_dataset_dict, content_hash, parquet_files, save_dataset
from generator.fingerprint import read_fingerprint
from generator.generate import (
    GenerationResult,
    dataset_summary,
    default_max_calls,
    generate_titles,
)
from generator.hub import push_dataset, tag_revision
from generator.items import Title, TitleforgeError
from generator.multilabel import iterative_split, label_counts
from generator.neardup import neighbourhoods
from generator.ollama_backend import OllamaBackend
from generator.prompting import prompt_id
from generator.spec import TaskSpec, load_spec


def call_budget(config: GenerateConfig, spec: TaskSpec) -> int | None:
    """--max-calls, or for the embedded 135M model a budget sized to its low yield."""
    if config.max_calls is not None or config.llm != "embedded":
        return config.max_calls  # None: generate_titles sizes it from the quota
    from generator.embedded import YIELD_MARGIN

    return default_max_calls(spec, config.per_label, margin=YIELD_MARGIN)


@task(name="load-spec", cache_policy=NO_CACHE)
def load_spec_task(task_name: str) -> TaskSpec:
    """Load and validate the task spec."""
    return load_spec(task_name)


@task(name="load-real-data", cache_policy=NO_CACHE)
def load_real_task(config: GenerateConfig, spec: TaskSpec) -> list[Title]:
    """Read the real evaluation data, aligned to the task's labels."""
    assert config.real_data is not None
    return load_real_titles(config.real_data, spec.label_names, multi_label=spec.multi_label)


@task(
    name="check-ollama",
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_condition_fn=retry_on_outage,
    cache_policy=NO_CACHE,
)
def check_ollama_task(backend: OllamaBackend) -> None:
    """Fail fast with the fix when Ollama is down; pull the model when it is missing."""
    with deployment_advice():
        check_backend(backend)


@task(
    name="generate-titles",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=retry_on_outage,
    cache_policy=NO_CACHE,
)
def generate_titles_task(
    config: GenerateConfig,
    spec: TaskSpec,
    backend: OllamaBackend,
    curator: Curator,
    caller: Caller | None = None,
) -> GenerationResult:
    """Call the LLM until every label has its quota; resumable from raw.jsonl, so retries are cheap."""
    concurrency = config.concurrency or backend.default_concurrency()
    bar = ProgressArtifact(
        task_key(spec.name, "generation-progress"),
        f"Titles kept towards {config.per_label} per label",
    )
    wanted = config.per_label * len(spec.labels)

    def on_progress(kept: dict[str, int], calls: int) -> None:
        bar.update(sum(min(n, config.per_label) for n in kept.values()) / wanted)

    with ollama_slots(concurrency), deployment_advice():
        result = generate_titles(
            spec,
            backend,
            Path(config.workdir),
            per_label=config.per_label,
            seed=config.seed,
            concurrency=concurrency,
            max_calls=call_budget(config, spec),
            curate=curator,
            on_progress=on_progress if bar.active else None,
            show_progress=True,  # a bar only on a terminal: never in a worker or the UI
            options=data_options(config),
            caller=caller,
        )
    bar.update(1.0, force=True)
    return result


@task(name="audit", cache_policy=NO_CACHE)
def audit_task(items: list[Title], real: list[Title] | None, seed: int) -> dict[str, Any]:
    """Measure label-revealing surface features and how well a probe predicts labels from them."""
    return audit_mod.audit(items, real_items=real, seed=seed)


@task(name="neutralise", cache_policy=NO_CACHE)
def neutralise_task(
    items: list[Title], audit: dict[str, Any], seed: int
) -> tuple[list[Title], list[Any]]:
    """Rewrite or drop what the audit flags."""
    return audit_mod.neutralise(items, audit, seed=seed)


@task(name="balance-and-split", cache_policy=NO_CACHE)
def split_task(
    items: list[Title], config: GenerateConfig, spec: TaskSpec
) -> dict[str, list[Title]]:
    """Balance labels, then a stratified, seeded split that keeps neighbourhoods together."""
    balanced = split_mod.balance(items, strategy=config.balance, seed=config.seed)
    groups = neighbourhoods(balanced, seed=config.seed)
    if spec.multi_label:  # label sets: iterative stratification
        return iterative_split(
            balanced, groups, spec.label_names, ratios=config.split_ratios, seed=config.seed
        )
    return split_mod.split(balanced, groups, ratios=config.split_ratios, seed=config.seed)


@task(name="save-dataset", cache_policy=NO_CACHE)
def save_dataset_task(
    splits: dict[str, list[Title]], spec: TaskSpec, card_info: CardInfo, out_dir: Path
) -> str:
    """Build the DatasetDict and save it with its card beside it."""
    dd = build_dataset_dict(splits, [label.name for label in spec.labels])
    card = render_card(card_info.with_sizes(dd, parquet_files(dd)))
    save_dataset(dd, card, out_dir)
    return card


@task(name="push-dataset", cache_policy=NO_CACHE)
def push_dataset_task(out_dir: Path, repo: str, private: bool) -> str:
    """Push the saved dataset and its card to the Hub (HF_TOKEN only; transient errors retried inside)."""
    from datasets import load_from_disk

    # the card saved beside the data, byte for byte: its sizes describe these parquet files
    card = (out_dir / "README.md").read_text(encoding="utf-8")
    return push_dataset(parquet_files(load_from_disk(str(out_dir))), card, repo, private=private)


@flow(name="titleforge-generate")
def generate_dataset(config: GenerateConfig) -> dict[str, Any]:
    """Generate, clean, dedupe, audit and split a labelled title dataset; save it (and push it)."""
    config = begin_round(config)
    # the stack holds a Dask cluster (with --dask-address) until the flow ends
    with (
        round_tags(Path(config.task).stem, Path(config.workdir).name),
        contextlib.ExitStack() as hold,
    ):
        return _generate(config, hold)


def _generate(config: GenerateConfig, hold: contextlib.ExitStack) -> dict[str, Any]:
    """The generate flow's steps, for a round already begun."""
    log = run_logger()
    workdir = Path(config.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    log.info("Round %s: seed %s", workdir, config.seed)

    spec = load_spec_task(config.task)
    if config.guidance:
        unknown = sorted(set(config.guidance) - set(spec.label_names))
        if unknown:
            raise TitleforgeError(
                f"guidance names labels {unknown} that task {spec.name!r} does not have: use "
                f"{spec.label_names}."
            )
        spec = spec.model_copy(update={"guidance": config.guidance})
    log.info(
        "Task %r: labels %s, prompt %s", spec.name, [lb.name for lb in spec.labels], prompt_id(spec)
    )
    real = load_real_task(config, spec) if config.real_data else None
    if real is not None:
        log.info("Real data: %d titles (contamination guard and audit drift)", len(real))

    backend = backend_from_config(config, spec)
    check_ollama_task(backend)
    caller = hold.enter_context(cluster_for(config, backend))
    curator = Curator(spec, near_threshold=config.near_dup_threshold, real_titles=real)
    started = time.perf_counter()
    result = generate_titles_task(config, spec, backend, curator, caller)
    generation_s = time.perf_counter() - started
    log.info(
        "Generated %d calls (%d resumed, %d failed): %d raw titles, kept %s",
        result.calls_total,
        result.calls_resumed,
        result.calls_failed,
        result.raw_titles,
        result.per_label,
    )

    items = list(result.items)
    audit = audit_task(items, real, config.seed)
    log.info(
        "Audit: probe accuracy %.3f, %d flags",
        audit["shortcut_probe_accuracy"],
        len(audit["flags"]),
    )
    if config.neutralise and audit["flags"]:
        items, actions = neutralise_task(items, audit, config.seed)
        audit = audit_task(items, real, config.seed)
        audit["neutralise_actions"] = actions
        log.info(
            "Neutralised: %s; probe accuracy now %.3f", actions, audit["shortcut_probe_accuracy"]
        )

    carried = 0
    if spec.multi_label and (config.carry_from or config.label_noise != "off"):
        # both steps read one label per title; a multi-label round skips them (said in the log)
        log.info("Multi-label task: no carry-forward and no label-noise check in this round.")
        config = config.model_copy(update={"carry_from": None, "label_noise": "off"})
    if config.carry_from:
        items, carried = carry_forward_task(items, config.carry_from, spec.label_names)
        log.info("Carried %d titles from %s (deduplicated union)", carried, config.carry_from)
    noise: dict[str, Any] | None = None
    if config.label_noise != "off":
        before = len(items)
        items, noise = label_noise_task(items, spec.label_names, config)
        log.info("Label noise: %s flagged (%s)", noise.get("flagged", 0), config.label_noise)
        dropped_noise = before - len(items)
    splits = split_task(items, config, spec)
    summary = dataset_summary(result)
    summary["generator"] = {"llm": config.llm, "model": backend.model}
    if caller is not None:
        summary["generator"]["dask"] = cluster_summary(caller)
    if config.llm == "embedded":
        from generator.embedded import TRY_OUT_NOTE

        summary["generator"]["note"] = TRY_OUT_NOTE
    summary["generation_s"] = round(generation_s, 2)  # this run's calls (a resumed run: its part)
    if config.carry_from:
        summary["carried"] = {"from": config.carry_from, "titles": carried}
    if noise is not None:
        summary["label_noise"] = noise
        if dropped_noise:
            summary["dropped"]["label_noise"] = dropped_noise
    summary["splits"] = {name: len(part) for name, part in splits.items()}
    summary["kept"] = sum(summary["splits"].values())
    summary["per_label"] = label_counts([t for part in splits.values() for t in part])
    if spec.multi_label:
        summary["label_sets"] = dict(
            Counter("|".join(t.labels) for part in splits.values() for t in part).most_common()
        )
    if len(items) > summary["kept"]:
        summary["dropped"]["balance_downsample"] = len(items) - summary["kept"]
    summary["examples"] = curator.last.examples if curator.last else []
    log.info("Splits: %s; dropped %s", summary["splits"], summary["dropped"])

    round_info = {
        "id": workdir.name,
        "task": spec.name,
        "seed": config.seed,
        "fingerprint": (read_fingerprint(workdir) or {}).get("fingerprint"),
        "dataset_hash": content_hash(splits),
    }
    card_info = CardInfo.from_run(
        spec, prompt_id(spec), backend.model, summary, audit, config.hub_repo, round_info
    )
    save_dataset_task(splits, spec, card_info, workdir / "dataset")
    report = merge_report(workdir, {"round": round_info, "dataset": summary, "audit": audit})
    if config.hub_repo:
        try:
            summary["hub_url"] = push_dataset_task(
                workdir / "dataset", config.hub_repo, config.private
            )
            # the round's immutable name on the Hub: the model card points at this tag
            tag_revision(config.hub_repo, workdir.name, "dataset")
            summary["hub_revision"] = workdir.name
        except Exception as exc:
            summary["hub_error"] = str(exc)  # every result above is already in report.json
            merge_report(workdir, {"dataset": summary})
            raise
        report = merge_report(workdir, {"dataset": summary})

    publish_report(
        task_key(spec.name, "dataset-report"), render_report_md(report), "Dataset report"
    )
    publish_tables(spec.name, report, ("drops",))
    return report
