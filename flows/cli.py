"""The `titleforge` command line: thin wrappers that validate input fast, then run the Prefect flows."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

# Heavy imports (prefect, torch, transformers) happen inside the commands: a bad flag or a
# missing Ollama must be reported within a second or two, not after the ML stack has loaded.

app = typer.Typer(
    name="titleforge",
    help="Turn a short task description into a small, fast text classifier.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)
T = TypeVar("T")

TaskOpt = Annotated[
    str, typer.Option(help="Task: a name from prompts/ (clickbait, news_topic) or a YAML path.")
]
PerLabelOpt = Annotated[int, typer.Option(help="Clean titles wanted per label.")]
WorkdirOpt = Annotated[
    Path, typer.Option(help="Run directory (raw.jsonl, dataset/, model/, report.json).")
]
SeedOpt = Annotated[int, typer.Option(help="Seed for every random step.")]
HostOpt = Annotated[
    str | None,
    typer.Option("--ollama-host", envvar="OLLAMA_HOST", help="Ollama URL(s), comma-separated."),
]
ModelOpt = Annotated[
    str | None, typer.Option(help="Ollama model (default: the task spec's, phi3).")
]
ConcOpt = Annotated[
    int | None, typer.Option(help="LLM calls in flight (default: the servers' slots).")
]
MaxCallsOpt = Annotated[int | None, typer.Option(help="Hard budget on LLM calls.")]
RealOpt = Annotated[
    str | None, typer.Option(help="Real, human-labelled data: file, dataset dir or Hub id.")
]
RealTextOpt = Annotated[str, typer.Option(help="Text column of --real-data.")]
RealLabelOpt = Annotated[str, typer.Option(help="Label column of --real-data.")]
RealMapOpt = Annotated[
    str | None, typer.Option(help="Label mapping for --real-data, e.g. '1=clickbait,0=factual'.")
]
HubRepoOpt = Annotated[
    str | None,
    typer.Option(help="Push the dataset to this Hub repo (user/name); token from HF_TOKEN."),
]
PrivateOpt = Annotated[bool, typer.Option(help="Create Hub repos as private.")]
BaseModelOpt = Annotated[str, typer.Option(help="Encoder to finetune: Hub id or local path.")]
EpochsOpt = Annotated[float, typer.Option(help="Training epochs.")]
HubModelOpt = Annotated[
    str | None,
    typer.Option(help="Push the model to this Hub repo (user/name); token from HF_TOKEN."),
]


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is written for users (printed without a traceback)."""
    from generator.backend import BackendError
    from generator.items import TitleforgeError

    kinds: list[type[BaseException]] = [TitleforgeError, BackendError]
    with contextlib.suppress(ImportError):
        from training.errors import TrainingError

        kinds.append(TrainingError)
    return tuple(kinds)


@contextlib.contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn user-facing errors into one red paragraph and exit code 1, never a traceback."""
    try:
        yield
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "value"
            err.print(f"[red]Invalid {loc}[/red]: {e['msg']} (got {e.get('input')!r}).")
        raise typer.Exit(2) from None
    except _user_errors() as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None


def _validated(factory: Callable[..., T], **kwargs: Any) -> T:
    """Build a pydantic config from CLI options, dropping unset optionals so defaults apply."""
    with _friendly_errors():
        return factory(**{k: v for k, v in kwargs.items() if v is not None})


def _real(source: str | None, text_column: str, label_column: str, label_map: str | None) -> Any:
    """Real-data options, or None when no real data is given."""
    if source is None:
        return None
    from flows.config import RealDataOptions

    return _validated(
        RealDataOptions,
        source=source,
        text_column=text_column,
        label_column=label_column,
        label_map=label_map,
    )


def _need_hub_token(*repos: str | None) -> None:
    """Fail now, not after an hour of work, when a Hub push is asked for without HF_TOKEN."""
    if any(repos):
        from generator.hub import hub_token

        with _friendly_errors():
            hub_token()


def _preflight_generate(config: Any) -> None:
    """Fail in seconds on a bad spec, bad real data or an unreachable Ollama, before Prefect starts."""
    from flows.llm import backend_from_config
    from generator.spec import load_spec

    with _friendly_errors():
        _need_hub_token(config.hub_repo)
        spec = load_spec(config.task)
        if config.real_data is not None:
            from flows.realdata import load_real_titles

            load_real_titles(config.real_data, [lb.name for lb in spec.labels])
        backend_from_config(config, spec).check()


def _gen_config(**kwargs: Any) -> Any:
    """A validated GenerateConfig from CLI options."""
    from flows.config import GenerateConfig

    return _validated(GenerateConfig, **kwargs)


_GEN_KEYS = (
    "task",
    "per_label",
    "seed",
    "model",
    "ollama_host",
    "concurrency",
    "max_calls",
    "neutralise",
    "hub_repo",
    "private",
)


def _gen_from_cli(opts: dict[str, Any]) -> Any:
    """A GenerateConfig from a command's options (shared by `generate` and `run`)."""
    real = _real(
        opts["real_data"],
        opts["real_text_column"],
        opts["real_label_column"],
        opts["real_label_map"],
    )
    return _gen_config(
        workdir=str(opts["workdir"]), real_data=real, **{k: opts[k] for k in _GEN_KEYS if k in opts}
    )


@app.command()
def generate(
    workdir: WorkdirOpt,
    task: TaskOpt = "clickbait",
    per_label: PerLabelOpt = 500,
    seed: SeedOpt = 0,
    model: ModelOpt = None,
    ollama_host: HostOpt = None,
    concurrency: ConcOpt = None,
    max_calls: MaxCallsOpt = None,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    neutralise: Annotated[
        bool, typer.Option(help="Rewrite/drop what the shortcut audit flags.")
    ] = False,
    hub_repo: HubRepoOpt = None,
    private: PrivateOpt = False,
) -> None:
    """Generate a labelled dataset with the LLM: clean, dedupe, audit, split, save (and push)."""
    config = _gen_from_cli(locals())
    _preflight_generate(config)
    from flows.generate import generate_dataset

    with _friendly_errors():
        report = generate_dataset(config)
    ds = report["dataset"]
    out.print(
        f"[green]Dataset saved[/green] to {workdir / 'dataset'}: splits {ds['splits']}, "
        f"{sum(ds['dropped'].values())} titles dropped ({len(report['audit']['flags'])} audit flags)."
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

    with _friendly_errors():
        items = load_audit_titles(
            RealDataOptions(
                source=data, text_column=text_column, label_column=label_column, label_map=label_map
            )
        )
        real = None
        if real_data:
            opts = _real(real_data, real_text_column, real_label_column, real_label_map)
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


def _finetune_config(**kwargs: Any) -> Any:
    """A validated FinetuneConfig from CLI options."""
    from training.config import FinetuneConfig

    return _validated(FinetuneConfig, **kwargs)


@app.command()
def train(
    dataset: Annotated[
        str, typer.Option(help="Labelled dataset: saved DatasetDict dir, file, or Hub id.")
    ],
    workdir: WorkdirOpt,
    base_model: BaseModelOpt = "albert/albert-base-v2",
    epochs: EpochsOpt = 3.0,
    seed: SeedOpt = 0,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    hub_model: HubModelOpt = None,
    private: PrivateOpt = False,
) -> None:
    """Finetune an encoder on a labelled dataset and report honestly, on real data too."""
    config = _finetune_config(
        dataset=dataset,
        workdir=str(workdir),
        base_model=base_model,
        epochs=epochs,
        seed=seed,
        real_data=real_data,
        real_text_column=real_text_column,
        real_label_column=real_label_column,
        real_label_map=real_label_map,
        hub_model=hub_model,
        private=private,
    )
    _need_hub_token(config.hub_model)
    from flows.finetune import finetune

    with _friendly_errors():
        report = finetune(config)
    _print_training_summary(report, workdir)


def _print_training_summary(report: dict[str, Any], workdir: Path) -> None:
    """A few lines a user reads first: accuracy on synthetic and real data, and the verdict."""
    synth = report.get("synthetic_test") or {}
    real = report.get("real") or {}
    verdict = report.get("overfitting") or {}
    colour = {"ok": "green", "warning": "yellow", "overfit": "red"}.get(
        verdict.get("verdict", ""), "white"
    )
    out.print(f"Model saved to {workdir / 'model'}; report at {workdir / 'report.md'}")
    out.print(f"synthetic test accuracy {synth.get('accuracy', float('nan')):.3f}", end="")
    out.print(f", real accuracy {real['accuracy']:.3f}" if real else ", no real data given")
    out.print(f"verdict: [{colour}]{verdict.get('verdict', '?')}[/{colour}]")
    for reason in verdict.get("reasons", []):
        out.print(f"  - {reason}")


@app.command()
def predict(
    titles: Annotated[
        list[str] | None, typer.Argument(help="Titles to classify; none reads --file or stdin.")
    ] = None,
    model: Annotated[Path, typer.Option(help="A model directory (DIR/model).")] = Path("model"),
    file: Annotated[
        Path | None, typer.Option(help="Read titles from this file, one per line.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Titles per forward pass.")] = 32,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="torch; onnx or onnx-int8 (files from `titleforge export --onnx [--int8]`); "
            "auto: the fp32 ONNX export when it is newer than the weights, else torch."
        ),
    ] = "auto",
) -> None:
    """Print label and score for each title."""
    import json

    from training.export_onnx import load_predictor

    texts = list(titles or [])
    if file is not None:
        texts += [ln.strip() for ln in file.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not texts and not sys.stdin.isatty():
        texts = [ln.strip() for ln in sys.stdin if ln.strip()]
    if not texts:
        err.print(
            "[red]Error:[/red] no titles given: pass them as arguments, with --file, or on stdin."
        )
        raise typer.Exit(2)
    with _friendly_errors():
        predictor = load_predictor(model, engine, batch_size=batch_size)
        preds = predictor.predict(texts)
    for text, (label, score) in zip(texts, preds, strict=True):
        if as_json:
            print(json.dumps({"text": text, "label": label, "score": round(score, 4)}))
        else:
            print(f"{label}\t{score:.4f}\t{text}")


@app.command()
def run(
    workdir: WorkdirOpt,
    task: TaskOpt = "clickbait",
    per_label: PerLabelOpt = 500,
    seed: SeedOpt = 0,
    model: ModelOpt = None,
    ollama_host: HostOpt = None,
    concurrency: ConcOpt = None,
    max_calls: MaxCallsOpt = None,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    base_model: BaseModelOpt = "albert/albert-base-v2",
    epochs: EpochsOpt = 3.0,
    hub_repo: HubRepoOpt = None,
    hub_model: HubModelOpt = None,
    private: PrivateOpt = False,
) -> None:
    """Run everything: generate the dataset, finetune, evaluate on real data (resumable)."""
    from flows.pipeline import PipelineConfig, TrainOptions

    gen = _gen_from_cli(locals())
    train_opts = _validated(TrainOptions, base_model=base_model, epochs=epochs, hub_model=hub_model)
    config = _validated(PipelineConfig, generate=gen, train=train_opts, fail_on_overfit=False)
    _need_hub_token(hub_model)
    _preflight_generate(gen)
    from flows.pipeline import pipeline

    with _friendly_errors():
        report = pipeline(config)
    _print_training_summary(report, workdir)


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
            help="Parallel slots of all Ollama servers together (Prefect concurrency limit)."
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
        int | None, typer.Option(help="Max flow runs at once in this process.")
    ] = None,
) -> None:
    """Serve the nightly and the manual-regeneration deployments to a Prefect server."""
    from flows.deploy import build_deployments, serve_deployments
    from flows.pipeline import TrainOptions

    generate_opts: dict[str, Any] = {
        k: v
        for k, v in {
            "ollama_host": ollama_host,
            "real_data": _real(real_data, real_text_column, real_label_column, real_label_map),
            "hub_repo": hub_repo,
        }.items()
        if v is not None
    }
    train_opts = _validated(TrainOptions, base_model=base_model, epochs=epochs, hub_model=hub_model)
    with _friendly_errors():
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
    with _friendly_errors():
        run_ = trigger_regeneration(overrides, wait=wait)
    state = run_.state.name if run_.state else "?"
    out.print(f"Flow run {run_.name} ({run_.id}): {state}")
    if wait and run_.state and not run_.state.is_completed():
        raise typer.Exit(1)


@app.command()
def export(
    model: Annotated[Path, typer.Option(help="A model directory (DIR/model).")] = Path("model"),
    onnx: Annotated[bool, typer.Option("--onnx", help="Export to ONNX Runtime.")] = True,
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write an int8 dynamically quantised model.")
    ] = False,
) -> None:
    """Export a finetuned model for fast CPU inference (ONNX Runtime, optionally int8)."""
    from training.export_onnx import export_onnx

    if not onnx:
        err.print("[red]Error:[/red] only --onnx export exists; pass --onnx.")
        raise typer.Exit(2)
    with _friendly_errors():
        path = export_onnx(model, quantize=int8)
    out.print(f"Wrote {path} (serve it with onnxruntime; labels in {model / 'onnx_labels.json'}).")


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":
    main()
