"""Flow parameter models: defaults, validation messages, workdir templates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from flows.config import GenerateConfig, RealDataOptions, resolve_workdir


def test_defaults_and_json_schema_have_descriptions() -> None:
    """Every field carries a description, so the Prefect UI form explains itself."""
    cfg = GenerateConfig(workdir="runs/x")
    assert cfg.task == "clickbait" and cfg.per_label == 500 and cfg.split_ratios == (0.8, 0.1, 0.1)
    props = GenerateConfig.model_json_schema()["properties"]
    missing = [name for name, p in props.items() if not p.get("description")]
    assert missing == []


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"per_label": 0}, "per_label"),
        ({"split_ratios": (0.5, 0.5, 0.5)}, "adding up to 1"),
        ({"hub_repo": "no-slash"}, "user/name"),
        ({"private": True}, "--hub-repo"),
        ({"unknown": 1}, "unknown"),
        ({"near_dup_threshold": 1.5}, "near_dup_threshold"),
    ],
)
def test_bad_values_are_named(kwargs: dict, needle: str) -> None:
    """A bad value fails validation with a message naming the field or the fix."""
    with pytest.raises(ValidationError) as exc:
        GenerateConfig(workdir="runs/x", **kwargs)
    assert needle in str(exc.value)


def test_real_data_options_forbid_extra() -> None:
    """Typos in nested options are errors, not silently ignored."""
    with pytest.raises(ValidationError):
        RealDataOptions(source="x.csv", text_colum="t")  # type: ignore[call-arg]


def test_resolve_workdir_fills_date_placeholders() -> None:
    """Scheduled runs get one directory per day / per trigger."""
    now = datetime(2026, 11, 23, 4, 5, 6, tzinfo=UTC)
    assert resolve_workdir("runs/cb-{date}", now) == "runs/cb-2026-11-23"
    assert resolve_workdir("runs/m-{datetime}", now) == "runs/m-20261123T040506"
    assert resolve_workdir("runs/plain", now) == "runs/plain"


def test_advice_names_deployment_parameters_inside_a_deployment() -> None:
    """A CLI flag in a message becomes the parameter a deployment's user sets in the UI form."""
    from flows.advice import for_deployment

    msg = "Run `ollama pull phi3` there, or pass --model; raise --timeout, or another --workdir."
    out = for_deployment(msg)
    assert "--" not in out
    assert "pass `model` (a deployment parameter)" in out
    assert "raise `timeout_s` (a deployment parameter)" in out
    assert "another `workdir` (a deployment parameter)" in out and "`ollama pull phi3`" in out


def test_the_embedded_models_call_budget_covers_its_measured_yield() -> None:
    """SmolLM2-135M kept 24 clickbait titles from 40 calls of 10: the budget must outlast that."""
    from flows.generate import call_budget
    from generator.spec import load_spec

    spec = load_spec("clickbait")
    embedded = GenerateConfig(workdir="runs/x", llm="embedded", per_label=30)
    # the measured worst label: 0.6 kept titles per call, for both labels
    needed = 2 * -(-30 * 40 // 24)
    assert call_budget(embedded, spec) >= 1.5 * needed
    assert call_budget(GenerateConfig(workdir="runs/x", per_label=30), spec) is None  # quota-sized
    explicit = GenerateConfig(workdir="runs/x", llm="embedded", per_label=30, max_calls=7)
    assert call_budget(explicit, spec) == 7  # the user's --max-calls wins
