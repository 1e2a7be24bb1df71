"""CLI commands that make data: generate and audit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from flows.cli_common import (
    ConcOpt,
    DaskOpt,
    HostOpt,
    HubRepoOpt,
    LabelNoiseOpt,
    LlmOpt,
    MaxCallsOpt,
    ModelOpt,
    NoPrefectOpt,
    PerLabelOpt,
    PrivateOpt,
    RealLabelOpt,
    RealMapOpt,
    RealOpt,
    RealTextOpt,
    RoundSeedOpt,
    SeedOpt,
    TaskOpt,
    TimeoutOpt,
    WorkdirOpt,
    app,
    check_workdir,
    err,
    friendly_errors,
    need_hub_token,
    open_run_log,
    out,
    real_options,
    running_flow,
    user_error,
    validated,
)


def preflight_generate(config: Any) -> None:
    """Fail in seconds on a bad spec, bad real data or an unreachable Ollama, before Prefect starts."""
    from flows.llm import backend_from_config
    from generator.spec import load_spec

    with friendly_errors():
        need_hub_token(config.hub_repo)
        spec = load_spec(config.task)
        if config.real_data is not None:
            from flows.realdata import load_real_titles

            load_real_titles(config.real_data, spec.label_names, multi_label=spec.multi_label)
        backend = backend_from_config(config, spec)
        backend.check()
        # a missing model is pulled now (with progress), and one that cannot be pulled stops here
        with err.status(f"Checking model {backend.model} on {', '.join(backend.hosts)}…"):
            backend.ensure_model()
        if config.dask_address:
            from generator.cluster import check_scheduler

            check_scheduler(config.dask_address)


def _gen_config(**kwargs: Any) -> Any:
    """A validated GenerateConfig from CLI options."""
    from flows.config import GenerateConfig

    return validated(GenerateConfig, **kwargs)


LabelNoiseEncoderOpt = Annotated[
    str | None,
    typer.Option(
        help="Frozen encoder (Hub id or local path) whose embeddings feed the label-noise probe; "
        "unset: character n-gram TF-IDF. With --dask-address the workers embed."
    ),
]

_GEN_KEYS = (
    "task",
    "per_label",
    "seed",
    "llm",
    "model",
    "ollama_host",
    "concurrency",
    "dask_address",
    "max_calls",
    "timeout_s",
    "label_noise",
    "label_noise_encoder",
    "neutralise",
    "hub_repo",
    "private",
)


def gen_from_cli(opts: dict[str, Any]) -> Any:
    """A GenerateConfig from a command's options (shared by `generate` and `run`)."""
    real = real_options(
        opts["real_data"],
        opts["real_text_column"],
        opts["real_label_column"],
        opts["real_label_map"],
    )
    return _gen_config(
        workdir=str(opts["workdir"]), real_data=real, **{k: opts[k] for k in _GEN_KEYS if k in opts}
    )


@contextlib.contextmanager
def sole_writer(workdir: Path) -> Iterator[None]:
    """Hold the run directory's lock for the command; a second writer exits 2 naming the holder."""
    from generator.runlock import RunLocked, run_lock

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(run_lock(workdir))
        except RunLocked as exc:
            user_error(str(exc))
        yield


@app.command()
def generate(
    workdir: WorkdirOpt,
    task: TaskOpt = "clickbait",
    per_label: PerLabelOpt = 500,
    seed: RoundSeedOpt = None,
    llm: LlmOpt = "ollama",
    model: ModelOpt = None,
    ollama_host: HostOpt = None,
    concurrency: ConcOpt = None,
    dask_address: DaskOpt = None,
    max_calls: MaxCallsOpt = None,
    timeout_s: TimeoutOpt = None,
    label_noise: LabelNoiseOpt = None,
    label_noise_encoder: LabelNoiseEncoderOpt = None,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    neutralise: Annotated[
        bool, typer.Option(help="Rewrite/drop what the shortcut audit flags.")
    ] = False,
    hub_repo: HubRepoOpt = None,
    private: PrivateOpt = False,
    no_prefect: NoPrefectOpt = False,
) -> None:
    """Generate a labelled dataset with the LLM: clean, dedupe, audit, split, save (and push)."""
    config = gen_from_cli(locals())
    # every check before anything is written: a bad input leaves the run directory as it was
    check_workdir(workdir)
    preflight_generate(config)
    with sole_writer(workdir):
        open_run_log(workdir)
        from flows.generate import generate_dataset

        with running_flow(no_prefect):
            report = generate_dataset(config)
    ds = report["dataset"]
    out.print(
        f"[green]Dataset saved[/green] to {workdir / 'dataset'}: splits {ds['splits']}, "
        f"{sum(ds['dropped'].values())} titles dropped ({len(report['audit']['flags'])} audit flags); "
        f"seed {report['round']['seed']}, dataset hash {report['round']['dataset_hash']}."
    )


@app.command()
def audit(
    data: Annotated[
        str,
        typer.Option(help="Labelled data: a file (CSV/JSONL/Parquet), a dataset dir or a Hub id."),
    ],
    text_column: Annotated[str, typer.Option(help="Text column of --data.")] = "text",
    label_column: Annotated[str, typer.Option(help="Label column of --data.")] = "label",
    label_map: Annotated[str | None, typer.Option(help="Label mapping for --data.")] = None,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    seed: SeedOpt = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the audit as JSON here.")
    ] = None,
) -> None:
    """Audit labelled data (a file, a dataset dir, a Hub id, or a run's raw.jsonl) for shortcuts and drift."""
    import json

    from flows.config import RealDataOptions
    from flows.realdata import load_audit_titles, load_real_titles
    from generator.audit import audit as run_audit
    from generator.audit import format_flags

    with friendly_errors():
        items = load_audit_titles(
            RealDataOptions(
                source=data, text_column=text_column, label_column=label_column, label_map=label_map
            )
        )
        real = None
        if real_data:
            opts = real_options(real_data, real_text_column, real_label_column, real_label_map)
            real = load_real_titles(opts, sorted({t.label for t in items}))
        result = run_audit(items, real_items=real, seed=seed)
    out.print(
        f"{len(items)} titles; shortcut probe accuracy {result['shortcut_probe_accuracy']:.3f} "
        f"(chance {result.get('chance', 0):.3f})"
    )
    flags = format_flags(result)
    for line in flags:
        out.print(f"[yellow]FLAG[/yellow] {escape(line)}")
    if not flags:
        out.print("[green]No shortcut or drift flags.[/green]")
    if json_out:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
