"""Generation throughput against the loopback Ollama with a latency model (slots, per-call, per-token).

titleforge (10 titles per JSON call, every slot busy plus one call queued) vs the usual script (one
title per request, sequential). Prints kept titles/s, LLM tokens per kept title and slot
utilisation; ours is the median of several runs. The sequential script's rate is steady from the
first title, so `--quick` measures it on fewer titles (its rate, not its total, is compared).

    python benchmarks/bench_generation.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ollama

from benchmarks.common import print_table, ratio
from generator.clean import clean_title, normalise_key
from generator.generate import generate_titles
from generator.ollama_backend import OllamaBackend
from generator.spec import load_spec
from tests.fakes.ollama_server import FakeConfig, FakeOllama

SLOTS, OVERHEAD_S, PER_TOKEN_S = 4, 0.15, 0.002


def _server() -> FakeOllama:
    """A fresh double with the latency model and small-model replies (no faults: pure throughput)."""
    return FakeOllama(
        FakeConfig(
            profile="small-model",
            slots=SLOTS,
            per_call_overhead_s=OVERHEAD_S,
            per_token_s=PER_TOKEN_S,
            dup_rate=0.1,
            seed=1,
        )
    )


def _utilisation(srv: FakeOllama, wall: float) -> float:
    """Busy slot-seconds over slots x wall time."""
    return srv.stats.busy_slot_seconds / (SLOTS * wall)


def ours(per_label: int) -> dict[str, float]:
    """titleforge's generation loop, as `titleforge generate` runs it."""
    spec = load_spec("clickbait")
    with _server() as srv, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        backend = OllamaBackend(hosts=srv.url)
        res = generate_titles(
            spec,
            backend,
            Path(tmp),
            per_label=per_label,
            concurrency=backend.default_concurrency(),  # what `titleforge generate` uses
            show_progress=False,
        )
        wall = time.perf_counter() - t0
        kept = len(res.items)
        return {
            "titles_s": kept / wall,
            "tokens": srv.stats.eval_tokens / kept,
            "util": _utilisation(srv, wall),
        }


def usual(per_label: int) -> dict[str, float]:
    """The usual notebook script: one title per request, one request at a time, strip and dedupe."""
    spec = load_spec("clickbait")
    seen: set[str] = set()
    kept = {lb: 0 for lb in spec.label_names}
    with _server() as srv:
        client = ollama.Client(host=srv.url)
        t0 = time.perf_counter()
        i = 0
        while min(kept.values()) < per_label and i < per_label * 20:
            label = spec.label_names[i % 2]
            i += 1
            if kept[label] >= per_label:
                continue
            reply = client.generate(
                model="phi3", prompt=f"Category: {label}\nWrite 1 news title.", options={"seed": i}
            )
            line = next((ln for ln in reply.response.splitlines()[::-1] if ln.strip()), "")
            title, _ = clean_title(line, spec.cleaning, spec.label_names)
            if title and normalise_key(title) not in seen:
                seen.add(normalise_key(title))
                kept[label] += 1
        wall = time.perf_counter() - t0
        total = sum(kept.values())
        return {
            "titles_s": total / wall,
            "tokens": srv.stats.eval_tokens / total,
            "util": _utilisation(srv, wall),
        }


def main() -> None:
    """Run both sides on the same double and print the table."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_ours, n_usual = 150, 30 if args.quick else 150
    runs = [ours(n_ours) for _ in range(3)]
    a = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    b = usual(n_usual)
    print_table(
        f"Generation: {n_ours} (titleforge, median of 3) vs {n_usual} (usual) kept titles per label, "
        f"{SLOTS} slots, {OVERHEAD_S}s/call + {PER_TOKEN_S}s/token",
        ["metric", "titleforge", "one title per request", "ratio"],
        [
            ["kept titles/s", a["titles_s"], b["titles_s"], ratio(a["titles_s"], b["titles_s"])],
            [
                "LLM tokens per kept title",
                a["tokens"],
                b["tokens"],
                ratio(a["tokens"], b["tokens"], higher_is_better=False),
            ],
            ["slot utilisation", a["util"], b["util"], ratio(a["util"], b["util"])],
            [
                "seconds per 100 kept titles",
                100 / a["titles_s"],
                100 / b["titles_s"],
                ratio(a["titles_s"], b["titles_s"]),
            ],
        ],
    )


if __name__ == "__main__":
    main()
