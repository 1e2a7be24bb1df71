"""Building and guarding the LLM backend inside flows: health check, model pull, Prefect slots."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from prefect import get_client
from prefect.client.schemas.objects import State, TaskRun
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound

from flows.config import GenerateConfig
from flows.plain import is_plain, run_logger
from generator.backend import BackendHung, BackendUnavailable
from generator.ollama_backend import OllamaBackend
from generator.spec import TaskSpec

# One global concurrency limit shared by every flow that talks to Ollama: `titleforge serve`
# sizes it to the servers' parallel slots so parallel runs queue instead of overloading them.
OLLAMA_LIMIT = "ollama-slots"


class EmbeddedBackend(OllamaBackend):
    """OllamaBackend pointed at the in-process embedded server: one model, one call at a time."""

    def parallel_slots(self) -> int:
        """The embedded model runs one call at a time on every core."""
        return 1


def backend_from_config(config: GenerateConfig, spec: TaskSpec) -> OllamaBackend:
    """The backend a generate config asks for: Ollama (model falls back to the task spec's) or
    the embedded model, started in-process behind the same Ollama API on first use."""
    if config.llm == "embedded":
        from generator.embedded import EMBEDDED_MODEL
        from generator.embedded_server import embedded_host

        return EmbeddedBackend(
            model=EMBEDDED_MODEL, hosts=[embedded_host()], timeout_s=config.timeout_s
        )
    hosts = [h.strip() for h in config.ollama_host.split(",")] if config.ollama_host else None
    return OllamaBackend(
        model=config.model or spec.generation.model, hosts=hosts, timeout_s=config.timeout_s
    )


def check_backend(backend: OllamaBackend) -> None:
    """Health-check every host, then pull the model if it is missing, logging pull progress."""
    log = run_logger()
    backend.check()
    last: dict[str, int] = {}

    def on_pull(status: str, completed: int | None, total: int | None) -> None:
        pct = int(100 * completed / total) if completed and total else -1
        # log each status once and every 10% of a layer, not every chunk
        if last.get(status, -100) + 10 <= pct or status not in last:
            last[status] = pct
            log.info("pull %s: %s%s", backend.model, status, f" {pct}%" if pct >= 0 else "")

    backend.ensure_model(on_progress=on_pull)


def retry_on_outage(task: Any, task_run: TaskRun, state: State) -> bool:
    """Prefect retry condition: retry only when the LLM server was unreachable, not on bad input."""
    try:
        state.result()
    except BackendHung:
        return False  # it took calls and never answered: another attempt only waits as long again
    except BackendUnavailable:
        return True
    except Exception:
        return False
    return False


def ensure_ollama_limit(slots: int) -> None:
    """Create or resize the shared Ollama concurrency limit to the servers' parallel slots."""
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(OLLAMA_LIMIT, slots)


def _limit_size() -> int | None:
    """Slots of the shared Ollama limit, or None when nobody created it (or there is no server)."""
    if is_plain():
        return None
    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(OLLAMA_LIMIT).limit
        except ObjectNotFound:
            return None


@contextlib.contextmanager
def ollama_slots(n: int) -> Iterator[None]:
    """Hold up to `n` slots of the shared Ollama limit while generating; free when there is none."""
    size = _limit_size()
    if not size:
        yield
        return
    # asking for more slots than exist would wait forever: take them all instead
    with concurrency(OLLAMA_LIMIT, occupy=min(n, size), strict=False):
        yield
