"""Shared pieces of the CLI: the Typer app, consoles, option types and friendly error handling."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from flows.apiserver import ENV as NO_PREFECT_ENV

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

NoPrefectOpt = Annotated[
    bool,
    typer.Option(
        "--no-prefect",
        envvar=NO_PREFECT_ENV,
        help="Run the steps as plain Python: no temporary Prefect server (13-20 s saved), no UI "
        "artifacts or run records. Without it, a server already running on 127.0.0.1:4200 is "
        "reused, else Prefect starts a temporary one.",
    ),
]
TaskOpt = Annotated[
    str, typer.Option(help="Task: a name from prompts/ (clickbait, news_topic) or a YAML path.")
]
PerLabelOpt = Annotated[int, typer.Option(help="Clean titles wanted per label.")]
WorkdirOpt = Annotated[
    Path, typer.Option(help="Run directory (raw.jsonl, dataset/, model/, report.json).")
]
SeedOpt = Annotated[int, typer.Option(help="Seed for every random step.")]
RoundSeedOpt = Annotated[
    int | None,
    typer.Option(
        help="Seed for every random step; empty draws a fresh one for a new run directory "
        "(a resumed one keeps its recorded seed)."
    ),
]
HostOpt = Annotated[
    str | None,
    typer.Option("--ollama-host", envvar="OLLAMA_HOST", help="Ollama URL(s), comma-separated."),
]
LlmOpt = Annotated[
    str,
    typer.Option(
        "--llm",
        help="Who writes the titles: ollama (production) or embedded (SmolLM2-135M in-process, "
        "no server needed; for trying the pipeline, not for production data).",
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option(help="Ollama model (default: the task spec's, phi3).")
]
ConcOpt = Annotated[
    int | None, typer.Option(help="LLM calls in flight (default: the servers' slots).")
]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        help="Scale out on Dask: tcp://HOST:8786 of a running `dask scheduler`, or local:N for "
        "N worker processes here. Same seed, same dataset."
    ),
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
LabelNoiseOpt = Annotated[
    str | None,
    typer.Option(
        help="report (default): flag synthetic titles whose label a cross-validated probe "
        "contradicts; drop: also remove them; off: skip the check."
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Seconds to wait for one LLM reply (default 60); two silent replies stop the run.",
    ),
]
HeadOpt = Annotated[
    str,
    typer.Option(
        help="finetune (the whole encoder) or logistic (frozen encoder + logistic regression, "
        "seconds on a CPU)."
    ),
]
HubModelOpt = Annotated[
    str | None,
    typer.Option(help="Push the model to this Hub repo (user/name); token from HF_TOKEN."),
]


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is written for users (printed without a traceback)."""
    from generator.backend import BackendError
    from generator.items import TitleforgeError

    kinds: list[type[BaseException]] = [TitleforgeError, BackendError]
    with contextlib.suppress(ImportError):
        from training.errors import TrainingError

        kinds.append(TrainingError)
    return tuple(kinds)


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn user-facing errors into one red paragraph and exit code 1, never a traceback."""
    from flows.clilog import quiet_console, record_exception

    quiet_console()  # Prefect is imported by now: its console handler must not print tracebacks
    try:
        yield
    except ValidationError as exc:
        for e in exc.errors():
            # the flag the user typed, not the config path: train.head -> --head
            name = str(e["loc"][-1]) if e["loc"] else "value"
            name = name.removesuffix("_s")  # timeout_s is --timeout
            flag = "--" + name.replace("_", "-") if name != "value" else name
            err.print(
                f"[red]Invalid {escape(flag)}[/red]: {escape(e['msg'])} (got "
                f"{escape(repr(e.get('input')))}). Fix that value and run the command again."
            )
        raise typer.Exit(2) from None
    except user_errors() as exc:
        record_exception(exc)
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        # Errors about the user's input (e.g. a changed-options rerun) carry exit_code 2.
        raise typer.Exit(getattr(exc, "exit_code", 1)) from None


def validated(factory: Callable[..., T], **kwargs: Any) -> T:
    """Build a pydantic config from CLI options, dropping unset optionals so defaults apply."""
    with friendly_errors():
        return factory(**{k: v for k, v in kwargs.items() if v is not None})


def real_options(
    source: str | None, text_column: str, label_column: str, label_map: str | None
) -> Any:
    """Real-data options, or None when no real data is given."""
    if source is None:
        return None
    from flows.config import RealDataOptions

    return validated(
        RealDataOptions,
        source=source,
        text_column=text_column,
        label_column=label_column,
        label_map=label_map,
    )


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it, but now (its constant is fixed at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def need_hub_token(*repos: str | None) -> None:
    """Fail now, not after an hour of work, when a Hub push cannot happen (exit 2)."""
    if not any(repos):
        return
    from generator.hub import OFFLINE_FIX, HubError, hub_token

    if hub_offline():
        user_error(f"HF_HUB_OFFLINE is set, so nothing can be pushed to the Hub: {OFFLINE_FIX}")
    try:
        hub_token()
    except HubError as exc:
        user_error(str(exc))


def user_error(message: str) -> NoReturn:
    """Print one paragraph naming the bad input and the fix, and exit 2."""
    err.print(f"[red]Error:[/red] {escape(message)}")
    raise typer.Exit(2)


def check_workdir(workdir: Path) -> None:
    """A run directory must be (or be creatable as) a writable directory; nothing is created here."""
    path = Path(workdir)
    if path.exists() and not path.is_dir():
        user_error(
            f"--workdir {path} is a file, not a directory: pass a directory (it is created when "
            "missing)."
        )
    existing = next((p for p in (path, *path.absolute().parents) if p.exists()), Path("/"))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        user_error(
            f"--workdir {path} is not writable ({existing} does not let this user write): fix "
            "the permissions or pass another directory."
        )


@contextlib.contextmanager
def running_flow(no_prefect: bool) -> Iterator[None]:
    """Around a flow call: plain mode when asked, fast Ctrl-C/SIGTERM, one-paragraph errors."""
    from flows.plain import plain_mode
    from flows.stopping import fast_stop

    with plain_mode(no_prefect), fast_stop(), friendly_errors():
        yield


def open_run_log(workdir: Path) -> None:
    """Create the run directory; from now on it holds the command's full log (titleforge.log)."""
    from flows.clilog import set_run_dir

    Path(workdir).mkdir(parents=True, exist_ok=True)
    set_run_dir(Path(workdir))


def check_base_model(name: str) -> None:
    """Fail in seconds, before any generation, when the base model cannot be loaded (offline too)."""
    from training.config import resolve_base_model

    name = resolve_base_model(name)
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        if not (path / "config.json").is_file():
            user_error(
                f"--base-model {name} is not a model folder (no config.json there): pass a Hub id "
                "or a folder saved with save_pretrained (titleforge's own DIR/model works too)."
            )
        return
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    if hub_offline():
        user_error(
            f"--base-model {name} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
            "set, so it cannot be downloaded: unset HF_HUB_OFFLINE once to fetch it, or pass "
            "--base-model with a local model folder."
        )
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(name, "config.json", etag_timeout=10)
    except Exception as exc:  # network, unknown repo, gated repo: all mean the same to the user
        user_error(
            f"--base-model {name} could not be fetched from the Hugging Face Hub "
            f"({type(exc).__name__}): check the id and your network, or pass --base-model with "
            "a local model folder."
        )


def check_dataset(source: str) -> None:
    """A dataset path must exist and load: a half-deleted DIR/dataset is named, not a traceback."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "dataset_dict.json").is_file():
            user_error(
                f"--dataset {source} is not a saved dataset (no dataset_dict.json in it): pass "
                "the DIR/dataset that `titleforge generate` wrote, or a CSV/JSONL/Parquet file."
            )
        from datasets import load_from_disk

        try:
            load_from_disk(str(path))
        except Exception as exc:  # missing arrow files, bad JSON: all mean "damaged"
            user_error(
                f"--dataset {source} is incomplete or damaged ({type(exc).__name__}: {exc}): "
                "generate it again with `titleforge generate --workdir DIR`."
            )
    elif not path.exists() and (path.suffix or source.startswith((".", "/", "~"))):
        user_error(
            f"--dataset {source} does not exist (looked for {path.absolute()}): check the path."
        )
