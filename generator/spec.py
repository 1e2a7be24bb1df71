"""Task specs: the YAML files in prompts/ loaded into validated pydantic models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from generator.items import TitleforgeError

REPO_ROOT = Path(__file__).resolve().parents[1]


class SpecError(TitleforgeError):
    """A task spec that cannot be loaded; the message names the file, the field and the fix."""


class LabelSpec(BaseModel):
    """One class of the task."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Label name as it appears in the dataset.")
    description: str = Field(min_length=1, description="What titles of this label look like.")
    examples: list[str] = Field(default_factory=list, description="Optional few-shot examples.")


class Templates(BaseModel):
    """Jinja templates of the prompt, relative to the spec file."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(description="System prompt template path.")
    user: str = Field(description="User prompt template path.")


class GenerationOptions(BaseModel):
    """LLM options for every call."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("phi3", description="Ollama model name.")
    temperature: float = Field(0.9, ge=0, le=2, description="Sampling temperature.")
    seed: int = Field(0, description="Base seed; each call derives its own from it.")
    num_predict: int = Field(600, ge=16, description="Max tokens per reply.")


class CleanOptions(BaseModel):
    """How titles are cleaned and which are rejected."""

    model_config = ConfigDict(extra="forbid")

    min_words: int = Field(3, ge=1, description="Shorter titles are dropped (too_short).")
    max_words: int = Field(30, ge=1, description="Longer titles are dropped (too_long).")
    max_chars: int = Field(
        300,
        ge=20,
        description="Raw titles longer than this many characters are dropped before any other "
        "step (over_long): a runaway reply is not a title.",
    )
    trailing_punctuation: Literal["strip", "normalise", "keep"] = Field(
        "strip",
        description="strip: drop trailing '.', '!' and '!!'-runs (keep a single '?'); "
        "normalise: collapse '!!'/'?!' to one mark; keep: leave as written.",
    )
    strip_emoji: bool = Field(True, description="Remove emojis.")
    strip_hashtags: bool = Field(True, description="Remove #hashtags.")
    label_words: list[str] = Field(
        default_factory=list,
        description="Extra words that leak the label (label names are always included).",
    )

    @field_validator("max_words")
    @classmethod
    def _max_at_least_min(cls, v: int, info: object) -> int:
        """max_words must not be below min_words."""
        lo = getattr(info, "data", {}).get("min_words", 1)
        if v < lo:
            raise ValueError(f"max_words {v} is below min_words {lo}")
        return v


class TaskSpec(BaseModel):
    """A task: labels, prompt templates, diversity attributes and generation options."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Task name.")
    description: str = Field(min_length=1, description="One sentence on what is classified.")
    version: int = Field(1, ge=1, description="Bump when the prompt changes.")
    license: str = Field("cc-by-4.0", description="Licence of the generated dataset.")
    labels: list[LabelSpec] = Field(description="At least two labels.")
    templates: Templates = Field(description="Prompt templates.")
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Diversity attributes sampled into each prompt."
    )
    titles_per_call: int = Field(10, ge=1, le=100, description="Titles asked for per call.")
    multi_label: bool = Field(
        False,
        description="Each title carries a set of labels (themes that co-occur), not exactly one.",
    )
    max_labels: int = Field(
        3,
        ge=1,
        le=10,
        description="multi_label: most labels one call asks its titles to combine.",
    )
    generation: GenerationOptions = Field(
        default_factory=GenerationOptions, description="LLM options."
    )
    cleaning: CleanOptions = Field(default_factory=CleanOptions, description="Cleaning options.")
    guidance: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Extra prompt lines per label; feedback rounds fill it from the last round's "
        "mistakes on real data.",
    )
    base_dir: Path = Field(
        REPO_ROOT / "prompts", exclude=True, description="Folder of the spec file."
    )

    @field_validator("labels")
    @classmethod
    def _labels_distinct(cls, v: list[LabelSpec]) -> list[LabelSpec]:
        """At least two labels, no duplicates."""
        names = [lb.name for lb in v]
        if len(names) < 2:
            raise ValueError(f"needs at least two labels, got {names}")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate label names {dupes}")
        return v

    @field_validator("attributes")
    @classmethod
    def _attributes_non_empty(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        """Every attribute needs values to sample from."""
        empty = [k for k, vals in v.items() if not vals]
        if empty:
            raise ValueError(f"attributes {empty} have no values")
        return v

    @property
    def label_names(self) -> list[str]:
        """Label names in spec order."""
        return [lb.name for lb in self.labels]

    def template_path(self, which: Literal["system", "user"]) -> Path:
        """Absolute path of a template."""
        return (self.base_dir / getattr(self.templates, which)).resolve()


def prompts_dir() -> Path:
    """The folder bare task names resolve in (TITLEFORGE_PROMPTS_DIR overrides)."""
    return Path(os.environ.get("TITLEFORGE_PROMPTS_DIR", REPO_ROOT / "prompts"))


def _resolve(name_or_path: str, folder: Path) -> Path:
    """A task name from the prompts folder, or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.exists():
            raise SpecError(f"Task spec {name_or_path!r} does not exist: check the path.")
        return path
    candidate = folder / f"{name_or_path}.yaml"
    if not candidate.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise SpecError(
            f"Unknown task {name_or_path!r}: pass one of {known} (from {folder}) or a path to a YAML spec."
        )
    return candidate


def load_spec(name_or_path: str, folder: Path | None = None) -> TaskSpec:
    """Load and validate a task spec by name or path; errors name the file, field and fix."""
    path = _resolve(name_or_path, folder or prompts_dir())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(
            f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}. Fix the syntax."
        ) from None
    if not isinstance(raw, dict):
        raise SpecError(
            f"{path}: expected a mapping of fields (name, labels, templates, …), got {type(raw).__name__}."
        )
    try:
        spec = TaskSpec(**raw, base_dir=path.parent.resolve())
    except ValidationError as exc:
        problems = "; ".join(
            f"{' -> '.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise SpecError(
            f"{path}: {problems}. See prompts/clickbait.yaml for a valid spec."
        ) from None
    # templates are read and sent to the LLM: only from the task's own folder or prompts/
    allowed = [path.parent.resolve(), prompts_dir().resolve(), (REPO_ROOT / "prompts").resolve()]
    for which in ("system", "user"):
        resolved = spec.template_path(which)  # type: ignore[arg-type]
        if not any(resolved.is_relative_to(root) for root in allowed):
            raise SpecError(
                f"{path}: templates -> {which}: {getattr(spec.templates, which)!r} resolves to "
                f"{resolved}, outside the task file's folder and prompts/: keep the templates "
                f"beside the task file (or below {prompts_dir()})."
            )
    for which in ("system", "user"):
        if not spec.template_path(which).exists():  # type: ignore[arg-type]
            raise SpecError(
                f"{path}: templates -> {which}: file {spec.template_path(which)} not found. "  # type: ignore[arg-type]
                "Paths are relative to the spec file."
            )
    return spec
