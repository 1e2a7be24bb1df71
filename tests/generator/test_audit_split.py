"""Shortcut audit, neutralising, balancing, the group-aware split and the saved DatasetDict + card."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
import yaml
from datasets import load_from_disk

from generator.audit import audit, format_flags, neutralise
from generator.card import CardInfo, render_card
from generator.dataset import build_dataset_dict, save_dataset
from generator.items import Title, TitleforgeError
from generator.neardup import neighbourhoods
from generator.spec import load_spec
from generator.split import balance, split
from tests.fakes.titles import make_title


def _raw(n: int, bang: bool, seed: int = 0) -> list[Title]:
    """Fake titles; clickbait ends in '!' when `bang`, as Phi-3 does."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(Title(make_title("clickbait", rng) + ("!" if bang else ""), "clickbait"))
        out.append(Title(make_title("factual", rng), "factual"))
    return out


def test_trailing_bang_is_flagged_on_raw_and_not_after_cleaning() -> None:
    """The audit names ends_exclaim on raw titles, and not once it is stripped."""
    raw = audit(_raw(150, bang=True))
    assert "ends_exclaim" in {f["feature"] for f in raw["flags"]}
    assert raw["features"]["ends_exclaim"] == {"clickbait": 1.0, "factual": 0.0}
    assert raw["shortcut_probe_accuracy"] > 0.9 and raw["chance"] == 0.5
    clean = audit(_raw(150, bang=False))
    assert "ends_exclaim" not in {f["feature"] for f in clean["flags"]}
    assert any("ends_exclaim" in line for line in format_flags(raw))


def test_real_drift_is_flagged() -> None:
    """A feature common in real data but absent from synthetic data is drift."""
    syn = _raw(100, bang=False)
    real = [Title(t.text + "?", t.label) for t in _raw(50, bang=False, seed=5)]
    flags = audit(syn, real_items=real)["flags"]
    assert any(f["kind"] == "real_drift" and f["feature"] == "ends_question" for f in flags)


def test_neutralise_removes_the_shortcut() -> None:
    """Neutralising strips the flagged trailing '!' until the probe no longer sees it."""
    items = _raw(100, bang=True)
    fixed, actions = neutralise(items, audit(items))
    assert actions and not any(t.text.endswith("!") for t in fixed)
    assert "ends_exclaim" not in {f["feature"] for f in audit(fixed)["flags"]}


def test_balance_and_group_split() -> None:
    """Balanced labels; stratified 80/10/10; groups never straddle splits; seeded."""
    items = _raw(200, bang=False)[:-30]
    bal = balance(items, seed=1)
    counts = Counter(t.label for t in bal)
    assert counts["clickbait"] == counts["factual"]
    groups = neighbourhoods(bal)
    parts = split(bal, groups, seed=1)
    sizes = {k: len(v) for k, v in parts.items()}
    assert (
        abs(sizes["train"] / len(bal) - 0.8) < 0.05
        and sizes["test"] > 0
        and sizes["validation"] > 0
    )
    where = {}
    for name, part in parts.items():
        for t in part:
            where[t.text] = name
    for g in set(groups):
        assert len({where[bal[i].text] for i, gi in enumerate(groups) if gi == g}) == 1
    assert parts == split(bal, groups, seed=1)
    with pytest.raises(TitleforgeError, match="at least 3"):
        split(bal[:2], [0, 1])


def test_dataset_dict_and_card_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """save_to_disk with a ClassLabel over the task's labels; the card's YAML parses and holds no token."""
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    spec = load_spec("clickbait")
    items = _raw(20, bang=False)
    parts = split(items, list(range(len(items))), seed=0)
    dd = build_dataset_dict(parts, spec.label_names)
    summary = {
        "splits": {k: len(v) for k, v in parts.items()},
        "raw_titles": 50,
        "kept": 40,
        "dropped": {"near_duplicate": 10},
    }
    card = render_card(
        CardInfo.from_run(spec, "clickbait/titles_v1@abc", "phi3", summary, audit(items), None)
    )
    save_dataset(dd, card, tmp_path / "dataset")
    back = load_from_disk(str(tmp_path / "dataset"))
    assert set(back) == {"train", "validation", "test"}
    assert back["train"].features["label"].names == ["clickbait", "factual"]
    text = (tmp_path / "dataset" / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["task_categories"] == ["text-classification"] and meta["titleforge"][
        "prompt_id"
    ].endswith("@abc")
    assert "near_duplicate" in text and "hf_secret_value_123" not in text


def test_four_labels_flag_the_label_a_feature_marks() -> None:
    """news_topic-like: '!' on 60% of Sports titles only: one flag, for Sports, one-vs-rest."""
    from generator.audit import audit as run_audit

    items = []
    for lb in ("World", "Sports", "Business", "Sci/Tech"):
        for i in range(50):
            bang = lb == "Sports" and i % 5 < 3
            items.append(Title(f"{lb} story number {i} about things{'!' if bang else ''}", lb))
    flags = [f for f in run_audit(items)["flags"] if f["feature"] == "ends_exclaim"]
    assert [f["label"] for f in flags] == ["Sports"]
    assert flags[0]["rates"]["Sports"] == 0.6 and flags[0]["rest_rate"] == 0.0
    assert flags[0]["probe_accuracy"] >= 0.85  # '!' alone tells Sports from the rest
