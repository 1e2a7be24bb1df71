"""Rounds as the deployments run them: fresh seeds, reproducible datasets, history and promotion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.config import GenerateConfig
from flows.deploy import regenerate_parameters
from flows.history import (
    HISTORY_FILE,
    promotion,
    read_current,
    read_history,
    record_round,
    wilson_interval,
)
from tests.fakes.ollama_server import FakeConfig, FakeOllama


def _regenerate(runs: Path, host: str, **overrides: object) -> dict:
    """One manual regeneration with the regenerate deployment's default parameters."""
    from flows.generate import generate_dataset

    params = regenerate_parameters("clickbait", 12, str(runs), ollama_host=host)["config"]
    return generate_dataset(GenerateConfig(**{**params, **overrides}))


def test_manual_rounds_draw_fresh_seeds_and_a_seed_reproduces_its_dataset(tmp_path: Path) -> None:
    """Two regenerations without a seed: two round dirs, two seeds, two datasets; seed → same hash."""
    runs = tmp_path / "runs"
    with FakeOllama(FakeConfig(profile="small-model", seed=5)) as fake:
        first = _regenerate(runs, fake.url)
        second = _regenerate(runs, fake.url)
        again = _regenerate(runs, fake.url, seed=first["round"]["seed"])
    dirs = sorted(p.name for p in (runs / "clickbait").iterdir() if p.is_dir())
    assert len(dirs) == 3, dirs
    assert first["round"]["seed"] != second["round"]["seed"]
    assert first["round"]["id"] != second["round"]["id"] != again["round"]["id"]
    assert first["round"]["dataset_hash"] != second["round"]["dataset_hash"]
    assert again["round"]["dataset_hash"] == first["round"]["dataset_hash"]
    for rnd in (first, second, again):
        workdir = runs / "clickbait" / rnd["round"]["id"]
        stored = json.loads((workdir / "report.json").read_text())
        # named after the seed (a "-2" suffix when the same seed came twice in one minute)
        assert stored["round"] == rnd["round"] and f"-s{rnd['round']['seed']}" in rnd["round"]["id"]
        # the seed is in the run's identity too, so a later resume cannot drift to another seed
        fp = json.loads((workdir / "fingerprint.json").read_text())
        assert fp["components"]["seed"] == rnd["round"]["seed"]


def _report(acc: float, n: int, verdict: str) -> dict:
    """A finished round's report.json, as the pipeline writes it."""
    return {
        "round": {"id": "r", "seed": 1, "fingerprint": "f", "dataset_hash": "h"},
        "dataset": {"kept": 100, "dropped": {"exact_duplicate": 3}},
        "synthetic_test": {"accuracy": 0.99, "per_label_accuracy": {"a": 0.99, "b": 0.99}},
        "real": {"accuracy": acc, "n": n, "per_label_accuracy": {"a": acc, "b": acc}},
        "overfitting": {"verdict": verdict},
    }


@pytest.mark.parametrize(
    ("current", "new", "promoted"),
    [
        (None, (0.80, 400, "ok"), True),  # first ok round
        (None, (0.95, 400, "overfit"), False),  # never an overfit model, however good it looks
        ((0.80, 400), (0.78, 400, "ok"), True),  # within the interval: not worse
        ((0.80, 400), (0.70, 400, "ok"), False),  # worse beyond the interval
        ((0.80, 400), (0.70, 30, "ok"), True),  # few real titles: too wide to call it worse
        ((0.80, 400), (0.90, 400, "insufficient real data"), False),
    ],
)
def test_promotion_rule(
    current: tuple[float, int] | None, new: tuple[float, int, str], promoted: bool
) -> None:
    """Promoted only with an ok verdict and real accuracy not worse beyond the 95% interval."""
    cur_row = None
    if current:
        cur_row = {"round": "old", "real_accuracy": current[0], "real_n": current[1]}
    acc, n, verdict = new
    lo, hi = wilson_interval(acc, n)
    row = {"verdict": verdict, "real_accuracy": acc, "real_ci95": [lo, hi]}
    ok, reason = promotion(row, cur_row)
    assert ok is promoted, reason
    assert reason


def test_wilson_interval_matches_the_textbook() -> None:
    """Wilson 95% for 8/10 is 0.490-0.943 (Newcombe 1998); it stays inside [0, 1]."""
    lo, hi = wilson_interval(0.8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    assert wilson_interval(1.0, 5)[1] == 1.0 and wilson_interval(0.0, 5)[0] == 0.0


def test_history_rows_and_current_pointer(tmp_path: Path) -> None:
    """Three rounds: three rows; the overfit one is recorded but never becomes current."""
    runs = tmp_path / "clickbait"
    rounds = [("r1", 0.80, "ok"), ("r2", 0.97, "overfit"), ("r3", 0.50, "ok")]
    for name, acc, verdict in rounds:
        (runs / name).mkdir(parents=True)
        report = _report(acc, 500, verdict)
        report["round"]["id"] = name
        record_round(runs / name, report)
    rows = read_history(runs)
    assert [r["round"] for r in rows] == ["r1", "r2", "r3"]
    assert [r["promoted"] for r in rows] == [True, False, False]
    assert read_current(runs)["round"] == "r1"
    # a torn last line (a kill mid-append) does not hide the rounds before it
    with (runs / HISTORY_FILE).open("a") as fh:
        fh.write('{"round": "r4", "see')
    assert len(read_history(runs)) == 3


@pytest.mark.slow
def test_three_pipeline_rounds_give_three_history_rows_and_one_trend_artifact(
    tmp_path: Path, tiny_albert: Path, real_clickbait_csv: Path
) -> None:
    """The nightly's parameters, three times: three rows, one `history` artifact with the plot."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.testing.utilities import prefect_test_harness

    from flows.config import PipelineConfig, TrainOptions
    from flows.deploy import nightly_parameters
    from flows.pipeline import pipeline

    runs = tmp_path / "runs"
    train = TrainOptions(base_model=str(tiny_albert), epochs=1)
    with prefect_test_harness(), FakeOllama(FakeConfig(profile="small-model", seed=9)) as fake:
        params = nightly_parameters("clickbait", 20, str(runs), train, ollama_host=fake.url)[
            "config"
        ]
        params["generate"]["real_data"] = {"source": str(real_clickbait_csv)}
        params["fail_on_overfit"] = False
        for _ in range(3):
            pipeline(PipelineConfig(**params))
        with get_client(sync_client=True) as client:
            arts = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["clickbait-history"]))
            )
    rows = read_history(runs / "clickbait")
    print([(r["round"], r["verdict"], r["real_accuracy"], r["promoted"]) for r in rows])
    assert len(rows) == 3 and len({r["seed"] for r in rows}) == 3
    assert len({r["dataset_hash"] for r in rows}) == 3
    for row in rows:
        assert row["real_n"] > 0 and row["real_ci95"] and row["verdict"]
        if row["verdict"] != "ok":
            assert not row["promoted"], row
    cost = json.loads((Path(rows[-1]["path"]) / "report.json").read_text())["cost"]
    assert cost["inference"]["titles_per_second"] > 0 and cost["generation"]["kept_titles_per_call"]
    current = read_current(runs / "clickbait")
    promoted = [r for r in rows if r["promoted"]]
    assert (current or {}).get("round") == (promoted[-1]["round"] if promoted else None)
    # one key for the task: every round updated the same artifact; the last shows all three
    assert len(arts) == 3 and {a.key for a in arts} == {"clickbait-history"}
    latest = max(arts, key=lambda a: a.created)
    assert "data:image/png;base64," in latest.data
    assert all(r["round"] in latest.data for r in rows)


def test_label_noise_drop_removes_wrongly_labelled_titles(tmp_path: Path) -> None:
    """A model that writes 8% of titles for the other label: `drop` removes most, counted."""
    from flows.generate import generate_dataset

    fake_cfg = FakeConfig(seed=2, wrong_label_rate=0.08)
    with FakeOllama(fake_cfg) as fake:
        report = generate_dataset(
            GenerateConfig(
                task="clickbait",
                per_label=150,
                workdir=str(tmp_path / "run"),
                seed=3,
                ollama_host=fake.url,
                label_noise="drop",
                balance="none",
            )
        )
    ds = report["dataset"]
    noise = ds["label_noise"]
    assert noise["mode"] == "drop" and noise["flagged"] == ds["dropped"]["label_noise"] > 0
    # every example shown was flagged against its given label
    assert all(e["given"] != e["suggested"] for e in noise["examples"])
