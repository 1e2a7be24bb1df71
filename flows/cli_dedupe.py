"""`titleforge dedupe IN --out OUT`: the pipeline's clean + exact + near dedupe on a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from flows.cli_common import SeedOpt, app, err, friendly_errors, out, validated


@app.command()
def dedupe(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="IN", help="CSV, JSONL or Parquet file with a `text` column (others are kept)."
        ),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", help="Output file (.csv, .jsonl or .parquet): the survivors.")
    ],
    threshold: Annotated[
        float, typer.Option(help="Near duplicates: casefolded word-set Jaccard at or above this.")
    ] = 0.8,
    seed: SeedOpt = 0,
    task: Annotated[
        str | None,
        typer.Option(help="Apply this task spec's cleaning options and label names (as generate)."),
    ] = None,
) -> None:
    """Clean titles, drop exact and near duplicates (the same steps as `generate`), keep other columns."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from generator.dedupefile import STEPS, DedupeOptions, check_paths, run_dedupe
    from generator.forkmap import workers

    opts = validated(
        DedupeOptions, source=source, out=out_path, threshold=threshold, seed=seed, task=task
    )
    with friendly_errors():
        check_paths(opts)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        with progress:
            bar = progress.add_task("read", total=len(STEPS))

            def on_step(name: str) -> None:
                """Advance the bar to the step that starts now."""
                progress.update(bar, completed=STEPS.index(name), description=name)

            summary = run_dedupe(opts, on_step)
            progress.update(bar, completed=len(STEPS))
    table = Table(title=f"titleforge dedupe: {escape(str(opts.source))}", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("rows", justify="right")
    table.add_row("read", f"{summary.rows_in:,}")
    for reason, count in sorted(summary.dropped.items(), key=lambda kv: -kv[1]):
        table.add_row(f"dropped: {escape(reason)}", f"{count:,}")
    table.add_row("written", f"{summary.rows_out:,}")
    out.print(table)
    out.print(
        f"Wrote {escape(str(opts.out))}; dedupe work {summary.work_s:.2f} s, "
        f"{summary.work_cpu_s:.2f} CPU s (read "
        f"{summary.seconds.get('read', 0):.2f} s, write {summary.seconds.get('write', 0):.2f} s; "
        f"in all {summary.total_s:.2f} s, {summary.total_cpu_s:.2f} CPU s on "
        f"{workers()} worker process(es)); "
        f"Jaccard >= {opts.threshold}, seed {opts.seed}."
    )
