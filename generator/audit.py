"""Shortcut audit: surface features that reveal the label, a probe that uses only them, drift from real data."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import emoji
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from generator.items import Title

_WH = re.compile(
    r"^(what|why|how|who|when|where|which|is|are|can|could|should|will|would|do|does|did)\b", re.I
)
_YOU = re.compile(r"\b(you|your|you're|yours|yourself)\b", re.I)
_THIS = re.compile(r"^(this|these|here's|here is)\b", re.I)
_SUPERLATIVE = re.compile(
    r"\b(best|worst|shocking|amazing|incredible|unbelievable|secret|never|ever|insane)\b", re.I
)


def _title_case(text: str) -> bool:
    """Most words (of 3+ letters) start with a capital: 'This Is Title Case'."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z']+", text) if len(w) >= 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= 0.8


FEATURES: dict[str, Callable[[str], bool]] = {
    "ends_exclaim": lambda t: t.rstrip().endswith("!"),
    "ends_question": lambda t: t.rstrip().endswith("?"),
    "ends_period": lambda t: t.rstrip().endswith("."),
    "question_form": lambda t: bool(_WH.match(t)) or t.rstrip().endswith("?"),
    "leading_digit": lambda t: t[:1].isdigit(),
    "contains_digit": lambda t: any(c.isdigit() for c in t),
    "second_person": lambda t: bool(_YOU.search(t)),
    "starts_this_these": lambda t: bool(_THIS.match(t)),
    "superlative_hype": lambda t: bool(_SUPERLATIVE.search(t)),
    "title_case": _title_case,
    "all_caps_word": lambda t: any(
        len(w) >= 3 and w.isupper() for w in re.findall(r"[A-Za-z]+", t)
    ),
    "emoji": lambda t: emoji.emoji_count(t) > 0,
    "quote_chars": lambda t: any(c in t for c in '"“”‘’'),
    "colon": lambda t: ":" in t,
    "short_le_6_words": lambda t: len(t.split()) <= 6,
    "long_ge_14_words": lambda t: len(t.split()) >= 14,
}
SHORTCUT_GAP = 0.3  # per-label rates this far apart are a shortcut a classifier will learn
DRIFT_GAP = 0.25  # synthetic vs real rate this far apart is drift


def feature_matrix(texts: Sequence[str]) -> np.ndarray:
    """(n, features) 0/1 matrix of surface features."""
    return np.array([[f(t) for f in FEATURES.values()] for t in texts], dtype=np.float32).reshape(
        len(texts), len(FEATURES)
    )


def _rates(x: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Feature rate per label."""
    lab = np.array(labels)
    return {
        name: {lb: round(float(x[lab == lb, k].mean()), 4) for lb in sorted(set(labels))}
        for k, name in enumerate(FEATURES)
    }


def _probe(x: np.ndarray, y: np.ndarray, seed: int, folds: int) -> float:
    """Cross-validated accuracy of a logistic regression on surface features only."""
    counts = Counter(y.tolist())
    k = min(folds, min(counts.values()))
    if len(counts) < 2 or k < 2:
        return float("nan")
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return float(cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=cv).mean())


def _one_vs_rest_flags(
    name: str, col: np.ndarray, y: np.ndarray, rates: dict[str, float], seed: int, folds: int
) -> list[dict[str, Any]]:
    """With more than two labels, a feature is a shortcut *for a label*: its rate there vs the rest.

    The labels it marks (rate far above the others') are flagged; failing that, the one it marks
    by absence. The probe is one-vs-rest on the feature alone, so its accuracy reads the same
    way for 2 or 20 labels.
    """
    rest = {lb: float(col[y != lb].mean()) for lb in rates}
    marked = [lb for lb in rates if rates[lb] - rest[lb] >= SHORTCUT_GAP]
    if not marked:
        marked = [lb for lb in rates if rest[lb] - rates[lb] >= SHORTCUT_GAP][:1]
    flags = []
    for lb in marked:
        acc = _probe(col[:, None], (y == lb).astype(int), seed, folds)
        flags.append(
            {
                "feature": name,
                "kind": "label_shortcut",
                "label": lb,
                "rates": rates,
                "rest_rate": round(rest[lb], 4),
                "probe_accuracy": round(acc, 4),
                "detail": f"{name}: {rates[lb]:.0%} of '{lb}' titles vs {rest[lb]:.0%} of the "
                f"other labels' — a classifier can learn this for '{lb}' instead of the task "
                f"(alone it tells '{lb}' from the rest {acc:.0%} of the time).",
            }
        )
    return flags


def audit(
    items: Sequence[Title],
    *,
    real_items: Sequence[Title] | None = None,
    seed: int = 0,
    cv_folds: int = 5,
) -> dict[str, Any]:
    """The report's `audit` key: probe accuracy, feature rates per label, and flags."""
    if not items:
        return {
            "shortcut_probe_accuracy": float("nan"),
            "chance": float("nan"),
            "features": {},
            "flags": [],
            "n": 0,
        }
    texts = [t.text for t in items]
    labels = [t.label for t in items]
    x = feature_matrix(texts)
    y = np.array(labels)
    chance = max(Counter(labels).values()) / len(labels)
    rates = _rates(x, labels)
    flags: list[dict[str, Any]] = []
    per_feature = {}
    for k, name in enumerate(FEATURES):
        r = rates[name]
        spread = max(r.values()) - min(r.values())
        if spread >= SHORTCUT_GAP and len(r) > 2:
            flags += _one_vs_rest_flags(name, x[:, k], y, r, seed, cv_folds)
        elif spread >= SHORTCUT_GAP:
            acc = _probe(x[:, [k]], y, seed, cv_folds)
            per_feature[name] = round(acc, 4)
            hi = max(r, key=r.get)  # type: ignore[arg-type]
            lo = min(r, key=r.get)  # type: ignore[arg-type]
            flags.append(
                {
                    "feature": name,
                    "kind": "label_shortcut",
                    "rates": r,
                    "probe_accuracy": round(acc, 4),
                    "detail": f"{name}: {r[hi]:.0%} of '{hi}' titles vs {r[lo]:.0%} of '{lo}' — a classifier "
                    f"can learn this instead of the task (alone it predicts the label {acc:.0%} of the time).",
                }
            )
    result: dict[str, Any] = {
        "n": len(items),
        "shortcut_probe_accuracy": round(_probe(x, y, seed, cv_folds), 4),
        "chance": round(chance, 4),
        "features": rates,
        "per_feature_probe": per_feature,
        "flags": flags,
    }
    if real_items:
        xr = feature_matrix([t.text for t in real_items])
        real_rates = _rates(xr, [t.label for t in real_items])
        result["real_features"] = real_rates
        for flag in flags:
            real_r = real_rates[flag["feature"]]
            syn_r = flag["rates"]
            hi = max(syn_r, key=syn_r.get)  # type: ignore[arg-type]
            lo = min(syn_r, key=syn_r.get)  # type: ignore[arg-type]
            if hi in real_r and lo in real_r and real_r[hi] - real_r[lo] >= SHORTCUT_GAP / 2:
                # the real data differs the same way: a genuine signal, not only a generator artefact
                flag["kind"] = "label_signal"
                flag["detail"] += f" Real data shows it too ({real_r[hi]:.0%} vs {real_r[lo]:.0%})."
        for name in FEATURES:
            for lb, syn in rates[name].items():
                real = real_rates[name].get(lb)
                if real is not None and abs(syn - real) >= DRIFT_GAP:
                    flags.append(
                        {
                            "feature": name,
                            "kind": "real_drift",
                            "label": lb,
                            "rates": {"synthetic": syn, "real": real},
                            "detail": f"{name} in '{lb}': {syn:.0%} of synthetic vs {real:.0%} of real titles.",
                        }
                    )
    return result


def format_flags(result: dict[str, Any]) -> list[str]:
    """One line per flag, for the terminal."""
    return [f"[{f['kind']}] {f['detail']}" for f in result.get("flags", [])]


_TRAIL = {"ends_exclaim": "!", "ends_period": ".", "ends_question": "?"}


def neutralise(
    items: Sequence[Title], result: dict[str, Any], *, seed: int = 0
) -> tuple[list[Title], list[str]]:
    """Rewrite trailing-punctuation shortcuts away; downsample other flagged features to equal rates."""
    rng = np.random.default_rng(seed)
    out = list(items)
    actions: list[str] = []
    for flag in [f for f in result.get("flags", []) if f["kind"] == "label_shortcut"]:
        name = flag["feature"]
        fn = FEATURES[name]
        if name in _TRAIL:
            mark = _TRAIL[name]
            n = sum(fn(t.text) for t in out)
            out = [
                Title(t.text.rstrip().rstrip(mark).rstrip(), t.label, t.call_id)
                if fn(t.text)
                else t
                for t in out
            ]
            actions.append(f"stripped trailing '{mark}' from {n} titles")
            continue
        # drop feature-bearing titles of the over-represented labels down to the lowest rate
        by_label: dict[str, list[int]] = {}
        for i, t in enumerate(out):
            by_label.setdefault(t.label, []).append(i)
        low = min(flag["rates"].values())
        drop: set[int] = set()
        for idxs in by_label.values():
            have = [i for i in idxs if fn(out[i].text)]
            rest = len(idxs) - len(have)
            # keep k so that k / (k + rest) == low
            keep = int(low * rest / (1 - low)) if low < 1 else len(have)
            if len(have) > keep:
                drop.update(rng.choice(have, size=len(have) - keep, replace=False).tolist())
        if drop:
            out = [t for i, t in enumerate(out) if i not in drop]
            actions.append(
                f"dropped {len(drop)} titles with {name} to equalise its rate across labels"
            )
    return out, actions
