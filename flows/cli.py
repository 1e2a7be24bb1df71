"""The `titleforge` command line: thin wrappers that validate input fast, then run the Prefect flows."""

from __future__ import annotations

import os

# Each module registers its commands on the shared app when imported.
from flows import cli_data, cli_model, cli_ops  # noqa: F401
from flows.cli_common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":
    main()
