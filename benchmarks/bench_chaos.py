"""Chaos benchmark: generation through 10% HTTP 500s, 1% hangs, broken JSON, a server restart and
three kill -9s of the client, side by side with a clean run of the same seed.

Both runs talk to the loopback Ollama double through the real `ollama` client. Broken (cut-off)
JSON is the model's own behaviour, decided by the call's seed, so the clean run sees it too; the
infrastructure faults (500s, hangs, the restart, the kills) are what the chaos run adds. Success
means: no title lost, no call answered twice, and the clean run's dataset (clean.jsonl) exactly.

    python benchmarks/bench_chaos.py [--per-label 120] [--seed 11]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import print_table  # noqa: E402
from generator.rawlog import read_rows  # noqa: E402
from tests.fakes.ollama_server import FakeConfig, FakeOllama, FakeStats  # noqa: E402

CHILD = """
import sys
from pathlib import Path
from generator.generate import generate_titles
from generator.ollama_backend import OllamaBackend
from generator.spec import load_spec
backend = OllamaBackend(hosts=sys.argv[1], backoff_s=0.2, timeout_s=1.0)
generate_titles(load_spec("clickbait"), backend, Path(sys.argv[2]), per_label=int(sys.argv[3]),
                seed=int(sys.argv[4]), concurrency=4, show_progress=False)
"""
BROKEN_JSON = 0.05


def _child(url: str, workdir: Path, per_label: int, seed: int) -> subprocess.Popen[bytes]:
    """The generation client in its own process, so it can be killed -9 like a crashed job."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(workdir), str(per_label), str(seed)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_rows(workdir: Path, n: int, proc: subprocess.Popen[bytes], limit_s: float = 120) -> None:
    """Until raw.jsonl holds n rows (or the child ends)."""
    deadline = time.monotonic() + limit_s
    while len(read_rows(workdir / "raw.jsonl")) < n and proc.poll() is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no progress to {n} rows")
        time.sleep(0.05)


def _finish(url: str, workdir: Path, per_label: int, seed: int) -> int:
    """Run the client until it completes (a hung-server stop just gets restarted, like cron)."""
    restarts = 0
    while True:
        proc = _child(url, workdir, per_label, seed)
        if proc.wait(timeout=900) == 0:
            return restarts
        restarts += 1
        if restarts > 10:
            raise RuntimeError("the client keeps failing")


def _quiet(srv: FakeOllama) -> FakeOllama:
    """Connections cut by a kill -9 are the point here: no stack trace per cut connection."""
    srv.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
    return srv


def _merge(total: FakeStats, part: FakeStats) -> None:
    """Add one server instance's counters to the total."""
    for key, value in part.requests.items():
        total.requests[key] = total.requests.get(key, 0) + value
    total.chat_arrivals += part.chat_arrivals
    for key, value in part.statuses.items():
        total.statuses[key] = total.statuses.get(key, 0) + value


def _summary(workdir: Path, stats: FakeStats, extra: dict[str, int]) -> dict[str, object]:
    """What the run did, from its raw.jsonl and the server's counters."""
    rows = read_rows(workdir / "raw.jsonl")
    ok = Counter(r["call_id"] for r in rows if not r.get("error"))
    clean = (workdir / "clean.jsonl").read_bytes()
    return {
        "calls (rows in raw.jsonl)": len(rows),
        "answered calls": len(ok),
        "chat requests seen by the server": stats.chat_arrivals,
        "HTTP 500s injected": stats.statuses.get(500, 0),
        "error rows (redone later)": sum(1 for r in rows if r.get("error")),
        "retries (requests - answered calls)": stats.chat_arrivals - len(ok),
        "truncated replies (model)": sum(1 for r in rows if (r.get("parse_dropped") or {})),
        "duplicate calls": sum(n - 1 for n in ok.values() if n > 1),
        "kept titles": len(clean.splitlines()),
        "dataset hash": hashlib.sha256(clean).hexdigest()[:16],
        **extra,
    }


def main() -> None:
    """Run both, print the side-by-side table, exit 1 if anything was lost or duplicated."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-label", type=int, default=500)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="titleforge-chaos-"))
    # a little latency per call, as a real server has, so the kills land mid-run
    model = {
        "seed": 5,
        "profile": "small-model",
        "broken_json_rate": BROKEN_JSON,
        "per_call_overhead_s": 0.05,
    }

    t0 = time.monotonic()
    with FakeOllama(FakeConfig(**model, error_rate=0.0, hang_rate=0.0)) as srv:
        _finish(srv.url, work / "clean", args.per_label, args.seed)
        clean_stats = srv.stats
    clean_s = time.monotonic() - t0

    t0 = time.monotonic()
    chaos = {**model, "error_rate": 0.10, "hang_rate": 0.01, "hang_seconds": 3.0}
    stats, kills = FakeStats(), 0
    srv = _quiet(FakeOllama(FakeConfig(**chaos))).start()
    port = int(srv.url.rsplit(":", 1)[1])
    proc = _child(srv.url, work / "chaos", args.per_label, args.seed)
    instances = [srv]
    for step, at in enumerate((15, 35, 55, 75)):
        _wait_rows(work / "chaos", at, proc)
        if proc.poll() is not None:
            break  # finished early: nothing left to disturb
        if step == 2:  # the server restarts under the client's feet
            srv.stop()
            time.sleep(1.5)
            srv = _quiet(FakeOllama(FakeConfig(**chaos), port=port)).start()
            instances.append(srv)
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = _child(srv.url, work / "chaos", args.per_label, args.seed)
    proc.wait(timeout=900)
    restarts = _finish(srv.url, work / "chaos", args.per_label, args.seed)
    srv.stop()
    chaos_s = time.monotonic() - t0
    time.sleep(3.5)  # requests cut off by a kill may still be counted: let them land first
    for instance in instances:
        _merge(stats, instance.stats)

    a = _summary(work / "clean", clean_stats, {"kill -9 of the client": 0, "server restarts": 0})
    b = _summary(
        work / "chaos",
        stats,
        {"kill -9 of the client": kills, "server restarts": 1, "client restarts": restarts},
    )
    a["seconds"], b["seconds"] = round(clean_s, 1), round(chaos_s, 1)
    clean_titles = set((work / "clean" / "clean.jsonl").read_text().splitlines())
    chaos_titles = set((work / "chaos" / "clean.jsonl").read_text().splitlines())
    b["titles lost vs clean run"] = len(clean_titles - chaos_titles)
    a["titles lost vs clean run"] = 0
    rows = [(k, a.get(k, "–"), b.get(k, "–")) for k in dict.fromkeys([*a, *b])]
    print_table(
        f"Chaos vs clean generation (seed {args.seed}, {args.per_label} per label)",
        ["measure", "clean run", "chaos run"],
        rows,
        note=f"work dirs in {work}",
    )
    print(
        json.dumps(
            {
                "lost": b["titles lost vs clean run"],
                "duplicates": b["duplicate calls"],
                "same_dataset": a["dataset hash"] == b["dataset hash"],
            }
        )
    )
    if (
        b["titles lost vs clean run"]
        or b["duplicate calls"]
        or a["dataset hash"] != b["dataset hash"]
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()
