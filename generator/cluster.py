"""Scale-out on a Dask cluster: LLM calls and MinHash signatures run on workers, rows come back.

The flow process stays the single writer: workers return raw rows, generate_titles appends
them to raw.jsonl and decides what to call next, exactly as with local threads. Each call's
Ollama host is fixed by the call itself (not by which worker or thread picks it up), so a run
is reproducible on the same servers whatever the timing.
"""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np
from distributed import Client, LocalCluster, get_worker

from generator.calls import CallMeta, CallOutcome, run_call
from generator.items import TitleforgeError
from generator.neardup import SIGNATURES, minhash_signatures
from generator.nearfast import LSH_KEYS, title_lsh_keys
from generator.ollama_backend import OllamaBackend
from generator.prompting import PlannedCall

CONNECT_TIMEOUT_S = 5  # a scheduler on the network answers in well under a second


class ClusterUnavailable(TitleforgeError):
    """The Dask scheduler named by --dask-address cannot be reached."""

    exit_code = 1  # a service that is down, like an unreachable Ollama


@dataclass(frozen=True)
class BackendRecipe:
    """What a worker needs to build its Ollama backend: plain values, cheap to ship."""

    model: str
    hosts: tuple[str, ...]  # the call's own host first, the others only as failover
    timeout_s: float
    max_retries: int
    backoff_s: float


def assigned_host(hosts: Sequence[str], planned: PlannedCall) -> int:
    """The host index for a call: spread round-robin along each label's call indices."""
    return (planned.index + zlib.crc32(planned.label.encode("utf-8"))) % len(hosts)


_BACKENDS: dict[BackendRecipe, OllamaBackend] = {}
_BACKENDS_LOCK = threading.Lock()


def _worker_backend(recipe: BackendRecipe) -> OllamaBackend:
    """One backend per recipe per worker process, shared by its threads (clients keep connections)."""
    with _BACKENDS_LOCK:
        if recipe not in _BACKENDS:
            _BACKENDS[recipe] = OllamaBackend(
                model=recipe.model,
                hosts=list(recipe.hosts),
                timeout_s=recipe.timeout_s,
                max_retries=recipe.max_retries,
                backoff_s=recipe.backoff_s,
                sticky=True,
            )
        return _BACKENDS[recipe]


def llm_call(recipe: BackendRecipe, planned: PlannedCall, meta: CallMeta) -> CallOutcome:
    """Run on a worker: one call against its assigned host; the row names the worker."""
    row, fatal = run_call(_worker_backend(recipe), planned, meta)
    row["worker"] = get_worker().address
    return row, fatal


class ClusterCaller:
    """A generate_titles caller whose calls run on the cluster's workers."""

    def __init__(self, client: Client, backend: OllamaBackend) -> None:
        """Ship calls through `client`; hosts, model and timeouts come from the flow's backend."""
        self.client = client
        # pure=False: a retried call has the same arguments but must run again
        self.executor = client.get_executor(pure=False)
        self.backend = backend

    def submit(self, planned: PlannedCall, meta: CallMeta) -> Future[CallOutcome]:
        """Send one call to the cluster, with its host fixed by the call."""
        hosts = self.backend.hosts
        first = assigned_host(hosts, planned)
        recipe = BackendRecipe(
            model=self.backend.model,
            hosts=tuple(hosts[first:] + hosts[:first]),
            timeout_s=self.backend.timeout_s,
            max_retries=self.backend.max_retries,
            backoff_s=self.backend.backoff_s,
        )
        return self.executor.submit(llm_call, recipe, planned, meta)

    def close(self) -> None:
        """Cancel this caller's calls still on the cluster."""
        self.executor.shutdown(wait=False)


# Word tokens (\w+) never hold control characters, so a partition travels as ONE string:
# Dask ships a list of 50k strings item by item (seconds), one string in milliseconds.
_TOKEN_SEP, _TITLE_SEP = "\x1f", "\x1e"


def pack(sets: Sequence[frozenset[str]]) -> str:
    """A partition of token sets as one string (order within a set does not matter to MinHash)."""
    return _TITLE_SEP.join(_TOKEN_SEP.join(s) for s in sets)


def unpack(packed: str) -> list[frozenset[str]]:
    """The token sets back from `pack`, row for row (an empty set stays empty)."""
    return [frozenset(p.split(_TOKEN_SEP)) if p else frozenset() for p in packed.split(_TITLE_SEP)]


def minhash_partition(packed: str, seed: int) -> np.ndarray:
    """Run on a worker: MinHash signatures of one partition (rows are independent of each other)."""
    return minhash_signatures(unpack(packed), seed=seed)


def lsh_partition(packed: str, seed: int) -> np.ndarray:
    """Run on a worker: near-dedupe band keys of one partition of titles (one packed string)."""
    # in this process: the cluster's workers are the parallelism, no fork inside a worker
    return title_lsh_keys(packed.split(_TITLE_SEP) if packed else [], seed, n_workers=1)


class ClusterKeys:
    """Near-dedupe's MinHash/LSH keys mapped over partitions of titles; the same array as locally."""

    def __init__(self, client: Client, min_rows: int = 5_000) -> None:
        """Partitions of at least `min_rows` titles, at most two per worker (CPU work)."""
        self.client, self.min_rows = client, min_rows
        self.max_parts = 2 * (len(client.nthreads()) or 1)

    def __call__(self, texts: Sequence[str], seed: int = 0) -> np.ndarray:
        """(bands, n) keys of `texts`, column for column, computed on the workers."""
        n = len(texts)
        parts = max(1, min(-(-n // self.min_rows), self.max_parts))
        size = -(-n // parts) or 1
        # cleaned titles hold no control characters: one separator-joined string per partition
        chunks = self.client.scatter(
            [_TITLE_SEP.join(texts[i : i + size]) for i in range(0, n, size)]
        )
        futures = self.client.map(lsh_partition, chunks, seed=seed, pure=False)
        return np.concatenate(self.client.gather(futures), axis=1)


class ClusterSigner:
    """MinHash signatures mapped over partitions on the cluster; the same array as one local call."""

    def __init__(self, client: Client, min_rows: int = 5_000) -> None:
        """Partitions of at least `min_rows` titles, at most two per worker.

        Per worker, not per thread: threads are sized for calls waiting on Ollama, while MinHash
        is CPU work that mostly holds the GIL.
        """
        self.client, self.min_rows = client, min_rows
        self.max_parts = 2 * (len(client.nthreads()) or 1)

    def __call__(self, sets: Sequence[frozenset[str]], seed: int = 0) -> np.ndarray:
        """Signatures of `sets`, row for row, computed partition by partition on the workers."""
        n = len(sets)
        parts = max(1, min(-(-n // self.min_rows), self.max_parts))
        size = -(-n // parts) or 1
        if not n:
            return minhash_signatures(sets, seed=seed)
        # scattered, the partitions go straight to the workers instead of through the scheduler
        chunks = self.client.scatter([pack(sets[i : i + size]) for i in range(0, n, size)])
        futures = self.client.map(minhash_partition, chunks, seed=seed, pure=False)
        return np.concatenate(self.client.gather(futures))


def parse_address(address: str) -> tuple[str, int]:
    """('local', N) for `local:N`, else ('remote', 0) for a scheduler address."""
    if address.startswith("local:"):
        return "local", int(address.split(":", 1)[1])
    return "remote", 0


@contextlib.contextmanager
def dask_client(address: str, threads_per_worker: int = 4) -> Iterator[Client]:
    """A client of the scheduler at `address`, or of an in-process LocalCluster for `local:N`."""
    kind, workers = parse_address(address)
    with contextlib.ExitStack() as stack:
        if kind == "local":
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=threads_per_worker,
                    processes=True,
                    dashboard_address=":0",  # any free port: 8787 may be taken
                )
            )
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(address, timeout=CONNECT_TIMEOUT_S))
            except (OSError, TimeoutError) as exc:
                raise ClusterUnavailable(
                    f"No Dask scheduler answers at {address} ({type(exc).__name__}): start one "
                    "with `dask scheduler` and workers with `dask worker "
                    f"{address}`, or leave --dask-address out to run in this process."
                ) from None
        yield client


def check_scheduler(address: str) -> None:
    """Fail in seconds when a remote scheduler is down or has no workers (local:N always works)."""
    if parse_address(address)[0] == "local":
        return
    with dask_client(address) as client:
        _need_workers(client, address)


def _need_workers(client: Client, address: str) -> None:
    """Raise the fix when the scheduler has no workers: calls would wait forever."""
    if not client.nthreads():
        raise ClusterUnavailable(
            f"The Dask scheduler at {address} has no workers: start some with "
            f"`dask worker {address}` (titleforge installed on each machine)."
        )


def describe(client: Client) -> dict[str, Any]:
    """Workers and threads of the cluster, for the log and the report."""
    nthreads = client.nthreads()
    return {
        "scheduler": client.scheduler.address,
        "workers": len(nthreads),
        "threads": sum(nthreads.values()),
    }


@contextlib.contextmanager
def scale_out(address: str, backend: OllamaBackend, concurrency: int) -> Iterator[ClusterCaller]:
    """Open the cluster, route MinHash signatures to it, and yield the caller for LLM calls."""
    kind, workers = parse_address(address)
    # a local cluster gets enough threads to keep `concurrency` calls in flight
    threads = -(-concurrency // workers) if kind == "local" else 1
    with dask_client(address, threads_per_worker=threads) as client:
        _need_workers(client, address)
        token = SIGNATURES.set(ClusterSigner(client))
        keys_token = LSH_KEYS.set(ClusterKeys(client))
        caller = ClusterCaller(client, backend)
        try:
            yield caller
        finally:
            caller.close()
            LSH_KEYS.reset(keys_token)
            SIGNATURES.reset(token)
