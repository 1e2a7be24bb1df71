"""`--head setfit`: a short SetFit contrastive finetune of the encoder, then the logistic head.

SetFit (Tunstall et al. 2022) first pulls same-label titles together and pushes different-label
titles apart (cosine-similarity loss on sentence pairs), then fits logistic regression on the
tuned embeddings. Here the second step is `--head logistic`'s own fitting and saving
(training/heads.py), so the folder, `titleforge predict`, the ONNX export and the card are the
same as for a frozen-encoder head: encoder as safetensors, head.safetensors + head.json, no pickle.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.config import FinetuneConfig
from training.heads import HEAD_META, fit_and_save

# pairs come from every title pair of the sample (setfit enumerates them all): capping the
# sample keeps that enumeration small (~2M pairs) for datasets of any size
MAX_PAIR_TITLES = 2000


def contrastive_settings(config: FinetuneConfig, n_titles: int) -> dict[str, Any]:
    """The contrastive step's settings, as recorded in head.json and report.json."""
    batch = min(config.batch_size, config.setfit_pairs)
    return {
        "pairs": config.setfit_pairs,
        "batch_size": batch,
        "steps": math.ceil(config.setfit_pairs / batch),
        "learning_rate": config.learning_rate,
        "loss": "CosineSimilarityLoss",
        "seed": config.seed,
        "freeze_embeddings": config.freeze_embeddings,
        "titles_sampled": min(n_titles, MAX_PAIR_TITLES),
    }


def tune_body(
    base_model: str,
    texts: Sequence[str],
    labels: Sequence[int],
    settings: dict[str, Any],
    out: Path,
    *,
    max_length: int,
) -> list[dict[str, float]]:
    """Contrastively finetune the encoder on title pairs; save it (safetensors) and its tokenizer to `out`."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.linear_model import LogisticRegression

    # a seeded sample: setfit draws its pairs with a fixed seed of its own, so the title order
    # is what makes `seed` count
    order = random.Random(settings["seed"]).sample(range(len(texts)), settings["titles_sampled"])
    train = Dataset.from_dict(
        {"text": [texts[i] for i in order], "label": [int(labels[i]) for i in order]}
    )
    # built from parts, not SetFitModel.from_pretrained: that would unpickle a model_head.pkl
    body = SentenceTransformer(base_model, device="cpu", trust_remote_code=False)
    body.max_seq_length = max_length
    if settings["freeze_embeddings"]:  # as in finetuning: faster steps, less drift
        body[0].auto_model.get_input_embeddings().requires_grad_(False)
    model = SetFitModel(model_body=body, model_head=LogisticRegression())
    with tempfile.TemporaryDirectory(prefix="setfit-") as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            batch_size=settings["batch_size"],
            max_steps=settings["steps"],
            body_learning_rate=settings["learning_rate"],
            seed=settings["seed"],
            report_to="none",
            save_strategy="no",
            show_progress_bar=False,
            logging_steps=1,  # a loss point per step for the loss plot (a few dozen steps)
        )
        trainer = Trainer(model=model, args=args, train_dataset=train)
        trainer.train_embeddings(train["text"], train["label"], args=args)
        # setfit logs `embedding_loss`; the report's loss plot reads `loss`
        history = [
            {
                k.removeprefix("embedding_"): float(v)
                for k, v in row.items()
                if isinstance(v, int | float)
            }
            for row in trainer.st_trainer.state.log_history
        ]
    body.save(str(out), safe_serialization=True)
    return history


def fit_and_save_setfit(
    config: FinetuneConfig,
    texts: Sequence[str],
    labels: Sequence[int],
    label_names: Sequence[str],
    out: Path,
) -> dict[str, Any]:
    """Contrastive body finetune + logistic head, saved to `out` like a `--head logistic` model."""
    settings = contrastive_settings(config, len(texts))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="setfit-body-") as tuned:
        history = tune_body(
            config.base_model, texts, labels, settings, Path(tuned), max_length=config.max_length
        )
        body_s = time.perf_counter() - t0
        fitted = fit_and_save(
            tuned, texts, labels, label_names, out, seed=config.seed, max_length=config.max_length
        )
    seconds = time.perf_counter() - t0
    settings["body_runtime_s"] = round(body_s, 2)
    meta_path = out / HEAD_META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(kind="setfit", setfit=settings)
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return fitted | {
        "head": "setfit",
        "setfit": settings,
        "train_runtime_s": round(seconds, 2),
        "samples_per_second": round(len(texts) / seconds, 2) if seconds > 0 else None,
        "log_history": history,
    }
