"""A loopback HTTP server that speaks Ollama's API, for tests and benchmarks; it can misbehave.

Run by hand: `python -m tests.fakes.ollama_server --port 11434 --profile small-model`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from generator.loopback import LoopbackServer
from tests.fakes.titles import make_theme_title, make_title

_CATEGORY = re.compile(r"Category:\s*(.+)")
# multi-label prompts (prompts/templates/themes_v1.user.j2) name the themes to combine
_THEMES = re.compile(r"^Themes:\s*(.+)$", re.M)
# feedback guidance lists subjects to cover; a model that follows it writes about them
_TOPICS = re.compile(r"Cover subjects such as: ([^\n]+?)\.\s*$", re.M)
_COUNT = re.compile(r"(\d+)\s+(?:\w+\s+){0,3}?(?:titles|headlines)", re.I)
EMOJIS = ["😱", "🔥", "👀", "🤯", "✨", "💰", "😂"]
PREAMBLES = [
    "Sure! Here are {n} {label} titles:",
    "Here are {n} headlines:",
    "Certainly! Here you go:",
    "Okay, here are some {label} titles for you:",
]
NOTES = [
    "Note: these titles are fictional and for illustration only.",
    "I hope these help!",
    "(These headlines are examples.)",
]
REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "As an AI language model, I cannot write misleading titles.",
]


@dataclass
class FakeConfig:
    """How the fake behaves; mutable while it runs (tests flip faults on and off)."""

    seed: int = 0
    models: list[str] = field(default_factory=lambda: ["phi3:latest"])
    pull_allowed: bool = True  # False: every pull fails like an offline registry
    profile: str = "clean"  # "clean" or "small-model"
    error_rate: float = 0.0  # fraction of chat/generate requests answered HTTP 500
    hang_rate: float = 0.0  # fraction that sleep `hang_seconds` first (client timeouts)
    hang_seconds: float = 30.0
    broken_json_rate: float = 0.0  # with `format`, reply cut-off JSON
    refusal_rate: float = 0.0
    dup_rate: float = 0.0  # fraction of titles that repeat (or nearly repeat) an earlier one
    # fraction of titles written for another label (a small model's factual title when asked
    # for clickbait); which label is told by `wrong_labels`
    wrong_label_rate: float = 0.0
    wrong_labels: dict[str, str] = field(
        default_factory=lambda: {"clickbait": "factual", "factual": "clickbait"}
    )
    slots: int = 4  # requests processed at once, like OLLAMA_NUM_PARALLEL
    per_call_overhead_s: float = 0.0
    per_token_s: float = 0.0


@dataclass
class FakeStats:
    """What happened, for assertions and slot utilisation."""

    requests: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    busy_slot_seconds: float = 0.0
    eval_tokens: int = 0
    first_start: float | None = None
    last_end: float | None = None
    pulls: int = 0
    chat_arrivals: int = 0  # completion requests received, answered or not (hangs, cut-offs)


def small_model_profile(**overrides: Any) -> FakeConfig:
    """A server whose replies look like a small model's, with 10% 500s and occasional hangs."""
    base = {
        "profile": "small-model",
        "error_rate": 0.1,
        "hang_rate": 0.02,
        "hang_seconds": 8.0,
        "broken_json_rate": 0.1,
        "refusal_rate": 0.05,
        "dup_rate": 0.15,
    }
    return FakeConfig(**(base | overrides))


class FakeOllama(LoopbackServer):
    """The server: `with FakeOllama(cfg) as srv: ollama.Client(host=srv.url)`."""

    def __init__(self, config: FakeConfig | None = None, port: int = 0) -> None:
        """Bind to 127.0.0.1:`port` (0 = any free port)."""
        self.config = config or FakeConfig()
        self.stats = FakeStats()
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self.config.slots)
        self._fault_rng = random.Random(self.config.seed + 1)
        self._history: dict[str, list[str]] = {}
        super().__init__(_handler(self), port)

    def count(self, path: str, status: int) -> None:
        """Record a request."""
        with self._lock:
            self.stats.requests[path] = self.stats.requests.get(path, 0) + 1
            self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1

    def has_model(self, name: str) -> bool:
        """Ollama resolves an untagged name to ':latest'."""
        full = name if ":" in name else f"{name}:latest"
        return full in self.config.models

    def fault(self) -> str | None:
        """Draw a fault for one request: 'error', 'hang' or None."""
        with self._lock:
            r = self._fault_rng.random()
        if r < self.config.error_rate:
            return "error"
        if r < self.config.error_rate + self.config.hang_rate:
            return "hang"
        return None

    def reply(self, prompt: str, fmt: Any, options: dict[str, Any]) -> str:
        """The model's text for a prompt: deterministic for the same request."""
        digest = hashlib.sha256(
            f"{self.config.seed}|{prompt}|{options.get('seed')}|{fmt is not None}".encode()
        )
        rng = random.Random(int.from_bytes(digest.digest()[:8], "big"))
        m = _CATEGORY.search(prompt)
        label = m.group(1).strip() if m else "news"
        n_match = _COUNT.search(prompt)
        n = min(int(n_match.group(1)), 50) if n_match else 5
        if rng.random() < self.config.refusal_rate:
            return rng.choice(REFUSALS)
        if _wants_label_sets(fmt):
            return self._labelled_reply(prompt, n, rng)
        topics_match = _TOPICS.search(prompt)
        topics = [w.strip() for w in topics_match.group(1).split(",")] if topics_match else []
        titles = [self._title(label, rng, topics) for _ in range(n)]
        other = self.config.wrong_labels.get(label.lower())
        if self.config.wrong_label_rate > 0 and other:  # no extra draws otherwise: same replies
            for i in range(n):
                if rng.random() < self.config.wrong_label_rate:
                    titles[i] = make_title(other, rng)
        messy = self.config.profile == "small-model"
        if messy:
            titles = [self._mess(t, label, rng) for t in titles]
        if fmt is not None:
            body = json.dumps(
                {"titles": titles}, ensure_ascii=False, indent=1 if rng.random() < 0.5 else None
            )
            if rng.random() < self.config.broken_json_rate:
                body = body[: max(10, int(len(body) * rng.uniform(0.4, 0.9)))]
            if messy and rng.random() < 0.15:
                body = f"```json\n{body}\n```"
            if messy and rng.random() < 0.1:
                body = f"Here is the JSON you asked for:\n{body}"
            return body
        lines = []
        if messy and rng.random() < 0.7:
            lines += [rng.choice(PREAMBLES).format(n=n, label=label), ""]
        style = rng.choice(["num", "paren", "dash", "star", "plain", "bullet"]) if messy else "num"
        for i, t in enumerate(titles, 1):
            marker = {
                "num": f"{i}. ",
                "paren": f"{i}) ",
                "dash": "- ",
                "star": "* ",
                "plain": "",
                "bullet": "• ",
            }[style]
            lines.append(marker + t)
        if messy and rng.random() < 0.4:
            lines += ["", rng.choice(NOTES)]
        return "\n".join(lines)

    def _labelled_reply(self, prompt: str, n: int, rng: random.Random) -> str:
        """A multi-label reply: titles about the themes the prompt asks for, labelled with them."""
        m = _THEMES.search(prompt)
        themes = [t.strip() for t in m.group(1).split(",")] if m else []
        titles = []
        for _ in range(n):
            text = make_theme_title(themes, rng)
            if self.config.profile == "small-model":
                text = self._mess(text, "news", rng)
            titles.append({"text": text, "labels": themes})
        return json.dumps({"titles": titles}, ensure_ascii=False)

    def _title(self, label: str, rng: random.Random, topics: Sequence[str] = ()) -> str:
        """A fresh title, or (dup_rate) a repeat / one-word variant of an earlier one."""
        # draw every random number unconditionally so replies do not depend on history size
        repeat, pick, variant = rng.random(), rng.random(), rng.random()
        title = make_title(label, rng, topics)
        with self._lock:
            seen = self._history.setdefault(label, [])
            if seen and repeat < self.config.dup_rate:
                old = seen[int(pick * len(seen))]
                if variant < 0.5:
                    return old
                words = old.split()
                words[int(variant * 1000) % len(words)] = ["Big", "New", "Local", "Major"][
                    int(variant * 10) % 4
                ]
                return " ".join(words)
            seen.append(title)
            if len(seen) > 5000:
                del seen[:1000]
            return title

    def _mess(self, title: str, label: str, rng: random.Random) -> str:
        """Add a small model's telltale artefacts."""
        low = label.lower()
        if low == "clickbait":
            title += rng.choice(["!", "!", "!", "!!", "?!", "!", ""])
        elif rng.random() < 0.5:
            title += "."
        r = rng.random()
        if r < 0.08:
            title = f"**{title}**"
        elif r < 0.16:
            title = f'"{title}"'
        elif r < 0.22:
            title = f"“{title}”"
        elif r < 0.27:
            title = f"Title: {title}"
        if rng.random() < 0.1:
            title += " " + rng.choice(EMOJIS)
        if rng.random() < 0.05:
            title += " #" + rng.choice(["viral", "news", "mustread"])
        if rng.random() < 0.03:
            title = f"{label.capitalize()}: {title}"
        if rng.random() < 0.03:
            title += " Read more to find out."
        return title


def _wants_label_sets(fmt: Any) -> bool:
    """The structured-output schema asks for titles as objects with labels (multi-label tasks)."""
    if not isinstance(fmt, dict):
        return False
    items = ((fmt.get("properties") or {}).get("titles") or {}).get("items") or {}
    return "labels" in (items.get("properties") or {})


def _handler(server: FakeOllama) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one FakeOllama."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            """Quiet."""

        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            # count before answering: a client that got the answer must see it counted
            server.count(self.path, status)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, chunks: list[dict[str, Any]]) -> None:
            server.count(self.path, 200)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                data = json.dumps(chunk).encode() + b"\n"
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if self.path in ("/", ""):
                self._send(200, "Ollama is running")
            elif self.path == "/api/version":
                self._send(200, {"version": "0.12.0"})
            elif self.path == "/api/tags":
                self._send(200, {"models": [_model_info(m) for m in server.config.models]})
            elif self.path == "/api/ps":
                self._send(200, {"models": []})
            else:
                self._send(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self._body()
            if self.path in ("/api/chat", "/api/generate"):
                with server._lock:
                    server.stats.chat_arrivals += 1
            if self.path == "/api/show":
                name = body.get("model") or body.get("name") or ""
                if server.has_model(name):
                    self._send(
                        200,
                        {
                            "modelfile": "",
                            "parameters": "",
                            "template": "",
                            "details": _model_info(name)["details"],
                            "model_info": {},
                            "capabilities": ["completion"],
                        },
                    )
                else:
                    self._send(404, {"error": f"model '{name}' not found"})
            elif self.path == "/api/pull":
                self._pull(body)
            elif self.path in ("/api/chat", "/api/generate"):
                self._complete(body, chat=self.path == "/api/chat")
            else:
                self._send(404, {"error": "not found"})

        def _pull(self, body: dict[str, Any]) -> None:
            name = body.get("model") or body.get("name") or ""
            full = name if ":" in name else f"{name}:latest"
            if name.startswith("missing") or not server.config.pull_allowed:
                self._send(500, {"error": f"pull model manifest: file does not exist: {name}"})
                return
            total = 2_000_000
            chunks = [{"status": "pulling manifest"}]
            chunks += [
                {
                    "status": "pulling 3e38718d00bb",
                    "digest": "sha256:3e38718d00bb",
                    "total": total,
                    "completed": c,
                }
                for c in (0, total // 2, total)
            ]
            chunks += [
                {"status": "verifying sha256 digest"},
                {"status": "writing manifest"},
                {"status": "success"},
            ]
            with server._lock:
                if full not in server.config.models:
                    server.config.models.append(full)
                server.stats.pulls += 1
            if body.get("stream", True):
                self._stream(chunks)
            else:
                self._send(200, {"status": "success"})

        def _complete(self, body: dict[str, Any], chat: bool) -> None:
            model = body.get("model", "")
            if not server.has_model(model):
                self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
                return
            fault = server.fault()
            if fault == "error":
                self._send(500, {"error": "llama runner process has terminated: exit status 2"})
                return
            if fault == "hang":
                time.sleep(server.config.hang_seconds)
            if chat:
                prompt = "\n".join(m.get("content", "") for m in body.get("messages", []))
            else:
                prompt = f"{body.get('system', '')}\n{body.get('prompt', '')}"
            text = server.reply(prompt, body.get("format") or None, body.get("options") or {})
            eval_count = max(1, math.ceil(len(text) / 4))
            with server._slots:
                start = time.perf_counter()
                delay = server.config.per_call_overhead_s + eval_count * server.config.per_token_s
                if delay:
                    time.sleep(delay)
                end = time.perf_counter()
            with server._lock:
                st = server.stats
                st.busy_slot_seconds += end - start
                st.eval_tokens += eval_count
                st.first_start = start if st.first_start is None else min(st.first_start, start)
                st.last_end = end if st.last_end is None else max(st.last_end, end)
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            final = {
                "model": model,
                "created_at": now,
                "done": True,
                "done_reason": "stop",
                "total_duration": int((end - start) * 1e9) + 1,
                "load_duration": 1000,
                "prompt_eval_count": max(1, len(prompt) // 4),
                "prompt_eval_duration": 1000,
                "eval_count": eval_count,
                "eval_duration": int((end - start) * 1e9) + 1,
            }
            if body.get("stream", True):
                words = re.findall(r"\S+\s*|\s+", text) or [""]
                step = max(1, len(words) // 8)
                parts = ["".join(words[i : i + step]) for i in range(0, len(words), step)]
                chunks = [_piece(model, now, p, chat) for p in parts]
                chunks.append(_piece(model, now, "", chat) | final)
                self._stream(chunks)
            else:
                self._send(200, _piece(model, now, text, chat) | final)

    return Handler


def _piece(model: str, created: str, text: str, chat: bool) -> dict[str, Any]:
    """One (partial) response body in chat or generate shape."""
    base = {"model": model, "created_at": created, "done": False}
    return base | (
        {"message": {"role": "assistant", "content": text}} if chat else {"response": text}
    )


def _model_info(name: str) -> dict[str, Any]:
    """An /api/tags entry."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-01-01T00:00:00Z",
        "size": 2_200_000_000,
        "digest": "3e38718d00bb",
        "details": {
            "format": "gguf",
            "family": "phi3",
            "parameter_size": "3.8B",
            "quantization_level": "Q4_0",
        },
    }


def main() -> None:
    """Serve until interrupted."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=11434)
    ap.add_argument("--profile", choices=["clean", "small-model"], default="small-model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--overhead", type=float, default=0.0, help="seconds per call")
    ap.add_argument("--per-token", type=float, default=0.0, help="seconds per generated token")
    ap.add_argument("--error-rate", type=float, default=None)
    ap.add_argument("--hang-rate", type=float, default=None)
    ap.add_argument("--hang-seconds", type=float, default=None)
    args = ap.parse_args()
    overrides = {
        k: v
        for k, v in {
            "error_rate": args.error_rate,
            "hang_rate": args.hang_rate,
            "hang_seconds": args.hang_seconds,
        }.items()
        if v is not None
    }
    common = {
        "seed": args.seed,
        "slots": args.slots,
        "per_call_overhead_s": args.overhead,
        "per_token_s": args.per_token,
    }
    cfg = (
        small_model_profile(**common, **overrides)
        if args.profile == "small-model"
        else FakeConfig(**common, **overrides)
    )
    srv = FakeOllama(cfg, port=args.port)
    print(f"fake ollama ({args.profile}) listening on {srv.url}", flush=True)
    try:
        srv.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.httpd.server_close()


if __name__ == "__main__":
    main()
