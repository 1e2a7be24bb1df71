"""Generation with quotas: concurrent LLM calls until every label has enough surviving titles."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from generator.atomic import write_atomic
from generator.backend import BackendError, LLMBackend
from generator.calls import Caller, CallOutcome, ThreadCaller
from generator.clean import clean_items
from generator.items import Title, TitleforgeError
from generator.rawlog import RawLog
from generator.runstate import Curate, RunState
from generator.spec import TaskSpec


class GenerationBudgetExceeded(TitleforgeError):
    """The call budget ran out before every label reached its quota."""

    exit_code = 1  # the LLM's yield, not the user's input


@dataclass
class GenerationResult:
    """The quota-sized titles and everything the report needs to say how they were obtained."""

    items: list[Title]
    dropped: Counter[str]
    raw_titles: int
    per_label: dict[str, int]
    calls_total: int = 0
    calls_new: int = 0
    calls_resumed: int = 0
    calls_failed: int = 0
    eval_tokens: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    torn_lines: int = 0  # a kill mid-write: set aside to raw.torn.jsonl and the call redone
    kept_rate: dict[str, dict[str, Any]] = field(default_factory=dict)


def default_max_calls(spec: TaskSpec, per_label: int, margin: int = 6) -> int:
    """A budget that survives a `margin` times worse yield than asked for, but stops a broken prompt."""
    per_call = max(1, spec.titles_per_call)
    return -(-per_label * len(spec.labels) // per_call) * margin + 20


def select_quota(items: Sequence[Title], labels: Sequence[str], per_label: int) -> list[Title]:
    """The first `per_label` survivors of each label, in call order."""
    taken: Counter[str] = Counter()
    out = []
    for item in items:
        if item.label in labels and taken[item.label] < per_label:
            taken[item.label] += 1
            out.append(item)
    return out


def _atomic_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write a derived JSONL file via a temp file and rename (never half-written)."""
    write_atomic(path, "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records))


def _default_curate(spec: TaskSpec) -> Curate:
    """Clean + exact dedupe (near dedupe is plugged in by the flow)."""
    return lambda rows: clean_items(rows, spec)


def generate_titles(
    spec: TaskSpec,
    backend: LLMBackend,
    workdir: Path,
    *,
    per_label: int,
    seed: int = 0,
    concurrency: int = 4,
    max_calls: int | None = None,
    curate: Curate | None = None,
    on_progress: Callable[[dict[str, int], int], None] | None = None,
    show_progress: bool = True,
    options: Mapping[str, Any] | None = None,
    caller: Caller | None = None,
) -> GenerationResult:
    """Call the LLM until every label has `per_label` survivors; resumable from DIR/raw.jsonl.

    `options`: the caller's data-shaping options (dedupe, balance, split…), added to the run's
    fingerprint so a re-run with other values is refused rather than mixed.
    `caller`: where the calls run (default: `concurrency` threads here; generator.cluster runs
    them on Dask workers). Rows come back here and this process alone writes raw.jsonl.
    """
    if per_label < 1:
        raise TitleforgeError(f"per_label must be at least 1, got {per_label}.")
    workdir.mkdir(parents=True, exist_ok=True)
    model = getattr(backend, "model", None)
    run = RunState(spec, model, workdir, per_label, seed, curate or _default_curate(spec), options)
    budget = max_calls if max_calls is not None else default_max_calls(spec, per_label)
    in_flight: Counter[str] = Counter()
    futures: dict[Future[CallOutcome], str] = {}
    fatal: BackendError | None = None
    # the budget counts answered calls and this run's failures; old failures are retried, not billed
    spent = len(run.done)
    new_calls = 0
    # a live bar only makes sense on a terminal; in logs it becomes walls of redraws
    progress = _progress_bar(spec, per_label) if show_progress and sys.stderr.isatty() else None
    bars = (
        {lb: progress.add_task(lb, total=per_label) for lb in spec.label_names} if progress else {}
    )

    def report() -> None:
        kept = run.kept()
        for lb, tid in bars.items():
            progress.update(tid, completed=min(kept[lb], per_label))  # type: ignore[union-attr]
        if on_progress:
            on_progress({lb: kept[lb] for lb in spec.label_names}, len(run.rows))

    own_caller = caller is None
    calls = caller or ThreadCaller(backend, concurrency)
    meta = run.meta
    last_count, count_cost = time.monotonic(), 0.0
    torn = 0
    if progress:
        progress.start()
    try:
        with RawLog(run.raw_path) as log:
            torn = log.torn
            report()
            while True:
                # fill free slots, neediest label first, while the budget lasts
                while (
                    fatal is None and len(futures) < concurrency and spent + len(futures) < budget
                ):
                    need = {lb: d for lb, d in run.deficits(in_flight).items() if d > 0}
                    if not need:
                        break
                    label = max(need, key=lambda lb: (need[lb], -spec.label_names.index(lb)))
                    planned = next(run.next_call[label])
                    futures[calls.submit(planned, meta)] = label
                    in_flight[label] += 1
                if not futures:
                    break
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    label = futures.pop(fut)
                    in_flight[label] -= 1
                    row, err = fut.result()
                    log.append(row)
                    run.rows.append(row)
                    run.calls_by_label[label] += 1
                    new_calls += 1
                    spent += 1
                    fatal = fatal or err
                # recounting is the loop's CPU cost: skip it while calls are still landing fast
                if not futures or time.monotonic() - last_count >= max(0.5, 2 * count_cost):
                    t_count = time.monotonic()
                    run.curated = run.recount()
                    last_count, count_cost = time.monotonic(), time.monotonic() - t_count
                    report()
    finally:
        # an outside caller (a cluster) outlives this run: only drop this run's calls
        if own_caller:
            calls.close()
        for fut in futures:
            fut.cancel()
        if progress:
            progress.stop()
    if fatal is not None:
        raise fatal
    kept = run.kept()
    missing = {lb: per_label - kept[lb] for lb in spec.label_names if kept[lb] < per_label}
    errors = Counter(str(r["error"]).split(":")[0][:80] for r in run.rows if r.get("error"))
    if missing:
        top = ", ".join(f"{k} {v}" for k, v in run.curated.dropped.most_common(5)) or "none"
        raise GenerationBudgetExceeded(
            f"Call budget of {budget} used up with titles still missing per label {missing} "
            f"(kept {dict(kept)}; top drop reasons: {top}; failed calls: {sum(errors.values())}). "
            f"The prompt may be broken: see {run.raw_path}. Raise --max-calls if the yield is just low."
        )
    items = select_quota(run.curated.items, spec.label_names, per_label)
    _atomic_jsonl(
        workdir / "clean.jsonl",
        [
            {"text": t.text, "label": t.label, "call_id": t.call_id}
            | ({"labels": list(t.labels)} if t.labels else {})
            for t in items
        ],
    )
    dropped = Counter(run.curated.dropped)
    surplus = len(run.curated.items) - len(items)
    if surplus:
        dropped["surplus_over_quota"] += surplus
    return GenerationResult(
        items=items,
        dropped=dropped,
        raw_titles=run.curated.raw_titles,
        per_label=dict(Counter(t.label for t in items)),
        calls_total=len(run.rows),
        calls_new=new_calls,
        calls_resumed=run.resumed,
        calls_failed=sum(errors.values()),
        eval_tokens=sum(int(r.get("eval_count") or 0) for r in run.rows),
        errors=errors,
        torn_lines=torn,
        kept_rate=kept_rates(run.rows, run.kept(), spec.label_names),
    )


def kept_rates(
    rows: Sequence[Mapping[str, Any]], kept: Counter[str], labels: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per label: titles the LLM wrote, titles that survived curation (before the quota), rate."""
    raw: Counter[str] = Counter()
    for row in rows:
        if not row.get("error"):
            raw[row["label"]] += len(row.get("titles") or [])
    # the rate shows whether a filter is unfair to one label (e.g. a leak rule hitting its name)
    return {
        lb: {
            "raw": raw[lb],
            "kept": kept[lb],
            "rate": round(kept[lb] / raw[lb], 3) if raw[lb] else None,
        }
        for lb in labels
    }


def _progress_bar(spec: TaskSpec, per_label: int) -> Progress:
    """A rich bar per label: titles kept towards the quota."""
    return Progress(
        TextColumn("[bold]{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )


def dataset_summary(result: GenerationResult) -> dict[str, Any]:
    """The report.json `dataset` keys known after generation (splits are added later)."""
    return {
        "raw_titles": result.raw_titles,
        "kept": len(result.items),
        "dropped": dict(result.dropped.most_common()),
        "per_label": result.per_label,
        "calls": {
            "total": result.calls_total,
            "new": result.calls_new,
            "resumed": result.calls_resumed,
            "failed": result.calls_failed,
        },
        "eval_tokens": result.eval_tokens,
        "torn_lines": result.torn_lines,
        "kept_rate": result.kept_rate,
    }
