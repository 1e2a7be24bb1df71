"""Feedback rounds: turn the model's mistakes on the real *selection* part into prompt guidance.

In the spirit of ProGen/SunGen, our own design: for each label, look at the selection titles of
that label the model got wrong, and describe them, never quote them:
- which label they were mistaken for (a contrastive instruction);
- how long they are compared with our synthetic titles of that label (a length hint);
- which words set them apart from the rest of the selection part (topic keywords: single words
  that occur in at least two mistaken titles, never a whole title);
- a few *synthetic* titles of the label closest to those mistakes (few-shot examples).
Real titles never reach a prompt or the dataset: only counts, lengths and single words do, and
the contamination guard still applies to what the next round writes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_KEYWORDS = 6
MAX_EXAMPLES = 3
MIN_ERRORS = 3  # fewer mistakes than this for a label says nothing worth steering by
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
# short function words carry no topic; a fixed list keeps the guidance deterministic
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "not",
        "but",
        "you",
        "your",
        "they",
        "their",
        "his",
        "her",
        "its",
        "our",
        "who",
        "what",
        "when",
        "where",
        "why",
        "how",
        "will",
        "would",
        "can",
        "could",
        "should",
        "about",
        "after",
        "into",
        "over",
        "than",
        "then",
        "them",
        "there",
        "these",
        "those",
        "been",
        "being",
        "more",
        "most",
        "just",
        "also",
        "out",
        "new",
        "says",
        "said",
        "all",
        "any",
        "one",
        "two",
        "its",
        "it's",
        "i'm",
        "you're",
        "don't",
    ]
)


def _words(text: str) -> list[str]:
    """Lower-cased content words of a title."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _keywords(
    errors: Sequence[str], others: Sequence[str], banned: set[str], k: int = MAX_KEYWORDS
) -> list[str]:
    """Words far more frequent in the mistaken titles than in the rest (smoothed log-odds)."""
    err = Counter(w for t in errors for w in set(_words(t)))
    rest = Counter(w for t in others for w in set(_words(t)))
    n_err, n_rest = max(len(errors), 1), max(len(others), 1)
    scored = [
        (np.log((c + 0.5) / n_err) - np.log((rest[w] + 0.5) / n_rest), w)
        for w, c in err.items()
        if c >= 2 and w not in banned
    ]
    return [w for _, w in sorted(scored, key=lambda sw: (-sw[0], sw[1]))[:k]]


def _nearest_synthetic(
    errors: Sequence[str], synthetic: Sequence[str], k: int = MAX_EXAMPLES
) -> list[str]:
    """The synthetic titles of the label most similar (word TF-IDF cosine) to the mistakes."""
    if not errors or not synthetic:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True).fit([*synthetic, *errors])
    sims = (vec.transform(synthetic) @ vec.transform(errors).T).toarray().max(axis=1)
    order = np.argsort(-sims, kind="stable")[:k]
    return [synthetic[int(i)] for i in order if sims[int(i)] > 0]


def derive_guidance(
    texts: Sequence[str],
    gold: Sequence[int],
    preds: Sequence[int],
    label_names: Sequence[str],
    synthetic_texts: Sequence[str],
    synthetic_labels: Sequence[int],
) -> dict[str, Any]:
    """Guidance per label from the selection part's mistakes: {confusions, per_label, lines}."""
    gold_a, pred_a = np.asarray(gold), np.asarray(preds)
    banned = {w for name in label_names for w in _words(name)}
    confusions = []
    per_label: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[str]] = {}
    for g, name in enumerate(label_names):
        wrong = np.flatnonzero((gold_a == g) & (pred_a != g))
        n_label = int((gold_a == g).sum())
        for p, other in enumerate(label_names):
            n = int(((gold_a == g) & (pred_a == p)).sum())
            if p != g and n:
                confusions.append({"gold": name, "predicted": other, "n": n, "of": n_label})
        if len(wrong) < MIN_ERRORS:
            continue
        err_texts = [texts[i] for i in wrong]
        rest = [texts[i] for i in range(len(texts)) if i not in set(wrong.tolist())]
        synth = [t for t, lb in zip(synthetic_texts, synthetic_labels, strict=True) if lb == g]
        mistaken_for = Counter(label_names[int(pred_a[i])] for i in wrong).most_common(1)[0][0]
        err_len = float(np.median([len(t.split()) for t in err_texts]))
        syn_len = float(np.median([len(t.split()) for t in synth])) if synth else err_len
        keywords = _keywords(err_texts, rest, banned)
        examples = _nearest_synthetic(err_texts, synth)
        per_label[name] = {
            "errors": len(wrong),
            "of": n_label,
            "mistaken_for": mistaken_for,
            "median_words_errors": err_len,
            "median_words_synthetic": syn_len,
            "keywords": keywords,
            "examples": examples,
        }
        out = [
            f"Real {name} titles were often mistaken for {mistaken_for}: make every title "
            f"unmistakably {name}, including ones on subjects that {mistaken_for} titles also cover."
        ]
        if abs(err_len - syn_len) >= 2:
            out.append(f"Vary the length: include titles of about {round(err_len)} words.")
        if keywords:
            out.append("Cover subjects such as: " + ", ".join(keywords) + ".")
        if examples:
            out.append("Titles in the spirit of: " + " | ".join(examples))
        lines[name] = out
    return {"confusions": confusions, "per_label": per_label, "lines": lines}
