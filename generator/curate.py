"""Curation of raw LLM rows: clean → exact dedupe → near dedupe → contamination guard, counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.clean import clean_items
from generator.items import Title
from generator.neardup import RealIndex, drop_contaminated, near_dedupe
from generator.spec import TaskSpec


@dataclass
class CurateResult:
    """Survivors of every filter, in call order, with drop counts and a few examples per reason."""

    items: list[Title]
    dropped: Counter[str]
    raw_titles: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def per_label(self) -> dict[str, int]:
        """Survivors per label."""
        return dict(Counter(t.label for t in self.items))


class Curator:
    """The `curate` step the generation loop calls to count survivors towards the quota."""

    def __init__(
        self,
        spec: TaskSpec,
        *,
        near_threshold: float = 0.8,
        real_titles: Sequence[Title] | None = None,
        seed: int = 0,
    ) -> None:
        """Fix the spec, the near-duplicate threshold and the real titles to guard against."""
        self.spec = spec
        self.near_threshold = near_threshold
        # the real titles never change: index them once, not on every recount
        self.real_index = (
            RealIndex([t.text for t in real_titles], threshold=near_threshold, seed=seed)
            if real_titles
            else None
        )
        self.seed = seed
        self.last: CurateResult | None = None

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> CurateResult:
        """Curate all raw rows so far (sorted by the caller into call order)."""
        cleaned = clean_items(rows, self.spec)
        dropped = Counter(cleaned.dropped)
        near = near_dedupe(cleaned.items, threshold=self.near_threshold, seed=self.seed)
        dropped.update(near.dropped)
        items, examples = near.kept, list(near.examples)
        if self.real_index is not None:
            items, n_contaminated, contamination_examples = drop_contaminated(
                items, self.real_index
            )
            if n_contaminated:
                dropped["contamination"] += n_contaminated
            examples += contamination_examples
        self.last = CurateResult(items, dropped, cleaned.raw_titles, examples)
        return self.last
