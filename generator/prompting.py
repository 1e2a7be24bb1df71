"""Prompt rendering (sandboxed Jinja, strict) and the deterministic plan of every LLM call."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from generator.multilabel import label_set
from generator.spec import SpecError, TaskSpec

TITLES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"titles": {"type": "array", "items": {"type": "string"}}},
    "required": ["titles"],
}


@dataclass(frozen=True)
class PlannedCall:
    """Everything needed to make (or skip, on resume) one LLM call."""

    call_id: str
    label: str
    index: int
    prompt: str
    system: str
    attributes: dict[str, str]
    options: dict[str, Any]
    labels: tuple[str, ...] = ()  # multi-label tasks: the label set this call asks for


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    """A sandboxed environment: templates are data and may not reach Python internals."""
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


def _render(path: Path, context: dict[str, Any]) -> str:
    """Render one template; a missing variable fails loudly with the template's name."""
    try:
        return _env().from_string(path.read_text(encoding="utf-8")).render(**context).strip()
    except UndefinedError as exc:
        raise SpecError(
            f"{path}: {exc.message}. Add the variable or fix its name in the template."
        ) from None
    except TemplateError as exc:
        raise SpecError(f"{path}: template error: {exc}. Fix the template.") from None


def prompt_id(spec: TaskSpec) -> str:
    """Task, template version and a hash of everything that shapes the prompt."""
    h = hashlib.sha256()
    for which in ("system", "user"):
        h.update(spec.template_path(which).read_bytes())  # type: ignore[arg-type]
    shape = spec.model_dump(
        include={"labels", "attributes", "titles_per_call", "generation", "version", "guidance"}
    )
    if spec.multi_label:  # only then: single-label tasks keep the ids of their published data
        shape |= spec.model_dump(include={"multi_label", "max_labels"})
    h.update(json.dumps(shape, sort_keys=True).encode())
    return f"{spec.name}/{Path(spec.templates.user).name.split('.')[0]}@{h.hexdigest()[:12]}"


def label_slug(label: str) -> str:
    """A label made safe for ids and file names, unique per label ("Sci/Tech" → "sci-tech-1a2b3c").

    The readable part alone collides ("C", "C++" and "C#" are all "c"; "体育" and "政治" are
    empty), so a short hash of the exact label keeps every label's calls apart.
    """
    readable = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "label"
    return f"{readable}-{hashlib.sha256(label.encode('utf-8')).hexdigest()[:6]}"


def _derived_seed(seed: int, label: str, index: int) -> int:
    """A stable 31-bit seed per (run seed, label, call index): same plan on every restart."""
    digest = hashlib.sha256(f"{seed}|{label}|{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def plan_call(spec: TaskSpec, label: str, index: int, seed: int) -> PlannedCall:
    """The index-th call for a label: attributes and LLM seed derived from the run seed."""
    lab = next((lb for lb in spec.labels if lb.name == label), None)
    if lab is None:
        raise SpecError(
            f"Label {label!r} is not in task {spec.name!r}: use one of {spec.label_names}."
        )
    call_seed = _derived_seed(seed, label, index)
    rng = random.Random(call_seed)
    attributes = {k: rng.choice(v) for k, v in sorted(spec.attributes.items())}
    wanted = label_set(spec, label, rng) if spec.multi_label else ()
    context = {
        "task": spec,
        "label": lab,
        "labels": spec.labels,
        "n": spec.titles_per_call,
        "attributes": attributes,
        "guidance": spec.guidance.get(label, []),
        "label_set": [lb for lb in spec.labels if lb.name in wanted],
    }
    gen = spec.generation
    return PlannedCall(
        call_id=f"{label_slug(label)}-{index:06d}",
        label=label,
        index=index,
        prompt=_render(spec.template_path("user"), context),
        system=_render(spec.template_path("system"), context),
        attributes=attributes,
        options={"temperature": gen.temperature, "seed": call_seed, "num_predict": gen.num_predict},
        labels=wanted,
    )
