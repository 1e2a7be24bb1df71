"""Rounds: each unattended or `run`-without-workdir round gets a fresh directory and seed.

Layout: `<runs dir>/<task>/<round id>/`, round id = UTC minute + seed (`20261124T0600Z-s123456`),
so rounds sort by time and an earlier round is never overwritten.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

SEED_RANGE = 1_000_000  # six digits: short in directory names, plenty of distinct rounds


def draw_seed() -> int:
    """A fresh seed for a round (OS randomness: two rounds started together still differ)."""
    return secrets.randbelow(SEED_RANGE)


def round_id(seed: int, now: datetime | None = None) -> str:
    """`YYYYMMDDTHHMMZ-s<seed>`: sortable by time, names the seed."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%MZ')}-s{seed}"


def new_round_dir(runs_dir: Path, task: str, seed: int, now: datetime | None = None) -> Path:
    """Create and return a new, empty round directory; never reuse an existing one."""
    base = runs_dir / Path(task).stem / round_id(seed, now)
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            # Same minute and seed (a seed given twice): a suffix keeps the earlier round intact.
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def start_round(
    workdir: Path | None, runs_dir: Path, task: str, seed: int | None
) -> tuple[Path, int]:
    """The run directory and seed: as given, or a new round (fresh seed unless one is given)."""
    if workdir is not None:
        return workdir, 0 if seed is None else seed
    seed = draw_seed() if seed is None else seed
    return new_round_dir(runs_dir, task, seed), seed
