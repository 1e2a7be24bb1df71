"""CLI start-up: `--help`, predict of one title (torch path vs the ONNX fast path), and a
single-step command with Prefect's temporary server vs `--no-prefect`, measured side by side.

python benchmarks/bench_cli.py            # 5 repeats per row
python benchmarks/bench_cli.py --quick    # 3 repeats, no generate rows
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, ratio, timed

TITLE = "You won't believe what this city council did next"
EXE = [sys.executable, "-m", "flows.cli"]
ENV = {**os.environ, "PREFECT_API_URL": "", "TOKENIZERS_PARALLELISM": "false"}


def run(args: list[str]) -> None:
    """One CLI command in a fresh process, as a user types it; it must succeed."""
    proc = subprocess.run([*EXE, *args], env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")


def trained_model(tmp: Path) -> Path:
    """A MiniLM classifier trained the way users do (`titleforge train`, ONNX export included)."""
    from tests.fakes.tiny import make_dataset_dict

    make_dataset_dict().save_to_disk(str(tmp / "dataset"))
    args = ["train", "--dataset", str(tmp / "dataset"), "--workdir", str(tmp / "run")]
    args += ["--base-model", "minilm", "--epochs", "1", "--no-prefect"]
    run(args)
    return tmp / "run" / "model"


def main() -> None:
    """Print the start-up table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 3 if args.quick else 5
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model = trained_model(tmp)
        _, help_s = timed(lambda: run(["--help"]), repeat)
        predict = ["predict", "--model", str(model), TITLE]
        _, torch_s = timed(lambda: run([*predict, "--engine", "torch"]), repeat)
        _, fast_s = timed(lambda: run(predict), repeat)
        rows = [
            ["titleforge --help", f"{help_s:.2f} s", "–", "–"],
            ["predict one title", f"{fast_s:.2f} s", f"{torch_s:.2f} s", ratio(fast_s, torch_s, False)],
        ]  # fmt: skip
        if not args.quick:
            from tests.fakes.ollama_server import FakeConfig, FakeOllama

            with FakeOllama(FakeConfig(seed=1)) as fake:
                runs = iter(range(100))

                def generate(flag: list[str]) -> None:
                    """One whole generate command into a fresh run dir (not a resume)."""
                    args = ["generate", "--task", "clickbait", "--per-label", "10", "--seed", "1"]
                    args += ["--workdir", str(tmp / f"gen{next(runs)}"), "--ollama-host", fake.url]
                    run([*args, *flag])

                _, plain_s = timed(lambda: generate(["--no-prefect"]), 2)
                _, server_s = timed(lambda: generate([]), 2)
            rows.append(
                ["generate (10/label)", f"{plain_s:.2f} s", f"{server_s:.2f} s", ratio(plain_s, server_s, False)]
            )  # fmt: skip
    print_table(
        "CLI start-up (median wall time of a fresh process; ratio = before / after)",
        ["command", "after", "before", "ratio"],
        rows,
        note="predict before: the torch + transformers path (what `predict` ran until the ONNX "
        "fast path; still `--engine torch`). generate before: Prefect's temporary server; after: "
        "--no-prefect.",
    )


if __name__ == "__main__":
    main()
