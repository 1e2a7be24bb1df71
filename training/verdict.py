"""The overfitting verdict: does the model's synthetic score say anything about real data?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

GAP_OVERFIT = 0.15
GAP_WARNING = 0.07
TOO_GOOD = 0.99


def _loss_divergence(log_history: Sequence[dict[str, Any]]) -> bool:
    """Validation loss rose over the last evaluations while training loss kept falling."""
    evals = [h["eval_loss"] for h in log_history if "eval_loss" in h]
    trains = [h["loss"] for h in log_history if "loss" in h]
    if len(evals) < 3 or len(trains) < 2:
        return False
    best = min(evals)
    return evals[-1] > best * 1.10 and evals[-1] > evals[-2] and trains[-1] < trains[0]


Z95 = 1.959964  # two-sided 95% normal quantile
# below this many real test titles per label, a gap or an accuracy is mostly noise
MIN_REAL_PER_LABEL = 30


def wilson_interval(accuracy: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion: sound near 0 and 1 and for small n, unlike p ± z·se."""
    if n <= 0:
        return 0.0, 1.0
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def overfitting_verdict(
    synthetic: dict[str, Any],
    real: dict[str, Any] | None,
    *,
    log_history: Sequence[dict[str, Any]] = (),
    tfidf_real_accuracy: float | None = None,
    real_support: dict[str, int] | None = None,
) -> dict[str, Any]:
    """ok | warning | overfit | insufficient real data, with every reason spelled out.

    `real_support`: real test titles per label; with fewer than MIN_REAL_PER_LABEL for any
    label the data cannot tell ok from overfit, and the verdict says so instead of guessing.
    """
    reasons: list[str] = []
    level = 0  # 0 ok, 1 warning, 2 overfit
    s_acc = synthetic["accuracy"]
    gap = None
    per_label: dict[str, float] = {}
    if real is None:
        reasons.append(
            "no real data given: the synthetic-to-real gap is unknown (pass --real-data)."
        )
        level = 1 if s_acc >= TOO_GOOD else 0
        if s_acc >= TOO_GOOD:
            reasons.append(
                f"synthetic test accuracy {s_acc:.3f} is too good to be informative on its own."
            )
    else:
        gap = s_acc - real["accuracy"]
        per_label = {
            k: round(synthetic["per_label_accuracy"][k] - real["per_label_accuracy"].get(k, 0.0), 4)
            for k in synthetic["per_label_accuracy"]
        }
        if gap > GAP_OVERFIT:
            level = 2
            reasons.append(
                f"accuracy drops from {s_acc:.3f} on synthetic test to {real['accuracy']:.3f} on real data (gap {gap:.3f} > {GAP_OVERFIT})."
            )
        elif gap > GAP_WARNING:
            level = max(level, 1)
            reasons.append(f"accuracy gap synthetic→real is {gap:.3f} (> {GAP_WARNING}).")
        worst = max(per_label.items(), key=lambda kv: kv[1]) if per_label else None
        if worst and worst[1] > GAP_OVERFIT and level < 2:
            level = max(level, 1)
            reasons.append(f"label {worst[0]!r} loses {worst[1]:.3f} accuracy on real data.")
        if s_acc >= TOO_GOOD and gap > GAP_WARNING:
            level = 2
            reasons.append(
                f"synthetic test accuracy {s_acc:.3f} is suspiciously perfect while real data lags: the model likely learned generator artefacts."
            )
        if tfidf_real_accuracy is not None and real["accuracy"] <= tfidf_real_accuracy:
            level = max(level, 1)
            reasons.append(
                f"the finetuned model ({real['accuracy']:.3f}) does not beat TF-IDF + logistic regression ({tfidf_real_accuracy:.3f}) on real data."
            )
    if _loss_divergence(log_history):
        level = max(level, 1)
        reasons.append(
            "validation loss rose while training loss fell (the best weights were kept)."
        )
    if not reasons:
        reasons.append("synthetic and real accuracy agree and the model beats the baselines.")
    verdict = ("ok", "warning", "overfit")[level]
    ci = None
    if real is not None and real_support:
        n = sum(real_support.values())
        ci = [round(x, 4) for x in wilson_interval(real["accuracy"], n)]
        thin = {k: v for k, v in real_support.items() if v < MIN_REAL_PER_LABEL}
        if thin:
            verdict = "insufficient real data"
            reasons.insert(
                0,
                "too few real test titles to judge: "
                + ", ".join(f"{k} {v}" for k, v in thin.items())
                + f" (at least {MIN_REAL_PER_LABEL} per label needed; 95% interval of the real "
                f"accuracy {ci[0]:.2f}-{ci[1]:.2f}). Add human-labelled titles to --real-data.",
            )
    return {
        "gap": None if gap is None else round(gap, 4),
        "per_label_gap": per_label,
        "real_accuracy_ci95": ci,
        "verdict": verdict,
        "reasons": reasons,
    }
