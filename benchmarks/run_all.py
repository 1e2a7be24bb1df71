"""Run every benchmark and print its table: `python benchmarks/run_all.py [--quick]`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "bench_generation.py",
    "bench_dedupe.py",
    "bench_training.py",
    "bench_inference.py",
    "bench_cli.py",
]


def main() -> None:
    """Each benchmark in its own process (clean peak memory, no shared warm caches)."""
    args = sys.argv[1:]
    t0 = time.perf_counter()
    failed = []
    for bench in BENCHES:
        print(f"\n=== {bench} {' '.join(args)}", flush=True)
        t_bench = time.perf_counter()
        if subprocess.run([sys.executable, str(HERE / bench), *args], check=False).returncode:
            failed.append(bench)
        print(f"=== {bench}: {time.perf_counter() - t_bench:.0f} s", flush=True)
    print(
        f"\nall benchmarks: {time.perf_counter() - t0:.0f} s"
        + (f"; FAILED: {failed}" if failed else "")
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
