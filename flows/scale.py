"""Scale-out inside flows: open the Dask cluster a config names, for as long as the flow runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flows.config import GenerateConfig
from flows.plain import run_logger
from generator.calls import Caller
from generator.ollama_backend import OllamaBackend


@contextlib.contextmanager
def cluster_for(config: GenerateConfig, backend: OllamaBackend) -> Iterator[Caller | None]:
    """The cluster's caller when `dask_address` is set (MinHash goes there too), else None."""
    if not config.dask_address:
        yield None
        return
    # distributed takes a second to import: only runs that scale out pay for it
    from generator.cluster import describe, scale_out

    concurrency = config.concurrency or backend.default_concurrency()
    with scale_out(config.dask_address, backend, concurrency) as caller:
        info = describe(caller.client)
        run_logger().info(
            "Dask cluster %s: %d workers, %d threads; Ollama hosts %s",
            info["scheduler"],
            info["workers"],
            info["threads"],
            ", ".join(backend.hosts),
        )
        yield caller


def cluster_summary(caller: Caller | None) -> dict[str, Any] | None:
    """The report's `generator.dask` entry: where the calls ran (None for a single process)."""
    if caller is None:
        return None
    from generator.cluster import describe

    return describe(caller.client)  # type: ignore[attr-defined]
