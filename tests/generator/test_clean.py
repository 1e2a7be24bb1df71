"""Cleaning: a table of raw LLM lines and what must come out (or the reason they are dropped)."""

from __future__ import annotations

from collections import Counter

import pytest

from generator.clean import clean_items, clean_title, exact_dedupe, normalise_key
from generator.items import Title
from generator.spec import CleanOptions, load_spec

OPTS = CleanOptions(min_words=3, max_words=20)
LABELS = ["clickbait", "factual"]

CASES: list[tuple[str, str | None, str | None]] = [
    ("1. You Won't Believe What This Dog Did!", "You Won't Believe What This Dog Did", None),
    ("2) Senate passes the water bill.", "Senate passes the water bill", None),
    ("- Stocks rally as inflation cools", "Stocks rally as inflation cools", None),
    ("• Stocks rally as inflation cools", "Stocks rally as inflation cools", None),
    ("* **Stocks rally as inflation cools**", "Stocks rally as inflation cools", None),
    ('"Stocks rally as inflation cools"', "Stocks rally as inflation cools", None),
    ("“Stocks rally as inflation cools”", "Stocks rally as inflation cools", None),
    ("'Stocks rally as inflation cools'", "Stocks rally as inflation cools", None),
    ("Title: Stocks rally as inflation cools", "Stocks rally as inflation cools", None),
    ("Headline - Stocks rally as inflation cools", "Stocks rally as inflation cools", None),
    ('1. **Title:** "Stocks rally as inflation cools"', "Stocks rally as inflation cools", None),
    ("This Trick Saves You Money!!", "This Trick Saves You Money", None),
    ("Is This The End Of Coffee?!", "Is This The End Of Coffee?", None),
    ("Is this the end of coffee?", "Is this the end of coffee?", None),
    ("Stocks rally as inflation cools...", "Stocks rally as inflation cools", None),
    ("Stocks rally as inflation cools 🔥🚀", "Stocks rally as inflation cools", None),
    ("Stocks rally as inflation cools #money #news", "Stocks rally as inflation cools", None),
    ("Ｓｔｏｃｋｓ rally   as\tinflation cools", "Stocks rally as inflation cools", None),
    ("   ", None, "empty"),
    ("1.", None, "empty"),
    ("🔥🔥🔥", None, "empty"),
    ("123 456 789", None, "non_text"),
    ("I'm sorry, but I can't help with that.", None, "refusal"),
    ("As an AI language model, I cannot do this", None, "refusal"),
    ("As a language model I prefer not to", None, "refusal"),
    # a Sci/Tech subject, not a refusal (this filter once dropped a tenth of Sci/Tech titles)
    (
        "Start-up launches language model for doctors",
        "Start-up launches language model for doctors",
        None,
    ),
    ("Sure! Here are 10 clickbait titles:", None, "meta"),
    ("Here are five more headlines for you", None, "meta"),
    ("Note: these titles are fictional", None, "meta"),
    ("Clickbait: You won't believe this trick", None, "label_leak"),
    # a label name as an ordinary word is content, not a leak
    ("A totally factual report on rates", "A totally factual report on rates", None),
    ("Factual errors cost the paper dearly", "Factual errors cost the paper dearly", None),
    ("Report on rates (factual)", None, "label_leak"),
    ("[Clickbait] Ten tricks banks hate", None, "label_leak"),
    ("Ten tricks banks hate - clickbait", None, "label_leak"),
    ("Ten tricks banks hate #clickbait", None, "label_leak"),
    # hostile text: dropped with its own reason, or repaired
    ("<script>alert(1)</script> Ten tricks banks hate", None, "markup"),
    ("<b>Ten</b> tricks banks hate you for", None, "markup"),
    ("\x1b[31mTen tricks banks hate\x1b[0m today", None, "control_chars"),
    ("Ten tricks \u202ebanks hate you for today", None, "bidi_control"),
    ("Ten\u200btricks banks hate you\u2060 now", "Ten tricks banks hate you now", None),
    (
        "Tom &amp; Jerry return to cinemas this year",
        "Tom & Jerry return to cinemas this year",
        None,
    ),
    ("word " * 700, None, "over_long"),
    ("Stocks fall. Investors worry about rates", None, "multi_sentence"),
    ('"Stop Doing This With Your Savings!" Read more to find out', None, "multi_sentence"),
    ("Rates rise", None, "too_short"),
    (" ".join(["word"] * 25), None, "too_long"),
    ("Here Is Why Your Cat Ignores You", "Here Is Why Your Cat Ignores You", None),
    ("U.S. economy adds 200,000 jobs in May", "U.S. economy adds 200,000 jobs in May", None),
]


@pytest.mark.parametrize(("raw", "title", "reason"), CASES)
def test_clean_table(raw: str, title: str | None, reason: str | None) -> None:
    """Each raw line is cleaned to the expected title or dropped with the expected reason."""
    assert clean_title(raw, OPTS, LABELS) == (title, reason)


def test_trailing_policies() -> None:
    """keep leaves the model's punctuation, normalise collapses runs to one mark."""
    assert (
        clean_title(
            "Big news today folks!!",
            OPTS.model_copy(update={"trailing_punctuation": "keep"}),
            LABELS,
        )[0]
        == "Big news today folks!!"
    )
    assert (
        clean_title(
            "Big news today folks!!",
            OPTS.model_copy(update={"trailing_punctuation": "normalise"}),
            LABELS,
        )[0]
        == "Big news today folks!"
    )
    assert (
        clean_title(
            "Big news today folks?!",
            OPTS.model_copy(update={"trailing_punctuation": "normalise"}),
            LABELS,
        )[0]
        == "Big news today folks?"
    )


def test_normalise_key_ignores_case_punctuation_spacing() -> None:
    """Titles that differ only in case, punctuation or spacing share a key."""
    assert normalise_key("Stocks  Rally, as Inflation COOLS!") == normalise_key(
        "stocks rally as inflation cools"
    )
    assert normalise_key("a b") != normalise_key("a c")


def test_exact_dedupe_first_wins_and_conflicts_drop_both() -> None:
    """Repeats keep the first; a title under two labels is dropped from both and counted."""
    items = [
        Title("Same title here", "factual", "f-1"),
        Title("same title HERE!", "factual", "f-2"),
        Title("Shared across labels", "factual", "f-3"),
        Title("shared across labels", "clickbait", "c-1"),
        Title("Unique one here", "clickbait", "c-2"),
    ]
    kept, dropped = exact_dedupe(items)
    assert [t.call_id for t in kept] == ["f-1", "c-2"]
    assert dropped == Counter({"exact_duplicate": 1, "label_conflict": 2})


def test_clean_items_counts_every_drop() -> None:
    """Raw rows → cleaned titles; parse drops and cleaning drops both reach the counter."""
    spec = load_spec("clickbait")
    rows = [
        {
            "call_id": "c-0",
            "label": "clickbait",
            "titles": ["1. This Trick Will Shock You Today!", "Sure! Here are titles:"],
            "parse_dropped": {"preamble": 1},
        },
        {
            "call_id": "f-0",
            "label": "factual",
            "titles": [
                "Council approves budget for new roads.",
                "Council approves budget for new roads",
            ],
        },
    ]
    res = clean_items(rows, spec)
    assert [t.text for t in res.items] == [
        "This Trick Will Shock You Today",
        "Council approves budget for new roads",
    ]
    assert res.raw_titles == 4
    assert res.dropped == Counter({"preamble": 1, "meta": 1, "exact_duplicate": 1})


NEWS = ["World", "Sports", "Business", "Sci/Tech"]


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("World leaders meet in Paris over climate", True),
        ("Business owners protest new tax rules", True),
        ("Sports clubs face new funding rules", True),
        ("Sports: Team wins cup final in extra time", False),
        ("Business | Shares fall sharply after earnings", False),
        ("Shares fall sharply after earnings (Business)", False),
        ("Team wins the cup final - Sports", False),
        ("Storm hits coast early today #World", False),
        ("Sci/Tech: New chip unveiled by a startup", False),
    ],
)
def test_news_topic_leaks_are_tags_not_words(raw: str, kept: bool) -> None:
    """news_topic: 'World', 'Sports', 'Business' in ordinary use stay; as tags they leak."""
    title, reason = clean_title(raw, OPTS, NEWS)
    assert (title is not None) is kept, (title, reason)
    assert kept or reason == "label_leak"
