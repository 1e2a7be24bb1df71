"""The batched cleaning and dedupe paths give exactly the per-title results, on hostile input too."""

from __future__ import annotations

import random

import pytest

from generator.clean import clean_title, normalise_key
from generator.exactkeys import exact_keys
from generator.fastclean import clean_many, plain_mask
from generator.nearclusters import near_duplicates
from generator.neardup import similarity
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
