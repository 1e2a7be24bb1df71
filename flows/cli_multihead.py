"""`titleforge train --tasks a,b`: the CLI side of the multi-head flow (checks, run, summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.cli_common import (
    check_base_model,
    check_dataset,
    check_workdir,
    need_hub_token,
    open_run_log,
    out,
    running_flow,
    user_error,
    validated,
)
from flows.cli_model import print_training_summary
from training.multihead_config import MultiHeadConfig, split_list


def train_multihead(tasks: str, options: dict[str, Any]) -> None:
    """Validate the options of `train --tasks`, run the multi-head flow, print a summary per head."""
    options = {k: v for k, v in options.items() if k != "tasks"}
    no_prefect = bool(options.pop("no_prefect", False))
    if options.get("hub_model"):
        user_error(
            "--hub-model is not supported with --tasks yet: push DIR/model yourself, or train "
            "single-task models."
        )
    workdir = Path(options["workdir"])
    config = validated(
        MultiHeadConfig, **(options | {"workdir": str(workdir), "tasks": split_list(tasks)})
    )
    check_workdir(workdir)
    check_base_model(options["base_model"])
    need_hub_token(config.hub_model)
    for source in split_list(config.dataset):
        check_dataset(source)
    open_run_log(workdir)
    from flows.multihead import multihead

    with running_flow(no_prefect):
        report = multihead(config)
    for task, head in report["heads"].items():
        out.print(f"[bold]{task}[/bold] head:")
        print_training_summary(head, workdir)
