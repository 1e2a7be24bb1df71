"""Rounds: each unattended or manual round gets a fresh directory and seed, recorded with it.

Layout: `<runs dir>/<task>/<round id>/`, round id = UTC minute + seed (`20261124T0600Z-s123456`),
so rounds sort by time and an earlier round is never overwritten. A workdir template holding
`{round}` (the deployments' default) becomes such a directory when the run starts.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.config import GenerateConfig

SEED_RANGE = 1_000_000  # six digits: short in directory names, plenty of distinct rounds
ROUND = "{round}"


def draw_seed() -> int:
    """A fresh seed for a round (OS randomness: two rounds started together still differ)."""
    return secrets.randbelow(SEED_RANGE)


def round_id(seed: int, now: datetime | None = None) -> str:
    """`YYYYMMDDTHHMMZ-s<seed>`: sortable by time, names the seed."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%MZ')}-s{seed}"


def unique_dir(base: Path) -> Path:
    """Create and return `base`, or `base-2`, `base-3`… when taken: an earlier round stays intact."""
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            # Same minute and seed (a seed given twice): a suffix keeps the earlier round intact.
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def new_round_dir(runs_dir: Path, task: str, seed: int, now: datetime | None = None) -> Path:
    """Create and return a new, empty round directory; never reuse an existing one."""
    return unique_dir(runs_dir / Path(task).stem / round_id(seed, now))


def recorded_seed(workdir: Path) -> int | None:
    """The seed a run directory was started with (from its fingerprint), if any."""
    from generator.fingerprint import read_fingerprint

    stored = read_fingerprint(workdir) if workdir.is_dir() else None
    seed = (stored or {}).get("components", {}).get("seed")
    return int(seed) if seed is not None else None


def seed_for(workdir: Path, seed: int | None) -> int:
    """The given seed, else the one the directory was started with, else a fresh one."""
    if seed is None:
        seed = recorded_seed(workdir)
    return draw_seed() if seed is None else seed


def start_round(
    workdir: Path | None, runs_dir: Path, task: str, seed: int | None
) -> tuple[Path, int]:
    """The run directory and seed: a given workdir resumes with its recorded seed; else a new round."""
    if workdir is not None:
        return workdir, seed_for(workdir, seed)
    seed = draw_seed() if seed is None else seed
    return new_round_dir(runs_dir, task, seed), seed


def begin_round(config: GenerateConfig) -> GenerateConfig:
    """The config with a concrete seed and run directory (`{round}` and `{date}` filled in)."""
    from flows.config import resolve_workdir

    template = resolve_workdir(config.workdir)
    if ROUND in template:
        seed = draw_seed() if config.seed is None else config.seed
        workdir = unique_dir(Path(template.replace(ROUND, round_id(seed))))
        return config.model_copy(update={"seed": seed, "workdir": str(workdir)})
    return config.model_copy(
        update={"seed": seed_for(Path(template), config.seed), "workdir": template}
    )


@contextmanager
def round_tags(task: str, round_name: str) -> Iterator[list[str]]:
    """Tag the running flow run and everything it starts with `task:<task>` and `round:<id>`.

    The UI filters runs by tag; the flow run itself is created before the round is known, so its
    tags are updated here, and `prefect.tags` covers the subflows and tasks that follow.
    """
    from prefect import tags
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    new = [f"task:{task}", f"round:{round_name}"]
    ctx = FlowRunContext.get()
    if ctx is not None and ctx.flow_run is not None:
        merged = sorted(set(ctx.flow_run.tags) | set(new))
        with get_client(sync_client=True) as client:
            client.update_flow_run(ctx.flow_run.id, tags=merged)
        ctx.flow_run.tags = merged
    with tags(*new):
        yield new
