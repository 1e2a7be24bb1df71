"""Scale-out on Dask vs one process, against loopback Ollama doubles with a latency model.

Generation: one process + one host, one process + two hosts, two Dask worker processes + two
hosts (same seed; the kept titles must be identical). MinHash: signatures of many titles in
one process vs mapped over partitions on the two workers. On a 2-core machine the workers
share the cores with this process, so the MinHash row shows the overhead more than a gain.

    python benchmarks/bench_dask.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed import Client, LocalCluster

from benchmarks.common import print_table, ratio, timed
from generator.cluster import ClusterCaller, ClusterSigner
from generator.curate import Curator
from generator.generate import GenerationResult, generate_titles
from generator.neardup import minhash_signatures, token_set
from generator.ollama_backend import OllamaBackend
from generator.spec import load_spec
from tests.fakes.ollama_server import FakeConfig, FakeOllama
from tests.fakes.titles import make_title

SLOTS, OVERHEAD_S, PER_TOKEN_S, SEED = 4, 0.15, 0.002, 7


def _double() -> FakeOllama:
    """A double with the latency model; no faults and no history-dependent repeats (same replies anywhere)."""
    return FakeOllama(
        FakeConfig(slots=SLOTS, per_call_overhead_s=OVERHEAD_S, per_token_s=PER_TOKEN_S, seed=1)
    )


def _generate(hosts: list[str], per_label: int, client: Client | None) -> GenerationResult:
    """generate_titles as the flow runs it, in this process or on the cluster."""
    spec = load_spec("clickbait")
    backend = OllamaBackend(hosts=hosts)
    with tempfile.TemporaryDirectory() as tmp:
        caller = ClusterCaller(client, backend) if client else None
        try:
            return generate_titles(
                spec,
                backend,
                Path(tmp),
                per_label=per_label,
                seed=SEED,
                concurrency=backend.default_concurrency(),
                curate=Curator(spec),
                show_progress=False,
                caller=caller,
            )
        finally:
            if caller:
                caller.close()


def main() -> None:
    """Run every variant and print the two tables."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    per_label, n_titles = (100, 100_000) if args.quick else (300, 400_000)
    with (
        LocalCluster(n_workers=2, threads_per_worker=8, dashboard_address=":0") as cluster,
        Client(cluster) as client,
        _double() as a,
        _double() as b,
    ):
        _generate([a.url, b.url], 5, client)  # warm up: imports and Ollama clients on the workers
        one, t_one = timed(lambda: _generate([a.url], per_label, None))
        two, t_two = timed(lambda: _generate([a.url, b.url], per_label, None))
        dask, t_dask = timed(lambda: _generate([a.url, b.url], per_label, client))
        same = (
            [t.text for t in one.items]
            == [t.text for t in dask.items]
            == [t.text for t in two.items]
        )
        rng = random.Random(0)
        sets = [
            token_set(make_title(rng.choice(["clickbait", "factual"]), rng))
            for _ in range(n_titles)
        ]
        local_sig, t_local = timed(lambda: minhash_signatures(sets, seed=3))
        signer = ClusterSigner(client)
        signer(sets[:1000], seed=3)  # warm the workers' imports
        dask_sig, t_sig = timed(lambda: signer(sets, seed=3))
    kept = 2 * per_label
    print_table(
        f"Generation of {per_label} titles per label, seed {SEED}: {SLOTS} slots per double, "
        f"{OVERHEAD_S}s/call + {PER_TOKEN_S}s/token",
        ["run", "seconds", "kept titles/s", "calls", "speed-up"],
        [
            ["1 process, 1 host", t_one, kept / t_one, one.calls_total, "1.0x"],
            ["1 process, 2 hosts", t_two, kept / t_two, two.calls_total, ratio(t_one, t_two)],
            [
                "2 Dask workers, 2 hosts",
                t_dask,
                kept / t_dask,
                dask.calls_total,
                ratio(t_one, t_dask),
            ],
        ],
        note=f"same kept titles in all three: {same}",
    )
    print_table(
        f"MinHash signatures of {n_titles:,} titles (128 permutations)",
        ["where", "seconds", "titles/s"],
        [
            ["this process", t_local, n_titles / t_local],
            ["2 Dask worker processes", t_sig, n_titles / t_sig],
        ],
        note=f"identical arrays: {bool((local_sig == dask_sig).all())}",
    )


if __name__ == "__main__":
    main()
