"""Run identity: a hash of everything that shapes the LLM calls, kept with its components.

What is in it, and why:
- task templates (system, user) by content, labels with descriptions and examples, diversity
  attributes, titles per call, spec version: they are the prompt;
- LLM model, temperature, num_predict and the run seed: they decide each reply;
So two runs with one fingerprint ask the same questions with the same per-call seeds, and their
raw.jsonl rows may be mixed (that is what resuming does).  The task's cleaning options
and the flow's dedupe, neutralise, balance, split and real-data options shape the dataset from
those calls: they are in it too (the flow passes them), so a changed value is refused rather than
quietly giving another dataset in the same directory. Left out on purpose: the quota (`per_label`:
a higher quota resumes the same call stream further).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from generator.items import TitleforgeError
from generator.spec import TaskSpec

FINGERPRINT_FILE = "fingerprint.json"


class FingerprintMismatch(TitleforgeError):
    """A run directory holds calls made with other options (a user error: exit 2)."""

    exit_code = 2


def _sha(data: bytes) -> str:
    """Short sha256 hex of bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def call_components(spec: TaskSpec, seed: int, model: str | None = None) -> dict[str, Any]:
    """Every option that shapes the LLM calls, by name (templates by content hash)."""
    gen = spec.generation
    return {
        "task": spec.name,
        "version": spec.version,
        "system_template": _sha(spec.template_path("system").read_bytes()),  # type: ignore[arg-type]
        "user_template": _sha(spec.template_path("user").read_bytes()),  # type: ignore[arg-type]
        "labels": [label.model_dump() for label in spec.labels],
        "attributes": spec.attributes,
        "titles_per_call": spec.titles_per_call,
        "cleaning": spec.cleaning.model_dump(mode="json"),
        "guidance": spec.guidance,
        "model": model or gen.model,
        "temperature": gen.temperature,
        "num_predict": gen.num_predict,
        "seed": seed,
        # call ids became `<slug>-<hash>-<index>`: rows written before cannot be matched up
        "call_ids": 2,
    }


def fingerprint_of(components: dict[str, Any]) -> str:
    """The hash of the components (key order does not matter)."""
    return _sha(json.dumps(components, sort_keys=True, ensure_ascii=False).encode())


def changed_options(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Names of the components whose values differ between two runs."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def read_fingerprint(workdir: Path) -> dict[str, Any] | None:
    """The stored {'fingerprint', 'components'} of a run directory, or None."""
    path = workdir / FINGERPRINT_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def claim_workdir(workdir: Path, components: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """Bind a run directory to these options; refuse, naming what changed, if it holds other calls."""
    fp = fingerprint_of(components)
    stored = read_fingerprint(workdir)
    if stored is not None and stored.get("fingerprint") != fp:
        names = ", ".join(changed_options(stored.get("components", {}), components)) or "unknown"
        raise FingerprintMismatch(
            f"{workdir} holds LLM calls made with other options (changed: {names}; fingerprint "
            f"{stored.get('fingerprint')} there, {fp} now), and mixing them would corrupt the "
            "dataset. Either start a new run directory (another --workdir; in a deployment, "
            "another `workdir` parameter), or go back to the options stored in "
            f"{workdir / FINGERPRINT_FILE} to resume."
        )
    # A directory from before fingerprints: its rows must carry no other fingerprint either.
    other = next((r for r in rows if r.get("fingerprint") not in (None, fp)), None)
    if other is not None:
        raise FingerprintMismatch(
            f"{workdir / 'raw.jsonl'} holds calls of another run (fingerprint "
            f"{other['fingerprint']}, this run {fp}): use a new --workdir to start afresh."
        )
    if stored is None:
        workdir.mkdir(parents=True, exist_ok=True)
        payload = {"fingerprint": fp, "components": components}
        (workdir / FINGERPRINT_FILE).write_text(
            json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8"
        )
    return fp
