"""The end-to-end `pipeline` flow: generate_dataset, then finetune, as subflows of one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from flows.artifacts import publish_report, task_key
from flows.config import GenerateConfig, PipelineConfig
from flows.finetune import finetune
from flows.generate import generate_dataset
from flows.history import history_markdown, read_current, read_history, record_round
from flows.plain import flow, run_logger, task
from flows.report import load_report, merge_report, render_report_md
from flows.rounds import begin_round, round_tags
from training.config import FinetuneConfig


def finetune_config_for(config: PipelineConfig, workdir: str) -> FinetuneConfig:
    """The finetune flow's config for a pipeline run, reading the dataset generation just saved."""
    real = config.generate.real_data
    return FinetuneConfig(
        dataset=str(Path(workdir) / "dataset"),
        workdir=workdir,
        base_model=config.train.base_model,
        epochs=config.train.epochs,
        batch_size=config.train.batch_size,
        learning_rate=config.train.learning_rate,
        head=config.train.head,
        seed=config.generate.seed,
        real_data=real.source if real else None,
        real_text_column=real.text_column if real else "text",
        real_label_column=real.label_column if real else "label",
        real_label_map=real.label_map if real else None,
        hub_model=config.train.hub_model,
        private=config.generate.private,
        # a round's model goes to a branch named after it; main only when it is promoted
        hub_revision=Path(workdir).name if config.train.hub_model else None,
        dataset_repo=config.generate.hub_repo,
        dataset_revision=Path(workdir).name if config.generate.hub_repo else None,
    )


@task(name="promote-on-hub", cache_policy=NO_CACHE)
def promote_on_hub(repo: str, model_dir: Path, private: bool) -> str:
    """The promoted round's model becomes the repo's main revision (content already uploaded)."""
    from generator.hub import push_folder

    return push_folder(model_dir, repo, private=private)


def with_feedback(gen: GenerateConfig) -> tuple[GenerateConfig, str | None]:
    """The config steered by the last finished round of this runs dir (guidance + carried titles)."""
    from generator.spec import load_spec

    workdir, task = Path(gen.workdir), load_spec(gen.task).name
    for row in reversed(read_history(workdir.resolve().parent)):
        previous = Path(row["path"])
        if previous.resolve() == workdir.resolve() or row.get("task") != task:
            continue  # a resumed round does not learn from itself, nor a task from another
        feedback = load_report(previous).get("feedback") or {}
        dataset = previous / "dataset"
        update: dict[str, Any] = {"guidance": feedback.get("lines") or {}}
        if dataset.is_dir():
            update["carry_from"] = str(dataset)
        return gen.model_copy(update=update), row["round"]
    return gen, None


@flow(name="titleforge-pipeline")
def pipeline(config: PipelineConfig) -> Any:
    """Generate the dataset, finetune on it, evaluate on real data; one run directory, resumable."""
    # the round's seed and directory are fixed once, here, so both subflows use the same ones
    gen_config = begin_round(config.generate)
    with round_tags(Path(gen_config.task).stem, Path(gen_config.workdir).name):
        return _pipeline(config, gen_config)


def _pipeline(config: PipelineConfig, gen_config: GenerateConfig) -> Any:
    """The pipeline flow's steps, for a round already begun."""
    log = run_logger()
    feedback_from = None
    if config.learn_from_previous and not gen_config.guidance:
        gen_config, feedback_from = with_feedback(gen_config)
    config = config.model_copy(update={"generate": gen_config})
    workdir = gen_config.workdir
    log.info("Round %s with seed %s", workdir, gen_config.seed)
    generate_dataset(gen_config)
    finetune(finetune_config_for(config, workdir))

    if feedback_from:
        merge_report(
            Path(workdir),
            {"feedback_used": {"from_round": feedback_from, "guidance": gen_config.guidance}},
        )
    row = record_round(Path(workdir), load_report(Path(workdir)))
    if row["promoted"] and row["pushed_revision"]:
        promote_on_hub(
            config.train.hub_model or "", Path(workdir) / "model", config.generate.private
        )
        merge_report(Path(workdir), {"hub_main": {"pushed": True, "from_round": row["round"]}})
    log.info("Round %s promoted: %s (%s)", row["round"], row["promoted"], row["promotion_reason"])
    report = merge_report(
        Path(workdir), {"promotion": {k: row[k] for k in ("promoted", "promotion_reason")}}
    )
    name = Path(gen_config.task).stem
    publish_report(
        task_key(name, "pipeline-report"),
        render_report_md(report),
        "Pipeline report",
        images_from=Path(workdir),
    )
    runs_dir = Path(workdir).resolve().parent
    publish_report(
        task_key(name, "history"),
        history_markdown(read_history(runs_dir), read_current(runs_dir)),
        f"Rounds of {name}: real-data accuracy per round and which model is current",
    )
    verdict = report.get("overfitting", {}).get("verdict")
    log.info("Pipeline finished in %s: verdict %s", workdir, verdict)
    if verdict == "overfit" and config.fail_on_overfit:
        reasons = "; ".join(report["overfitting"].get("reasons", []))
        pushed = " and was not pushed" if config.train.hub_model else ""
        return Failed(message=f"Model overfits the synthetic data{pushed}: {reasons}")
    return report
