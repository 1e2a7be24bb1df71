"""Training a multi-head model: batches of every task shuffled together, one head's loss per batch.

Each batch holds titles of one task and trains the shared encoder and that task's head, so an
epoch sees every task's train split once (as many examples per task as its single-task run) and
the epoch's loss is the sum of the per-task cross-entropies. The schedule, optimiser, frozen
embeddings, evaluations per epoch, best-checkpoint choice and early stopping follow the
single-task Trainer set-up, so the two kinds differ only in the sharing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from datasets import DatasetDict
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup, set_seed

from training.device import Arithmetic
from training.errors import TrainingError
from training.freeze import fix_for_training
from training.model import load_tokenizer
from training.multihead import MultiHeadModel
from training.multihead_config import MultiHeadConfig
from training.trainer import LogFn


@dataclass
class Encoded:
    """One task's split as token ids and label ids."""

    ids: list[list[int]]
    labels: np.ndarray


def encode(ds: Any, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Encoded:
    """Token ids (unpadded) and labels of a split."""
    ids = tokenizer(list(ds["text"]), truncation=True, max_length=max_length)["input_ids"]
    return Encoded(ids, np.asarray(ds["label"], dtype=np.int64))


def pad_batch(ids: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and attention mask of one batch."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[row, : len(x)] = 1
    return input_ids, mask


def mixed_batches(
    sizes: Mapping[str, int], batch_size: int, rng: np.random.Generator
) -> list[tuple[str, np.ndarray]]:
    """One epoch: every task's examples shuffled into batches, the batches of all tasks shuffled."""
    batches = [
        (task, idx)
        for task, n in sizes.items()
        for idx in np.array_split(rng.permutation(n), math.ceil(n / batch_size))
    ]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def load_encoder(base_model: str) -> Any:
    """The base model's encoder without a task head (safetensors, no remote code)."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(base_model, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise TrainingError(
            f"Could not load model {base_model!r}: {exc}. Check --base-model."
        ) from None


@torch.inference_mode()
def validate(
    model: MultiHeadModel,
    val: Mapping[str, Encoded],
    pad: int,
    batch_size: int,
    on: Arithmetic,
) -> dict[str, float]:
    """Validation loss, accuracy and macro F1 per head, and their means over heads."""
    from sklearn.metrics import f1_score

    model.eval()
    out: dict[str, float] = {}
    for i, (task, enc) in enumerate(val.items()):
        order = np.argsort([len(x) for x in enc.ids], kind="stable")  # little padding
        logits = []
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            with on.autocast():
                batch = on.put(pad_batch([enc.ids[j] for j in idx], pad))
                logits.append(model(*batch)[i].float().cpu())
        z, y = torch.cat(logits), torch.from_numpy(enc.labels[order])
        preds = z.argmax(-1).numpy()
        out[f"eval_{task}_loss"] = float(torch.nn.functional.cross_entropy(z, y))
        out[f"eval_{task}_accuracy"] = float((preds == y.numpy()).mean())
        out[f"eval_{task}_f1_macro"] = float(f1_score(y.numpy(), preds, average="macro"))
    model.train()
    for metric in ("loss", "accuracy", "f1_macro"):
        out[f"eval_{metric}"] = float(np.mean([out[f"eval_{t}_{metric}"] for t in val]))
    return out


def optimiser(model: torch.nn.Module, config: MultiHeadConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on weights only (not biases or LayerNorm), as the Trainer sets it."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate)


def train_multihead(
    config: MultiHeadConfig,
    splits: Mapping[str, DatasetDict],
    labels: Mapping[str, Sequence[str]],
    on_log: LogFn | None = None,
) -> tuple[MultiHeadModel, PreTrainedTokenizerBase, dict[str, Any]]:
    """Train one encoder with a head per task; the best validation checkpoint is restored."""
    set_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    on = Arithmetic.choose(config.precision)
    tokenizer = load_tokenizer(config.base_model)
    model = MultiHeadModel(load_encoder(config.base_model), labels)
    # as in single-task training: fixed embeddings and bottom layers, dropout as configured
    fixed = fix_for_training(model, config, encoder=model.encoder)
    model.to(on.device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    train = {t: encode(s["train"], tokenizer, config.max_length) for t, s in splits.items()}
    val = {t: encode(s["validation"], tokenizer, config.max_length) for t, s in splits.items()}
    sizes = {t: len(e.ids) for t, e in train.items()}
    per_epoch = sum(math.ceil(n / config.batch_size) for n in sizes.values())
    total = math.ceil(per_epoch * config.epochs)
    eval_every = max(1, per_epoch // config.evals_per_epoch)
    opt = optimiser(model, config)
    warmup = max(0, int(0.06 * total))
    sched = get_linear_schedule_with_warmup(opt, warmup, total)
    key = "eval_loss" if config.metric_for_best == "loss" else f"eval_{config.metric_for_best}"
    better = (lambda a, b: a < b) if config.metric_for_best == "loss" else (lambda a, b: a > b)
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    waited, step, seen, losses = 0, 0, 0, []
    plan: list[tuple[str, np.ndarray]] = []
    model.train()
    t0 = time.perf_counter()
    while step < total:
        if not plan:
            plan = mixed_batches(sizes, config.batch_size, rng)
        task, idx = plan.pop(0)
        i = model.tasks.index(task)
        with on.autocast():
            logits = model(*on.put(pad_batch([train[task].ids[j] for j in idx], pad)))[i]
        labels_t = torch.from_numpy(train[task].labels[idx]).to(on.device)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels_t)
        on.scaler.scale(loss).backward()
        on.scaler.unscale_(opt)  # clip the true gradients (fp16 scales them up)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        on.scaler.step(opt)
        on.scaler.update()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step, seen = step + 1, seen + len(idx)
        losses.append(float(loss.detach()))
        if step % max(1, eval_every // 4) == 0:
            entry = {"loss": float(np.mean(losses)), "learning_rate": sched.get_last_lr()[0]}
            history.append(entry | {"step": step, "epoch": round(step / per_epoch, 3)})
            losses = []
            if on_log:
                on_log(entry, step, total)
        if step % eval_every == 0 or step == total:
            metrics = validate(model, val, pad, config.eval_batch_size, on)
            history.append(metrics | {"step": step, "epoch": round(step / per_epoch, 3)})
            if on_log:
                on_log(metrics, step, total)
            if best is None or better(metrics[key], best[0]):
                state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best, waited = (metrics[key], step, state), 0
            else:
                waited += 1
                if config.early_stopping_patience and waited >= config.early_stopping_patience:
                    break
    runtime = time.perf_counter() - t0
    if best is not None:
        model.load_state_dict(best[2])
    model.to("cpu").eval()  # scoring, saving and export downstream run on the CPU, as before
    ended = {
        "stopped_early": step < total,
        "at_step": step,
        "planned_steps": total,
        "at_epoch": round(step / per_epoch, 2),
        "schedule": {
            "kind": "linear decay after linear warm-up",
            "peak": config.learning_rate,
            "warmup_steps": warmup,
            "total_steps": total,
            "last_logged": sched.get_last_lr()[0],
        },
        "sampler": "batches of one task each, shuffled across tasks every epoch (seeded)",
        "fixed": fixed,
        "arithmetic": on.label,
    }
    if best is not None:
        ended |= {"best_step": best[1], "best": round(best[0], 4), "metric": key}
    if ended["stopped_early"] and best is not None:
        ended["reason"] = (
            f"validation {key.removeprefix('eval_')} (mean over heads) reached {best[0]:.4g} at "
            f"step {best[1]} and did not improve in the next {config.early_stopping_patience} "
            "evaluation(s)"
        )
    return (
        model,
        tokenizer,
        {
            "log_history": history,
            "train_runtime_s": round(runtime, 2),
            "samples_per_second": round(seen / runtime, 2) if runtime > 0 else None,
            "best_metric": best[0] if best else None,
            "epochs_run": round(step / per_epoch, 3),
            "ended": ended,
        },
    )
