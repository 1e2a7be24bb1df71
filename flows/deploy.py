"""Deployments: nightly regeneration + retraining on a cron, and manual dataset regeneration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_client, serve
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL

from flows.config import GenerateConfig, PipelineConfig, TrainOptions
from flows.generate import generate_dataset
from flows.llm import ensure_ollama_limit
from flows.pipeline import pipeline
from flows.rounds import ROUND
from generator.items import TitleforgeError

NIGHTLY = "nightly"
REGENERATE = "regenerate"
TAGS = ["titleforge"]


def round_template(runs_dir: str, task: str) -> str:
    """`RUNS/<task>/{round}`: filled with `<UTC time>-s<seed>` when a run starts (flows.rounds)."""
    return f"{runs_dir}/{Path(task).stem}/{ROUND}"


def nightly_parameters(
    task: str, per_label: int, runs_dir: str, train: TrainOptions, **generate: Any
) -> dict[str, Any]:
    """Default parameters of the nightly deployment: each run a new round dir and a fresh seed."""
    gen = GenerateConfig(
        task=task, per_label=per_label, workdir=round_template(runs_dir, task), **generate
    )
    return {"config": PipelineConfig(generate=gen, train=train).model_dump(mode="json")}


def regenerate_parameters(
    task: str, per_label: int, runs_dir: str, **generate: Any
) -> dict[str, Any]:
    """Default parameters of the manual regeneration deployment (a new round per run)."""
    gen = GenerateConfig(
        task=task, per_label=per_label, workdir=round_template(runs_dir, task), **generate
    )
    return {"config": gen.model_dump(mode="json")}


def build_deployments(
    *,
    task: str,
    per_label: int,
    runs_dir: str,
    cron: str,
    timezone: str,
    train: TrainOptions,
    generate: dict[str, Any],
) -> list[Any]:
    """The two served deployments, with parameters the UI shows as a form."""
    nightly = pipeline.to_deployment(
        name=NIGHTLY,
        schedule=Cron(cron, timezone=timezone),
        parameters=nightly_parameters(task, per_label, runs_dir, train, **generate),
        description="Nightly: regenerate the dataset with the LLM, retrain, check on real data.",
        tags=TAGS,
        # one nightly at a time: a slow night must not overlap the next
        concurrency_limit=1,
    )
    manual = generate_dataset.to_deployment(
        name=REGENERATE,
        parameters=regenerate_parameters(task, per_label, runs_dir, **generate),
        description="Manual: regenerate the dataset now (from the UI, `prefect deployment run` or "
        "`titleforge regenerate`).",
        tags=TAGS,
    )
    return [nightly, manual]


def serve_deployments(deployments: list[Any], ollama_slots: int, limit: int | None = None) -> None:
    """Size the shared Ollama limit, then serve the deployments until interrupted."""
    ensure_ollama_limit(ollama_slots)
    serve(*deployments, limit=limit)


def trigger_regeneration(overrides: dict[str, Any], *, wait: bool) -> Any:
    """Start a run of the manual deployment with some config fields overridden; optionally wait."""
    name = f"{generate_dataset.name}/{REGENERATE}"
    try:
        parameters = None
        if overrides:
            with get_client(sync_client=True) as client:
                defaults = client.read_deployment_by_name(name).parameters["config"]
            # validate here so a bad override fails now, not inside the served process
            parameters = {
                "config": GenerateConfig(**{**defaults, **overrides}).model_dump(mode="json")
            }
        # timeout=None waits for the run to end; 0 returns as soon as it is scheduled
        return run_deployment(name=name, parameters=parameters, timeout=None if wait else 0)
    except ObjectNotFound:
        raise TitleforgeError(
            f"No deployment {name!r} on the Prefect server at {PREFECT_API_URL.value() or '(none set)'}: "
            "start `prefect server start`, set PREFECT_API_URL=http://127.0.0.1:4200/api, "
            "and run `titleforge serve` first."
        ) from None


def failing_steps(flow_run_id: Any) -> list[tuple[str, str]]:
    """(task run name, state message) of each failed or crashed step of a flow run."""
    from prefect.client.schemas.filters import (
        TaskRunFilter,
        TaskRunFilterFlowRunId,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    bad = TaskRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(
                flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]),
                state=TaskRunFilterState(type=bad),
            )
        )
    return [(r.name, (r.state.message if r.state else "") or "") for r in runs]
