"""The batched cleaning and dedupe paths give exactly the per-title results, on hostile input too."""

from __future__ import annotations

import random

import numpy as np
import pytest

from generator.clean import clean_title, normalise_key
from generator.exactkeys import dedupe_hashed, exact_dedupe_indices, exact_keys
from generator.fastclean import clean_exact, clean_many, plain_mask
from generator.nearclusters import near_duplicates
from generator.neardup import similarity
from generator.nearverify import verify_pairs
from generator.spec import CleanOptions

WORDS = [
    "city",
    "council",
    "Approves",
    "budget",
    "Title:",
    "sorry",
    "I",
    "can't",
    "1.",
    "a)",
    "Here",
    "are",
    "note:",
    "Sports",
    "sports:",
    "#tag",
    "U.S.",
    "news",
    "**bold**",
    '"q"',
    "'q'",
    "&amp;",
    "<b>",
    "é",
    "—",
    "😀",
    "x_y",
    "A.",
    "(1)",
    "-",
    "Okay,",
    "these",
    "titles",
    "headline",
    "h1",
    "...",
    "!",
    "?",
    "!!",
    ":",
    ",",
    ";",
    "It's",
    "50%",
    "$5",
    "2024:",
    "10",
    "Things",
    "İstanbul",
    "kelvin",
    "Kelvin",
    "sorry",
]
PLAIN = [
    "city",
    "Council",
    "approves",
    "It's",
    "50%",
    "$5",
    "(big)",
    "a/b",
    "x+y",
    "well-known",
    "U.S",
    "10",
    "w",
    "Plain",
]
ENDS = [
    "",
    "!",
    "?",
    ".",
    "!?",
    " ?!",
    ":!",
    ",",
    " -",
    ";.",
    "?!?!?!?!?!",
    ".!.!.!.!.!.!",
    " :",
    ", !",
]
ALPHA = "İK\u212aabcXYZ019 ,.;:!?'%$()/+-\"#&*_<>@[]~`é\t\n"


def _titles(n: int, seed: int) -> list[str]:
    """Adversarial mixes: artefact words, plain words with end marks, random characters."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.4:
            out.append(" ".join(rng.choices(WORDS, k=rng.randint(1, 12))) + rng.choice(ENDS))
        elif r < 0.8:
            out.append(
                " ".join(rng.choices(PLAIN, k=rng.randint(1, 9))).capitalize() + rng.choice(ENDS)
            )
        else:
            out.append("".join(rng.choices(ALPHA, k=rng.randint(0, 40))))
    return out


@pytest.mark.parametrize(
    ("opts", "names"),
    [
        (CleanOptions(), ["sports", "clickbait", "\u212aelvin"]),
        (CleanOptions(trailing_punctuation="normalise", min_words=1, label_words=["meta"]), ["x"]),
        (CleanOptions(trailing_punctuation="keep", max_words=8), []),
    ],
)
def test_batch_cleaning_equals_clean_title(opts: CleanOptions, names: list[str]) -> None:
    """Every title (plain ones on the batch path, the rest per title) gets clean_title's result."""
    titles = _titles(12_000, seed=len(names))
    assert 0.2 < plain_mask(titles, opts, names).mean() < 0.6  # both paths are exercised
    cleaned, reasons = clean_many(titles, opts, names)
    for t, c, r in zip(titles, cleaned, reasons, strict=True):
        assert (c, r) == clean_title(t, opts, names), t


def test_exact_keys_equal_normalise_key() -> None:
    """The byte-array keys are normalise_key's, for ASCII and other titles alike."""
    titles = _titles(20_000, seed=9)
    assert exact_keys(titles) == [normalise_key(t) for t in titles]


def test_near_duplicates_only_above_threshold_and_empty_inputs() -> None:
    """Every reported match is a real one; tiny inputs work."""
    base = "new study finds that coffee drinkers live longer than tea drinkers in europe"
    texts = [base, base.replace("europe", "asia"), "an unrelated headline about local sports teams"]
    out = near_duplicates(texts, ["a"] * 3)
    assert out.keep.tolist() == [True, False, True]
    assert all(similarity(texts[j], texts[m]) >= 0.8 for _, j, m in out.examples)
    assert near_duplicates([], []).keep.tolist() == []
    assert near_duplicates(["one title"], ["a"]).keep.tolist() == [True]


def test_exact_dedupe_from_key_hashes_equals_the_string_keys() -> None:
    """Grouping by the workers' key hashes keeps exactly the rows the string keys keep, even when
    the hashes collide (every row given the same hash: the strings decide)."""
    rng = random.Random(11)
    titles = _titles(3_000, seed=12)
    titles += [rng.choice(titles).upper() + rng.choice(["", " !", "  "]) for _ in range(2_000)]
    labels = [rng.choice("ab") if rng.random() < 0.1 else "a" for _ in titles]
    want = exact_dedupe_indices(titles, labels)
    assert want[1]["exact_duplicate"] > 500 and want[1]["label_conflict"] > 0
    real = np.array([hash(normalise_key(t)) for t in titles], dtype=np.int64)
    for hashes in (real, np.zeros(len(titles), dtype=np.int64), real % 7):
        kept, dropped = dedupe_hashed(hashes, titles, labels, normalise_key)
        assert np.array_equal(kept, want[0]) and dropped == want[1]


def test_clean_exact_keeps_the_first_of_each_key_after_cleaning() -> None:
    """clean_exact = clean_title, then the first title per normalise_key (conflicts dropped)."""
    titles = _titles(4_000, seed=13) * 2
    labels = ["x"] * 6_000 + ["y"] * 2_000
    opts = CleanOptions()
    idx, cleaned, dropped = clean_exact(titles, labels, opts, [])
    first: dict[str, int] = {}
    seen: dict[str, set[str]] = {}
    for i, t in enumerate(titles):
        c, _ = clean_title(t, opts, [])
        if c is not None:
            first.setdefault(normalise_key(c), i)
            seen.setdefault(normalise_key(c), set()).add(labels[i])
    assert idx == sorted(i for k, i in first.items() if len(seen[k]) == 1)
    assert cleaned == [clean_title(titles[i], opts, [])[0] for i in idx]
    assert dropped["exact_duplicate"] > 0 and dropped["label_conflict"] > 0


def test_candidate_check_equals_similarity_on_repeats_and_mixed_lengths() -> None:
    """The vectorised check passes exactly the pairs similarity() passes: titles of 1 to 50 words
    (beyond the vector path's width too) with repeated words, compared all against all."""
    rng = random.Random(14)
    vocab = ["w" + str(k) for k in range(30)] + ["Sports:", "it's", "x_y", "é"]
    base = [rng.choices(vocab, k=rng.randint(1, 50)) for _ in range(60)]
    texts = [" ".join(b) for b in base] + [
        " ".join([*b[:-1], rng.choice(vocab), *b[: rng.randint(0, 2)]]) for b in base
    ]
    pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))])
    for threshold in (0.5, 0.8):
        got = {tuple(p) for p in verify_pairs(texts, pairs, threshold).tolist()}
        want = {(i, j) for i, j in pairs.tolist() if similarity(texts[i], texts[j]) >= threshold}
        assert got == want and len(want) >= 30
