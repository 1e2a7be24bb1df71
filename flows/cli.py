"""The `titleforge` command line: thin wrappers that validate input fast, then run the Prefect flows."""

from __future__ import annotations

import os
import sys

from rich.markup import escape

# Each module registers its commands on the shared app when imported.
from flows import cli_data, cli_dedupe, cli_model, cli_ops, cli_run  # noqa: F401
from flows.apiserver import reuse_local_server
from flows.cli_common import app, err
from flows.clilog import record_exception

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: no traceback reaches the terminal, whatever fails."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Prefect's server would phone home and log an ERROR per attempt on an offline machine
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # before Prefect is imported: a server already running beats a temporary one (13-20 s)
    reuse_local_server()
    try:
        app()
    except KeyboardInterrupt:
        err.print(
            "Interrupted. Every finished LLM call and step is saved: run the same command again "
            "to resume."
        )
        sys.exit(130)
    except Exception as exc:  # the last line of defence: a bug, or a failure nobody foresaw
        path = record_exception(exc)
        err.print(
            f"[red]Error:[/red] {escape(type(exc).__name__)}: {escape(str(exc)[:500])}\n"
            f"The full traceback is in {escape(str(path))}; re-run the same command to resume "
            "(finished work is kept), and include that file if you report a bug."
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
