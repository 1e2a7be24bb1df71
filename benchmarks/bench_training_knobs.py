"""Which training settings matter: training-loop samples/s with one setting changed at a time.

Row one is `titleforge train`'s defaults (bf16 autocast where the CPU computes bf16 natively, fixed
word embeddings, MiniLM's bottom 3 of 6 layers fixed, dropout on, random batches padded to their
own longest title, fused AdamW, batch 32, torch's default threads); every other row changes
one thing. Only `Trainer.train` is timed (no evaluation, no checkpoints), each variant in its own
process, the variants interleaved so a slow spell of this noisy machine hits them alike; the
ratio is to the defaults measured in the same run. torch.compile's compile time is included: a
run of this size pays it.

    python benchmarks/bench_training_knobs.py [--quick] [--models minilm,albert-base]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import minilm_path, print_table, ratio, run_worker  # noqa: E402

# one change from the defaults per row: config fields, or the loop's own settings (bench-only keys)
VARIANTS: dict[str, dict[str, Any]] = {
    "titleforge defaults": {},
    "fp32 (no bf16 autocast)": {"precision": "fp32"},
    "all layers learning (none fixed)": {"frozen_layers": 0},
    "embeddings learning too (and all layers)": {"frozen_layers": 0, "freeze_embeddings": False},
    "dropout off": {"dropout": False},
    "length-grouped batches": {"length_grouped_batches": True},
    "padding to a multiple of 8": {"_pad": 8},
    "batch 64, learning rate x2": {"batch_size": 64, "learning_rate": 1e-4},
    "1 thread": {"_threads": 1},
    "torch.compile": {"_compile": True},
}
# ALBERT runs one shared layer at every depth: it has no bottom layers to fix
NOT_FOR = {"albert-base": {"all layers learning (none fixed)"}}
SIZES = {
    "quick": {"minilm": (768, 1), "albert-base": (256, 1)},
    "full": {"minilm": (2000, 3), "albert-base": (512, 3)},
}


def worker(variant: str, base: Path, data: Path) -> dict[str, Any]:
    """Train one epoch with one variant; the loop's samples/s and final loss."""
    import torch
    from datasets import load_from_disk
    from transformers import DataCollatorWithPadding, Trainer, set_seed
    from transformers.utils import logging as hf_logging

    from training.config import FinetuneConfig
    from training.freeze import fix_for_training
    from training.model import load_classifier, load_tokenizer, tokenize
    from training.trainer import training_arguments

    hf_logging.set_verbosity_error()
    change = VARIANTS[variant]
    loop = {k: v for k, v in change.items() if k.startswith("_")}
    fields = {k: v for k, v in change.items() if not k.startswith("_")}
    if "_threads" in loop:
        torch.set_num_threads(loop["_threads"])
    with tempfile.TemporaryDirectory() as tmp:
        cfg = FinetuneConfig(
            dataset=str(data), workdir=tmp, base_model=str(base), epochs=1, **fields
        )
        set_seed(cfg.seed)
        tok = load_tokenizer(cfg.base_model)
        model = load_classifier(cfg.base_model, ["clickbait", "factual"])
        fix_for_training(model, cfg)
        train = tokenize(load_from_disk(str(data))["train"], tok, cfg.max_length)
        args = dataclasses.replace(
            training_arguments(cfg, len(train), Path(tmp) / "out"),
            eval_strategy="no",
            save_strategy="no",
            load_best_model_at_end=False,
            disable_tqdm=True,
            torch_compile=bool(loop.get("_compile")),
        )
        collator = DataCollatorWithPadding(tok, pad_to_multiple_of=loop.get("_pad"))
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train,
            processing_class=tok,
            data_collator=collator,
        )
        t0 = time.perf_counter()
        out = trainer.train()
        wall = time.perf_counter() - t0
    return {"samples_s": len(train) / wall, "loss": out.training_loss}


def main() -> None:
    """Per model: every variant in its own process, interleaved, medians; one table per model."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models", default="minilm,albert-base")
    ap.add_argument("--worker", choices=list(VARIANTS), help=argparse.SUPPRESS)
    ap.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.base, args.data)))
        return
    from datasets.utils.logging import disable_progress_bar

    from benchmarks.bench_training import build_albert_base, build_data

    disable_progress_bar()
    mode = "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            n_train, repeats = SIZES[mode][name]
            base = minilm_path() if name == "minilm" else build_albert_base(Path(tmp) / name)
            data = build_data(Path(tmp) / f"data-{name}", n_train)
            names = [v for v in VARIANTS if v not in NOT_FOR.get(name, set())]
            got: dict[str, list[dict[str, Any]]] = {v: [] for v in names}
            for _ in range(repeats):
                for v in names:
                    got[v].append(run_worker(__file__, v, "--base", str(base), "--data", str(data)))
            med = {v: statistics.median(r["samples_s"] for r in rs) for v, rs in got.items()}
            loss = {v: statistics.median(r["loss"] for r in rs) for v, rs in got.items()}
            ref = med["titleforge defaults"]
            print_table(
                f"Training settings, {name}: {n_train:,} synthetic titles x 1 epoch, training "
                f"loop only, median of {repeats} run(s); ratio to the defaults (same run)",
                ["setting", "samples/s", "vs defaults", "train loss"],
                [[v, med[v], ratio(med[v], ref), f"{loss[v]:.4f}"] for v in names],
            )


if __name__ == "__main__":
    main()
