"""The end-to-end command: `titleforge run` (generate, finetune, evaluate; one or more rounds)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from flows.cli_common import (
    BaseModelOpt,
    ConcOpt,
    DaskOpt,
    EpochsOpt,
    HeadOpt,
    HostOpt,
    HubModelOpt,
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
    TaskOpt,
    TimeoutOpt,
    app,
    check_base_model,
    check_workdir,
    need_hub_token,
    open_run_log,
    out,
    running_flow,
    user_error,
    validated,
)
from flows.cli_data import LabelNoiseEncoderOpt, gen_from_cli, preflight_generate, sole_writer
from flows.cli_model import print_training_summary


@app.command()
def run(
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Run directory to fill or resume; leave out to start a new round below --runs-dir."
        ),
    ] = None,
    runs_dir: Annotated[
        Path, typer.Option(help="New rounds go to RUNS_DIR/<task>/<round id>/.")
    ] = Path("data/runs"),
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
    base_model: BaseModelOpt = "albert/albert-base-v2",
    epochs: EpochsOpt = 3.0,
    head: HeadOpt = "finetune",
    hub_repo: HubRepoOpt = None,
    hub_model: HubModelOpt = None,
    private: PrivateOpt = False,
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            max=50,
            help="Feedback rounds: each a new round dir whose prompts are steered by the previous "
            "round's mistakes on the real selection part.",
        ),
    ] = 1,
    no_prefect: NoPrefectOpt = False,
) -> None:
    """Run everything: generate the dataset, finetune, evaluate on real data (resumable)."""
    opts = dict(locals())
    if rounds > 1 and workdir is not None:
        user_error(
            f"--rounds {rounds} makes {rounds} new round directories below --runs-dir, so it "
            "cannot fill one --workdir: leave --workdir out (or use --rounds 1)."
        )
    for number in range(1, rounds + 1):
        if rounds > 1:
            out.print(f"[bold]Round {number} of {rounds}[/bold]")
        # a given seed seeds the first round; later rounds draw their own (each a new sample)
        _one_round(opts, seed if number == 1 else None)


def _one_round(opts: dict[str, Any], seed: int | None) -> None:
    """One pipeline round: a new (or the given) run directory, locked while it is written."""
    from flows.rounds import start_round

    opts = dict(opts)
    new_round = opts["workdir"] is None
    workdir, opts["seed"] = start_round(opts["workdir"], opts["runs_dir"], opts["task"], seed)
    opts["workdir"] = workdir
    gen = gen_from_cli(opts)
    if new_round:
        out.print(f"New round in {escape(str(workdir))} (seed {opts['seed']}).")
    from flows.config import PipelineConfig, TrainOptions

    train_opts = validated(
        TrainOptions,
        base_model=opts["base_model"],
        epochs=opts["epochs"],
        head=opts["head"],
        hub_model=opts["hub_model"],
    )
    config = validated(PipelineConfig, generate=gen, train=train_opts, fail_on_overfit=False)
    # every check before the first LLM call: the base model too, not after the dataset is made
    check_workdir(workdir)
    check_base_model(opts["base_model"])
    need_hub_token(opts["hub_model"])
    preflight_generate(gen)
    with sole_writer(workdir):
        open_run_log(workdir)
        from flows.pipeline import pipeline

        with running_flow(opts["no_prefect"]):
            report = pipeline(config)
    print_training_summary(report, workdir)
