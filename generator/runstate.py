"""The state of one generation run: its resume log, the call plan, and survivors per label."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from generator.calls import CallMeta
from generator.fingerprint import FingerprintMismatch, call_components, claim_workdir
from generator.items import Title
from generator.prompting import PlannedCall, plan_call, prompt_id
from generator.rawlog import read_rows
from generator.spec import TaskSpec


class Curated(Protocol):
    """What a curate step returns: survivors in call order, drops by reason, raw title count."""

    items: list[Title]
    dropped: Counter[str]
    raw_titles: int


Curate = Callable[[Sequence[Mapping[str, Any]]], Curated]


def sort_key(spec: TaskSpec) -> Callable[[Mapping[str, Any]], tuple[int, int]]:
    """Rows in (label order, call index) order: the same order whatever the timing was."""
    order = {name: i for i, name in enumerate(spec.label_names)}
    return lambda row: (order.get(row["label"], len(order)), int(row.get("index", 0)))


class RunState:
    """One generation run: what raw.jsonl already holds, what to call next, what survived."""

    def __init__(
        self,
        spec: TaskSpec,
        model: str | None,
        workdir: Path,
        per_label: int,
        seed: int,
        curate: Curate,
        options: Mapping[str, Any] | None = None,
    ):
        """Read the resume log, claim the workdir for this run, and count what survived so far."""
        self.spec, self.model, self.per_label, self.seed, self.curate = (
            spec,
            model,
            per_label,
            seed,
            curate,
        )
        self.pid = prompt_id(spec)
        self.options = dict(options or {})
        self.raw_path = workdir / "raw.jsonl"
        self.rows = read_rows(self.raw_path)
        self._check_same_run()
        # a failed call is not done: the next run asks again (its error row stays, append-only)
        self.done = {row["call_id"] for row in self.rows if not row.get("error")}
        self.resumed = len(self.rows)
        self.calls_by_label: Counter[str] = Counter(row["label"] for row in self.rows)
        self.next_call = {label: self._pending(label) for label in spec.label_names}
        self.counted = 0  # rows covered by the last recount
        self.curated = self.recount()

    @property
    def meta(self) -> CallMeta:
        """What every row of this run carries."""
        return CallMeta(
            prompt_id=self.pid,
            seed=self.seed,
            fingerprint=self.fingerprint,
            label_names=tuple(self.spec.label_names),
            multi_label=self.spec.multi_label,
        )

    def _check_same_run(self) -> None:
        """A workdir belongs to one call fingerprint: mixing runs would corrupt the resume log."""
        components = call_components(self.spec, self.seed, self.model or None) | self.options
        self.fingerprint = claim_workdir(self.raw_path.parent, components, self.rows)
        # Rows logged before fingerprints existed: the old prompt/seed identity still applies.
        other = next(
            (
                r
                for r in self.rows
                if "fingerprint" not in r
                and (r.get("prompt_id") != self.pid or r.get("seed") != self.seed)
            ),
            None,
        )
        if other is not None:
            raise FingerprintMismatch(
                f"{self.raw_path} holds calls of another run (prompt {other.get('prompt_id')!r}, "
                f"seed {other.get('seed')!r}; this run is prompt {self.pid!r}, seed {self.seed}): "
                "use a new --workdir, or the same task spec and seed to resume."
            )

    def _pending(self, label: str) -> Iterator[PlannedCall]:
        """This label's calls in index order, skipping those already logged (gaps from a kill first)."""
        index = 0
        while True:
            call = plan_call(self.spec, label, index, self.seed)
            if call.call_id not in self.done:
                yield call
            index += 1

    def recount(self) -> Curated:
        """Curate every row so far in deterministic order."""
        ok_rows = sorted((r for r in self.rows if not r.get("error")), key=sort_key(self.spec))
        self.counted = len(self.rows)
        return self.curate(ok_rows)

    def kept(self) -> Counter[str]:
        """Survivors per label at the last recount."""
        return Counter(t.label for t in self.curated.items)

    def estimated_kept(self) -> dict[str, float]:
        """Survivors per label now: the last recount plus rows landed since, at the survival rate so far."""
        kept = self.kept()
        raw = self.curated.raw_titles
        # before any recount assume most titles survive; afterwards use what actually survived
        survival = sum(kept.values()) / raw if raw else 0.8
        fresh: Counter[str] = Counter()
        for row in self.rows[self.counted :]:
            fresh[row["label"]] += len(row.get("titles") or [])
        return {lb: kept[lb] + fresh[lb] * survival for lb in self.spec.label_names}

    def deficits(self, in_flight: Counter[str]) -> dict[str, float]:
        """Titles still missing per label, counting the expected yield of calls in flight."""
        est = self.estimated_kept()
        out = {}
        for label in self.spec.label_names:
            calls = self.calls_by_label[label]
            # expected survivors per call, from what this label has yielded so far
            expect = est[label] / calls if calls else self.spec.titles_per_call / 2
            out[label] = self.per_label - est[label] - in_flight[label] * max(expect, 0.5)
        return out
