"""Shared pieces of the CLI: the Typer app, consoles, option types and friendly error handling."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

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
    try:
        yield
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "value"
            err.print(f"[red]Invalid {loc}[/red]: {e['msg']} (got {e.get('input')!r}).")
        raise typer.Exit(2) from None
    except user_errors() as exc:
        err.print(f"[red]Error:[/red] {exc}")
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


def need_hub_token(*repos: str | None) -> None:
    """Fail now, not after an hour of work, when a Hub push is asked for without HF_TOKEN."""
    if any(repos):
        from generator.hub import hub_token

        with friendly_errors():
            hub_token()
