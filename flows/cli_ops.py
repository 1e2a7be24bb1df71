"""CLI commands for Prefect operations: serve the deployments, trigger a regeneration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from flows.cli_common import (
    BaseModelOpt,
    EpochsOpt,
    HostOpt,
    HubModelOpt,
    HubRepoOpt,
    PerLabelOpt,
    RealLabelOpt,
    RealMapOpt,
    RealOpt,
    RealTextOpt,
    TaskOpt,
    app,
    err,
    friendly_errors,
    out,
    real_options,
    user_error,
    validated,
)


@app.command()
def serve(
    task: TaskOpt = "clickbait",
    per_label: PerLabelOpt = 500,
    runs_dir: Annotated[
        Path, typer.Option(help="Scheduled and manual runs write below this folder.")
    ] = Path("data/runs"),
    cron: Annotated[
        str, typer.Option(help="Cron schedule of the nightly regeneration + retraining.")
    ] = "0 2 * * *",
    timezone: Annotated[str, typer.Option(help="Timezone of --cron.")] = "UTC",
    ollama_host: HostOpt = None,
    ollama_slots: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Parallel slots of all Ollama servers together (Prefect concurrency limit).",
        ),
    ] = None,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    base_model: BaseModelOpt = "albert/albert-base-v2",
    epochs: EpochsOpt = 3.0,
    hub_repo: HubRepoOpt = None,
    hub_model: HubModelOpt = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Max flow runs at once in this process.")
    ] = None,
) -> None:
    """Serve the nightly and the manual-regeneration deployments to a Prefect server."""
    check_schedule(cron, timezone)
    from flows.config import TrainOptions
    from flows.deploy import build_deployments, serve_deployments

    generate_opts: dict[str, Any] = {
        k: v
        for k, v in {
            "ollama_host": ollama_host,
            "real_data": real_options(
                real_data, real_text_column, real_label_column, real_label_map
            ),
            "hub_repo": hub_repo,
        }.items()
        if v is not None
    }
    train_opts = validated(TrainOptions, base_model=base_model, epochs=epochs, hub_model=hub_model)
    with friendly_errors():
        deployments = build_deployments(
            task=task,
            per_label=per_label,
            runs_dir=str(runs_dir.resolve()),
            cron=cron,
            timezone=timezone,
            train=train_opts,
            generate=generate_opts,
        )
    slots = ollama_slots or _default_slots(ollama_host)
    serve_deployments(deployments, slots, limit=limit)


def check_schedule(cron: str, timezone: str) -> None:
    """A cron string and a timezone that Prefect's scheduler accepts, or exit 2 naming the fix."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "cron"
        if field == "timezone":
            user_error(
                f"--timezone {timezone!r} is unknown: use an IANA name such as UTC or Europe/Paris."
            )
        user_error(
            f"--cron {cron!r} is not a cron schedule: five fields, minute hour day month "
            "weekday, e.g. '0 2 * * *' for 02:00 every night."
        )


def _default_slots(ollama_host: str | None) -> int:
    """Parallel slots of the configured Ollama servers."""
    from generator.ollama_backend import OllamaBackend

    hosts = [h.strip() for h in ollama_host.split(",")] if ollama_host else None
    return OllamaBackend(hosts=hosts).parallel_slots()


@app.command()
def regenerate(
    task: Annotated[str | None, typer.Option(help="Override the deployment's task.")] = None,
    per_label: Annotated[int | None, typer.Option(help="Override the deployment's quota.")] = None,
    workdir: Annotated[str | None, typer.Option(help="Override the run directory.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the seed.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the run to finish.")] = False,
) -> None:
    """Start a manual dataset regeneration on the served deployment (needs a Prefect server)."""
    from flows.deploy import trigger_regeneration

    overrides = {
        k: v
        for k, v in {"task": task, "per_label": per_label, "workdir": workdir, "seed": seed}.items()
        if v is not None
    }
    with friendly_errors():
        run_ = trigger_regeneration(overrides, wait=wait)
    state = run_.state.name if run_.state else "?"
    out.print(f"Flow run {run_.name} ({run_.id}): {state}")
    if wait and run_.state and not run_.state.is_completed():
        from flows.deploy import failing_steps

        if run_.state.message:
            err.print(f"[red]{escape(run_.state.message)}[/red]")
        for name, message in failing_steps(run_.id):
            err.print(f"[red]Failed step[/red] {escape(name)}: {escape(message)}")
        raise typer.Exit(1)
