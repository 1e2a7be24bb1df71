"""A threaded HTTP server on a loopback port, served from a daemon thread (embedded LLM, test doubles)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """Binds 127.0.0.1:`port` (0: any free port); `with` starts and stops it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        """Bind now; `start` begins serving."""
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Serve in a daemon thread (it ends with the process)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        """Start on entry."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on exit."""
        self.stop()
