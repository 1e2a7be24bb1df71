"""The parser is a table of messy model outputs and the titles that must come out."""

from __future__ import annotations

import pytest

from generator.parse import parse_titles

CASES: list[tuple[str, list[str]]] = [
    # real replies of the embedded SmolLM2-135M (raw.jsonl of `generate --llm embedded --seed 1`)
    (
        '{ "titles": [ "A study reveals how a local news outlet responds to an increasing number '
        'of misinformation, using the latest data on weather and climate change \n  { "] }',
        [],
    ),
    ('{ "titles": [".{}", ".{}"] }', [".{}", ".{}"]),
    (
        '{"titles": ["]]\nSentence: {\n  ","\n}\n\n1. 2014 " ,"Pirate\'s Cove","Gangbait"',
        ["Pirate's Cove", "Gangbait"],  # cut after a closed string: that title is whole
    ),
    ('{"titles": ["A b c d", "E f g h"]}', ["A b c d", "E f g h"]),
    ('["A b c d", "E f g h"]', ["A b c d", "E f g h"]),
    ('```json\n{"titles": ["A b c d"]}\n```', ["A b c d"]),
    ('Here is the JSON:\n{"titles": ["A b c d", "E f"]}', ["A b c d", "E f"]),
    ('{"titles": [{"title": "A b c"}, {"title": "D e f"}]}', ["A b c", "D e f"]),
    ('{"headlines": ["A b c"]}', ["A b c"]),
    ('{"titles": ["A b c d", "E f g', ["A b c d"]),
    (
        '{\n "titles": [\n  "One two three",\n  "Four five six",\n  "Sev',
        ["One two three", "Four five six"],
    ),
    ('{"titles": ["A \\"quoted\\" b"]}', ['A "quoted" b']),
    ("1. First title here\n2. Second title here", ["1. First title here", "2. Second title here"]),
    (
        "Sure! Here are 2 clickbait titles:\n\n1. First one\n2. Second one",
        ["1. First one", "2. Second one"],
    ),
    ("Here are some headlines:\n- One\n- Two", ["- One", "- Two"]),
    ("Okay, here are five titles for you:\n* A\n* B", ["* A", "* B"]),
    ("1) A\n2) B\n\nNote: these are fictional.", ["1) A", "2) B"]),
    ("A\nB\n\nI hope these help!", ["A", "B"]),
    ("A\n(These headlines are examples.)", ["A"]),
    ("### Titles:\n1. A", ["1. A"]),
    ("A\n---\nB", ["A", "B"]),
    ("", []),
    ("   \n  ", []),
    ('"Title one",\n"Title two"', ["Title one", "Title two"]),
    ("Let me know if you need more.\nA title", ["A title"]),
    ("Disclaimer: fictional.\nA title", ["A title"]),
    ('{"titles": []}', []),
    ('{"titles": ["", "A b"]}', ["A b"]),
    ("Just one line title", ["Just one line title"]),
    ('{"other": 1}\nA title line', ['{"other": 1}', "A title line"]),
]


@pytest.mark.parametrize(("reply", "expected"), CASES)
def test_parse_table(reply: str, expected: list[str]) -> None:
    """Each messy reply yields exactly the expected candidate titles."""
    assert parse_titles(reply).titles == expected


def test_drops_are_counted_by_reason() -> None:
    """Preambles, notes and broken JSON are counted, never silently lost."""
    res = parse_titles("Sure! Here are 2 titles:\n1. A\n2. B\nNote: fictional.")
    assert res.dropped == {"preamble": 1, "note": 1}
    assert parse_titles('{"titles": ["A", "B').dropped["truncated_json"] == 1
    assert parse_titles(None).dropped["empty_reply"] == 1


def test_never_raises_on_garbage() -> None:
    """Binary-ish junk and odd brackets do not raise."""
    for junk in ["{{{{", "]]][[", "\x00\x01", '{"titles": [1, 2, null]}', "{" * 1000]:
        parse_titles(junk)
