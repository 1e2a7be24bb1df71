"""Task specs load into models; bad specs fail with the file, the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from generator.prompting import plan_call, prompt_id
from generator.spec import SpecError, load_spec

GOOD = Path(__file__).resolve().parents[2] / "prompts" / "clickbait.yaml"


def test_both_shipped_specs_load() -> None:
    """clickbait and news_topic load by name with their labels."""
    assert load_spec("clickbait").label_names == ["clickbait", "factual"]
    assert load_spec("news_topic").label_names == ["World", "Sports", "Business", "Sci/Tech"]


def _write(tmp_path: Path, mutate) -> Path:
    """A copy of the good spec with one change, templates resolved beside it."""
    data = yaml.safe_load(GOOD.read_text())
    data["templates"] = {k: str(GOOD.parent / v) for k, v in data["templates"].items()}
    mutate(data)
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "needles"),
    [
        (lambda d: d["labels"][0].pop("name"), ["labels -> 0 -> name", "Field required"]),
        (lambda d: d.update(labels=d["labels"][:1]), ["at least two labels"]),
        (lambda d: d["labels"].append(dict(d["labels"][0])), ["duplicate label"]),
        (lambda d: d.update(titles_per_call=0), ["titles_per_call"]),
        (lambda d: d.update(colour="blue"), ["colour", "Extra inputs"]),
        (lambda d: d["templates"].update(user="nope.j2"), ["templates -> user", "not found"]),
        (lambda d: d["cleaning"].update(min_words=10, max_words=5), ["max_words"]),
    ],
)
def test_bad_spec_errors_name_file_field_fix(tmp_path: Path, mutate, needles: list[str]) -> None:
    """The message quotes the file and the field."""
    path = _write(tmp_path, mutate)
    with pytest.raises(SpecError) as exc:
        load_spec(str(path))
    msg = str(exc.value)
    assert str(path) in msg
    for needle in needles:
        assert needle in msg


def test_unknown_name_lists_tasks_and_yaml_errors_give_line(tmp_path: Path) -> None:
    """An unknown name lists the available tasks; broken YAML names the line."""
    with pytest.raises(SpecError, match=r"clickbait.*news_topic"):
        load_spec("nosuchtask")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlabels: [\n")
    with pytest.raises(SpecError, match="line"):
        load_spec(str(bad))


def test_plan_is_deterministic_and_prompt_has_the_contract_lines() -> None:
    """Same (seed, label, index) → same prompt and options; the prompt names the category and count."""
    spec = load_spec("clickbait")
    a, b = plan_call(spec, "factual", 7, 1), plan_call(spec, "factual", 7, 1)
    assert a == b
    assert plan_call(spec, "factual", 8, 1).options["seed"] != a.options["seed"]
    assert "Category: factual" in a.prompt and "Write 10 different news titles" in a.prompt
    assert a.call_id.startswith("factual-") and a.call_id.endswith("-000007")
    assert prompt_id(spec).startswith("clickbait/titles_v1@")


def test_missing_template_variable_fails_loudly(tmp_path: Path) -> None:
    """StrictUndefined: a typo in a template is an error, not an empty string."""
    (tmp_path / "s.j2").write_text("sys")
    (tmp_path / "u.j2").write_text("Category: {{ label.name }} {{ lable }}")
    data = yaml.safe_load(GOOD.read_text())
    data["templates"] = {"system": "s.j2", "user": "u.j2"}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    spec = load_spec(str(tmp_path / "t.yaml"))
    with pytest.raises(SpecError, match="lable"):
        plan_call(spec, "clickbait", 0, 0)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    """A template cannot reach Python internals."""
    (tmp_path / "s.j2").write_text("{{ label.__class__.__mro__[1].__subclasses__() }}")
    (tmp_path / "u.j2").write_text("Category: {{ label.name }}")
    data = yaml.safe_load(GOOD.read_text())
    data["templates"] = {"system": "s.j2", "user": "u.j2"}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError):
        plan_call(load_spec(str(tmp_path / "t.yaml")), "clickbait", 0, 0)


@pytest.mark.parametrize("labels", [["C", "C++", "C#"], ["体育", "政治"], ["Sci/Tech", "Sci Tech"]])
def test_slugs_never_collide(labels: list[str]) -> None:
    """Labels that differ only in punctuation, or are not Latin, get distinct slugs and call ids."""
    from generator.prompting import label_slug

    slugs = [label_slug(lb) for lb in labels]
    assert len(set(slugs)) == len(labels)
    assert all(re.fullmatch(r"[a-z0-9-]+", s) for s in slugs)
    assert label_slug(labels[0]) == slugs[0]  # stable: resume depends on it


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../etc/passwd"])
def test_templates_outside_the_task_folder_are_refused(tmp_path: Path, target: str) -> None:
    """A task file pointing its templates at /etc/passwd is a SpecError naming the field."""
    data = yaml.safe_load(GOOD.read_text())
    data["templates"] = {"system": target, "user": target}
    spec = tmp_path / "evil.yaml"
    spec.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"templates -> system: .*outside the task file's folder"):
        load_spec(str(spec))
