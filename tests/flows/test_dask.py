"""Scale-out on Dask: two worker processes and two Ollama doubles make the single-process dataset."""

from __future__ import annotations

import json
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream
from typer.testing import CliRunner

from flows.cli import app
from generator.cluster import ClusterKeys, ClusterSigner, assigned_host
from generator.neardup import minhash_signatures, token_set
from generator.nearfast import lsh_keys, title_lsh_keys, token_hashes
from generator.prompting import plan_call
from generator.spec import load_spec
from tests.fakes.ollama_server import FakeConfig, FakeOllama
from tests.fakes.titles import make_title
from training.baselines import FrozenEncoderLogReg
from training.cluster_embed import ClusterEmbedder
from training.labelnoise import EMBEDDINGS

runner = CliRunner()
SEED = 5


@pytest.fixture(scope="module")
def cluster() -> Iterator[Client]:
    """A local Dask cluster of two worker processes (not threads of this process)."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=4, processes=True, dashboard_address=":0"
        ) as local,
        Client(local) as client,
    ):
        yield client


def _generate(workdir: Path, hosts: str, *extra: str) -> Any:
    """`titleforge generate --no-prefect` through the CLI, the way a user runs it."""
    args = ["generate", "--task", "clickbait", "--per-label", "20", "--seed", str(SEED)]
    args += ["--workdir", str(workdir), "--ollama-host", hosts, "--no-prefect", *extra]
    return runner.invoke(app, args)


def _rows(workdir: Path) -> list[dict[str, Any]]:
    """raw.jsonl as written."""
    lines = (workdir / "raw.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _dataset(workdir: Path) -> dict[str, list[tuple[str, int]]]:
    """Every split's (text, label) rows, in order."""
    from datasets import load_from_disk

    dd = load_from_disk(str(workdir / "dataset"))
    return {name: list(zip(part["text"], part["label"], strict=True)) for name, part in dd.items()}


def _report(workdir: Path) -> dict[str, Any]:
    """report.json."""
    return json.loads((workdir / "report.json").read_text(encoding="utf-8"))


def test_two_workers_and_two_ollamas_make_the_single_process_dataset(
    cluster: Client, tmp_path: Path
) -> None:
    """Same seed: the same rows and dataset hash; calls really ran on both workers and both hosts."""
    workers = set(cluster.nthreads())
    # same fake seed on both: one model on two GPU boxes answers a seeded call the same way
    with FakeOllama(FakeConfig(seed=0)) as a, FakeOllama(FakeConfig(seed=0)) as b:
        single = _generate(tmp_path / "single", a.url)
        assert single.exit_code == 0, single.output
        a_before = a.stats.requests.get("/api/chat", 0)
        with get_task_stream(cluster) as stream:
            spread = _generate(
                tmp_path / "dask",
                f"{a.url},{b.url}",
                "--dask-address",
                cluster.scheduler.address,
            )
        assert spread.exit_code == 0, spread.output
        assert a.stats.requests.get("/api/chat", 0) > a_before
        assert b.stats.requests.get("/api/chat", 0) > 0

    one, many = _report(tmp_path / "single"), _report(tmp_path / "dask")
    assert one["round"]["dataset_hash"] == many["round"]["dataset_hash"]
    assert f"dataset hash {one['round']['dataset_hash']}" in spread.output.replace("\n", " ")
    assert _dataset(tmp_path / "single") == _dataset(tmp_path / "dask")
    assert sum(len(part) for part in _dataset(tmp_path / "dask").values()) == 40
    assert many["dataset"]["generator"]["dask"]["workers"] == 2
    assert "dask" not in one["dataset"]["generator"]

    # every distributed row was made on a worker process, each with the host its call was assigned
    spec, hosts = load_spec("clickbait"), [a.url, b.url]
    rows = _rows(tmp_path / "dask")
    assert Counter(row["worker"] for row in rows).keys() == workers
    for row in rows:
        planned = plan_call(spec, row["label"], row["index"], SEED)
        assert row["host"] == hosts[assigned_host(hosts, planned)] and not row["error"]
    assert all("worker" not in row for row in _rows(tmp_path / "single"))
    # and the near-dedupe MinHash ran there too
    ran = Counter(task["key"].split("-")[0] for task in stream.data)
    assert ran["llm_call"] == len(rows) and ran["minhash_partition"] >= 1
    assert ran["lsh_partition"] >= 1  # near-dedupe's own MinHash/LSH step


def test_a_cluster_run_resumes_a_single_process_run(cluster: Client, tmp_path: Path) -> None:
    """A run cut short in one process finishes on `local:2` without redoing its calls."""
    with FakeOllama(FakeConfig(seed=0)) as a, FakeOllama(FakeConfig(seed=0)) as b:
        whole = _generate(tmp_path / "whole", a.url)
        cut = _generate(tmp_path / "resumed", a.url, "--max-calls", "3")
        assert cut.exit_code == 1 and "budget" in cut.output.lower()
        head = _rows(tmp_path / "resumed")
        done = _generate(tmp_path / "resumed", f"{a.url},{b.url}", "--dask-address", "local:2")
    assert whole.exit_code == 0 and done.exit_code == 0, done.output
    rows = _rows(tmp_path / "resumed")
    assert rows[: len(head)] == head  # append-only: the first process's rows stay as they were
    ids = [row["call_id"] for row in rows]
    assert len(ids) == len(set(ids))  # no call made twice
    assert all("worker" in row for row in rows[len(head) :])
    assert _report(tmp_path / "resumed")["dataset"]["calls"]["resumed"] == len(head) == 3
    assert (
        _report(tmp_path / "resumed")["round"]["dataset_hash"]
        == _report(tmp_path / "whole")["round"]["dataset_hash"]
    )


def test_minhash_over_partitions_on_the_workers_equals_one_local_call(cluster: Client) -> None:
    """Signatures mapped over many partitions on both workers: the same array, row for row."""
    import random

    rng = random.Random(3)
    titles = [make_title(rng.choice(["clickbait", "factual"]), rng) for _ in range(400)]
    sets = [token_set(t) for t in titles] + [frozenset()]  # an empty title too
    with get_task_stream(cluster) as stream:
        got = ClusterSigner(cluster, min_rows=25)(sets, 11)
    assert np.array_equal(got, minhash_signatures(sets, seed=11))
    assert not np.array_equal(got, minhash_signatures(sets, seed=12))  # the seed reaches workers
    parts = [task for task in stream.data if task["key"].startswith("minhash_partition")]
    assert len(parts) == 4 and {task["worker"] for task in parts} == set(cluster.nthreads())


def test_near_dedupe_keys_over_partitions_on_the_workers_equal_one_local_call(
    cluster: Client,
) -> None:
    """Near-dedupe's band keys mapped over partitions on both workers: the same array, column for column."""
    import random

    rng = random.Random(5)
    titles = [make_title(rng.choice(["clickbait", "factual"]), rng) for _ in range(400)]
    with get_task_stream(cluster) as stream:
        got = ClusterKeys(cluster, min_rows=25)(titles, 11)
    assert np.array_equal(got, title_lsh_keys(titles, 11))
    assert np.array_equal(got, lsh_keys(*token_hashes(titles, 11, spaced=True)[0], seed=11))
    assert not np.array_equal(got, title_lsh_keys(titles, 12))  # the seed reaches the workers
    parts = [task for task in stream.data if task["key"].startswith("lsh_partition")]
    assert len(parts) == 4 and {task["worker"] for task in parts} == set(cluster.nthreads())


def test_embeddings_over_partitions_on_the_workers_equal_one_local_call(
    cluster: Client, tiny_albert: Path
) -> None:
    """Frozen-encoder embeddings mapped over partitions on both workers: the local rows, in order."""
    import random

    rng = random.Random(9)
    titles = [make_title(rng.choice(["clickbait", "factual"]), rng) for _ in range(300)] + [""]
    with get_task_stream(cluster) as stream:
        got = ClusterEmbedder(cluster, min_rows=50)(str(tiny_albert), titles)
    want = FrozenEncoderLogReg(str(tiny_albert)).embed(titles)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert not np.allclose(got, want[::-1], rtol=0, atol=1e-5)  # rows differ: order is checked
    parts = [task for task in stream.data if task["key"].startswith("embed_partition")]
    assert len(parts) == 4 and {task["worker"] for task in parts} == set(cluster.nthreads())
    # each worker process loaded the encoder, once, keyed by its path
    held = cluster.run(lambda: sorted(sys.modules["training.cluster_embed"]._ENCODERS))
    assert list(held.values()) == [[(str(tiny_albert), 64)]] * 2


def test_label_noise_on_local_workers_makes_the_single_process_report(
    tiny_albert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--label-noise-encoder` with `local:2`: embedded on the cluster, same dataset and same block."""
    calls: list[int] = []
    embed = ClusterEmbedder.__call__

    def spy(self: ClusterEmbedder, encoder: str, texts: Any) -> np.ndarray:
        calls.append(len(texts))
        return embed(self, encoder, texts)

    monkeypatch.setattr(ClusterEmbedder, "__call__", spy)
    noise = ["--label-noise", "report", "--label-noise-encoder", str(tiny_albert)]
    with FakeOllama(FakeConfig(seed=0)) as a, FakeOllama(FakeConfig(seed=0)) as b:
        single = _generate(tmp_path / "single", a.url, *noise)
        assert single.exit_code == 0, single.output
        assert not calls  # one process: the hook is not set, embeddings are computed here
        spread = _generate(
            tmp_path / "dask", f"{a.url},{b.url}", *noise, "--dask-address", "local:2"
        )
    assert spread.exit_code == 0, spread.output
    assert EMBEDDINGS.get() is None  # reset when the cluster closed, as MinHash's hooks are
    one, many = _report(tmp_path / "single")["dataset"], _report(tmp_path / "dask")["dataset"]
    assert calls == [one["raw_titles"] - sum(one["dropped"].values())]
    assert many["label_noise"] == one["label_noise"]
    assert one["label_noise"]["flagged"] > 0 and one["label_noise"]["examples"]
    assert _dataset(tmp_path / "single") == _dataset(tmp_path / "dask")


def test_a_bad_or_unreachable_scheduler_is_named_with_the_fix(tmp_path: Path) -> None:
    """A malformed address exits 2; a scheduler that is not there exits 1 naming `dask scheduler`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with FakeOllama(FakeConfig(seed=0)) as a:
        bad = _generate(tmp_path / "bad", a.url, "--dask-address", "my-cluster")
        down = _generate(tmp_path / "down", a.url, "--dask-address", f"tcp://127.0.0.1:{port}")
    assert bad.exit_code == 2 and "local:2" in bad.output
    assert down.exit_code == 1 and "dask scheduler" in down.output, down.output
    assert "Traceback" not in bad.output + down.output
    assert not (tmp_path / "down" / "raw.jsonl").exists()  # checked before anything is written
