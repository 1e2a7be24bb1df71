"""Scale-out inside flows: open the Dask cluster a config names, for as long as the flow runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from flows.config import GenerateConfig
from flows.plain import run_logger
from generator.calls import Caller
from generator.ollama_backend import OllamaBackend

T = TypeVar("T")


@contextlib.contextmanager
def cluster_for(config: GenerateConfig, backend: OllamaBackend) -> Iterator[Caller | None]:
    """The cluster's caller when `dask_address` is set (MinHash, embeddings go there), else None."""
    if not config.dask_address:
        yield None
        return
    # distributed takes a second to import: only runs that scale out pay for it
    from generator.cluster import describe, scale_out
    from training.cluster_embed import ClusterEmbedder
    from training.labelnoise import EMBEDDINGS

    concurrency = config.concurrency or backend.default_concurrency()
    with (
        scale_out(config.dask_address, backend, concurrency) as caller,
        # set here, not in scale_out: generator must not import training
        _installed(EMBEDDINGS, ClusterEmbedder(caller.client)),
    ):
        info = describe(caller.client)
        run_logger().info(
            "Dask cluster %s: %d workers, %d threads; Ollama hosts %s",
            info["scheduler"],
            info["workers"],
            info["threads"],
            ", ".join(backend.hosts),
        )
        yield caller


@contextlib.contextmanager
def _installed(var: ContextVar[T | None], value: T) -> Iterator[None]:
    """`var` holds `value` inside the block and what it held before after it."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def cluster_summary(caller: Caller | None) -> dict[str, Any] | None:
    """The report's `generator.dask` entry: where the calls ran (None for a single process)."""
    if caller is None:
        return None
    from generator.cluster import describe

    return describe(caller.client)  # type: ignore[attr-defined]
