"""Which Prefect API a CLI command talks to: a server already running, or none at all.

Imported before Prefect itself: Prefect reads PREFECT_API_URL when it is first imported.
"""

from __future__ import annotations

import os

ENV = "TITLEFORGE_NO_PREFECT"  # the environment twin of --no-prefect
LOCAL_API = "http://127.0.0.1:4200/api"  # where `prefect server start` listens by default


def reuse_local_server(timeout_s: float = 0.3) -> str | None:
    """Point Prefect at a server already listening on the default port, instead of a temporary one."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    import httpx

    try:
        ok = httpx.get(f"{LOCAL_API}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return None
    if ok:
        os.environ["PREFECT_API_URL"] = LOCAL_API
        return LOCAL_API
    return None
