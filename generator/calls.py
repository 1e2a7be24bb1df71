"""One LLM call as one raw row: the unit of work a local thread or a Dask worker runs."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from generator.backend import BackendError, BackendUnavailable, LLMBackend
from generator.multilabel import labelled_schema, parse_labelled
from generator.parse import parse_titles
from generator.prompting import TITLES_SCHEMA, PlannedCall

# what a call returns: its raw row, and the error that must stop the run (None when it may go on)
CallOutcome = tuple[dict[str, Any], BackendError | None]


@dataclass(frozen=True)
class CallMeta:
    """What every raw row of one run carries besides the call itself."""

    prompt_id: str
    seed: int
    fingerprint: str
    label_names: tuple[str, ...] = ()
    multi_label: bool = False  # replies carry a label set per title


class Caller(Protocol):
    """Where calls run: this process's threads, or a Dask cluster (generator.cluster)."""

    def submit(self, planned: PlannedCall, meta: CallMeta) -> Future[CallOutcome]:
        """Start one call; its future holds the raw row and the run-stopping error, if any."""
        ...

    def close(self) -> None:
        """Cancel calls not yet started; never waits for those in flight."""
        ...


def run_call(backend: LLMBackend, planned: PlannedCall, meta: CallMeta) -> CallOutcome:
    """Run one call and build its raw row; errors become rows too (pure apart from the call)."""
    started = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "call_id": planned.call_id,
        "label": planned.label,
        "index": planned.index,
        "prompt_id": meta.prompt_id,
        "seed": meta.seed,
        "fingerprint": meta.fingerprint,
        "prompt": planned.prompt,
        "system": planned.system,
        "attributes": planned.attributes,
        "options": planned.options,
        "model": getattr(backend, "model", ""),
        "started_at": started,
    }
    fatal = None
    try:
        multi = meta.multi_label
        schema = labelled_schema(list(meta.label_names)) if multi else TITLES_SCHEMA
        done = backend.generate(
            planned.prompt, system=planned.system, schema=schema, options=planned.options
        )
        parsed = parse_labelled(done.text, list(meta.label_names)) if multi else None
        if parsed is not None:
            row |= {"requested_labels": list(planned.labels), "label_sets": parsed.label_sets}
        else:
            parsed = parse_titles(done.text)
        row |= {
            "response": done.text,
            "titles": parsed.titles,
            "parse_dropped": dict(parsed.dropped),
            "model": done.model,
            "host": done.host,
            "error": None,
            "eval_count": done.eval_count,
            "prompt_eval_count": done.prompt_eval_count,
        }
    except BackendUnavailable as exc:
        fatal = exc
        row |= {"response": None, "titles": [], "error": f"unavailable: {exc}", "eval_count": None}
    except BackendError as exc:
        # 4xx and a missing model do not get better by asking again: stop the run now
        fatal = exc
        row |= {"response": None, "titles": [], "error": str(exc), "eval_count": None}
    row["duration_s"] = round(time.perf_counter() - t0, 4)
    return row, fatal


class ThreadCaller:
    """The single-process path: calls in a thread pool of this process, one shared backend."""

    def __init__(self, backend: LLMBackend, concurrency: int) -> None:
        """A pool of `concurrency` threads (calls block on the network, not the CPU)."""
        self.backend = backend
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="llm")

    def submit(self, planned: PlannedCall, meta: CallMeta) -> Future[CallOutcome]:
        """Run the call in a pool thread."""
        return self.pool.submit(run_call, self.backend, planned, meta)

    def close(self) -> None:
        """Drop queued calls; running ones finish in the background and are not logged."""
        self.pool.shutdown(wait=False, cancel_futures=True)
