"""The Ollama backend: the only module that talks to Ollama (through the official client)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import ollama

from generator.backend import (
    BackendError,
    BackendHung,
    BackendUnavailable,
    Completion,
    ModelMissing,
)

DEFAULT_HOST = "http://127.0.0.1:11434"
# transport failures worth another try: the server may be restarting, busy or slow
_TRANSIENT = (ConnectionError, httpx.TransportError)
ProgressFn = Callable[[str, int | None, int | None], None]


def normalise_host(host: str) -> str:
    """'localhost:11434' or '0.0.0.0' → a full URL, the way the ollama CLI reads OLLAMA_HOST."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    scheme, rest = host.split("://", 1)
    if ":" not in rest.split("/")[0]:
        rest = rest.replace("/", ":11434/", 1) if "/" in rest else f"{rest}:11434"
    return f"{scheme}://{rest.replace('0.0.0.0', '127.0.0.1')}"


def hosts_from(hosts: str | Sequence[str] | None) -> list[str]:
    """Hosts from the argument, else OLLAMA_HOST (comma-separated), else the default."""
    if hosts is None:
        hosts = os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    out = [normalise_host(h) for h in hosts if h.strip()]
    return list(dict.fromkeys(out)) or [DEFAULT_HOST]


def _unreachable(hosts: Sequence[str], detail: str = "") -> str:
    """The one-paragraph message for an Ollama that cannot be reached."""
    where = ", ".join(hosts)
    extra = f" ({detail})" if detail else ""
    return (
        f"Ollama is not reachable at {where}{extra}: start it with `ollama serve`, or pass "
        "--ollama-host (or set OLLAMA_HOST) to point at a running server. To try the pipeline "
        "without Ollama, pass --llm embedded (a small built-in model; not for production data)."
    )


class OllamaBackend:
    """LLMBackend over one or more Ollama servers, with retries, timeouts and load spreading."""

    def __init__(
        self,
        model: str = "phi3",
        hosts: str | Sequence[str] | None = None,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        keep_alive: str | float | None = None,
        seed: int = 0,
        sticky: bool = False,
    ) -> None:
        """Create one client per host; nothing is contacted until `check` or `generate`.

        `sticky`: always call the first host, the others only when it fails (a cluster assigns
        each call its host); otherwise the least busy host takes the call.
        """
        self.model = model
        self.hosts = hosts_from(hosts)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.keep_alive = keep_alive
        self.sticky = sticky
        self._clients = {h: ollama.Client(host=h, timeout=timeout_s) for h in self.hosts}
        self._in_flight = dict.fromkeys(self.hosts, 0)
        self._lock = threading.Lock()
        # jitter only spreads retries in time; it never touches the data
        self._rng = random.Random(seed)

    def parallel_slots(self) -> int:
        """Parallel slots of all servers: OLLAMA_NUM_PARALLEL (default 4) per host."""
        per_host = int(os.environ.get("OLLAMA_NUM_PARALLEL", "4") or 4)
        return max(1, per_host) * len(self.hosts)

    def default_concurrency(self) -> int:
        """Calls in flight: every slot plus one queued per host, so no slot waits on our round trip."""
        return self.parallel_slots() + len(self.hosts)

    def check(self, timeout_s: float = 2.0) -> None:
        """Raise BackendUnavailable (with the fix) unless every host answers within `timeout_s`."""
        down = []
        for host in self.hosts:
            try:
                resp = httpx.get(f"{host}/api/version", timeout=timeout_s)
                resp.raise_for_status()
            except httpx.TimeoutException:
                down.append((host, f"connected, but no answer within {timeout_s:g} s"))
            except (httpx.HTTPError, OSError) as exc:
                down.append((host, type(exc).__name__))
        if down:
            raise BackendUnavailable(_unreachable([h for h, _ in down], down[0][1]))

    def _has_model(self, client: ollama.Client) -> bool:
        """Whether the server has the model (Ollama adds ':latest' to untagged names)."""
        try:
            client.show(self.model)
            return True
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                return False
            raise BackendError(
                f"Ollama could not describe model {self.model!r}: {exc.error}"
            ) from None

    def ensure_model(self, on_progress: ProgressFn | None = None) -> None:
        """Pull the model on every host that lacks it, reporting progress."""
        for host, client in self._clients.items():
            try:
                if self._has_model(client):
                    continue
                for part in client.pull(self.model, stream=True):
                    if on_progress:
                        on_progress(part.status or "", part.completed, part.total)
            except ollama.ResponseError as exc:
                raise ModelMissing(
                    f"Model {self.model!r} is not on the Ollama server at {host}, and pulling it "
                    f"failed ({exc.error}). Run `ollama pull {self.model}` on that machine (it "
                    "needs the registry or a local model file), or pass --model with a model "
                    "`ollama list` shows there."
                ) from None
            except _TRANSIENT as exc:
                raise BackendUnavailable(_unreachable([host], type(exc).__name__)) from None

    def _pick(self, avoid: str | None) -> str:
        """The least busy (or, sticky, the first) host, avoiding the one that just failed."""
        with self._lock:
            choices = [h for h in self.hosts if h != avoid] or self.hosts
            host = choices[0] if self.sticky else min(choices, key=lambda h: self._in_flight[h])
            self._in_flight[host] += 1
            return host

    def _release(self, host: str) -> None:
        """Mark a call on `host` as finished."""
        with self._lock:
            self._in_flight[host] -= 1

    def _sleep(self, attempt: int) -> None:
        """Exponential backoff with jitter."""
        time.sleep(self.backoff_s * (2**attempt) * (0.5 + self._rng.random()))

    def generate(
        self,
        prompt: str,
        *,
        system: str | None = None,
        schema: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Completion:
        """One chat call; retries 5xx, connection errors and timeouts, never 4xx."""
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        last_error, host, timeouts = "", None, 0
        for attempt in range(self.max_retries + 1):
            host = self._pick(avoid=host)
            t0 = time.perf_counter()
            try:
                resp = self._clients[host].chat(
                    model=self.model,
                    messages=messages,
                    format=schema,
                    options=options,
                    stream=False,
                    keep_alive=self.keep_alive,
                )
                return Completion(
                    text=resp.message.content or "",
                    model=resp.model or self.model,
                    host=host,
                    eval_count=resp.eval_count,
                    prompt_eval_count=resp.prompt_eval_count,
                    duration_s=time.perf_counter() - t0,
                )
            except ollama.ResponseError as exc:
                if exc.status_code == 404:
                    raise ModelMissing(
                        f"Ollama at {host} does not have model {self.model!r} ({exc.error}): run "
                        f"`ollama pull {self.model}` on that machine, or pass --model with a "
                        "model `ollama list` shows there."
                    ) from None
                if exc.status_code < 500:
                    # a 400 is our request or an option the server rejects: retrying cannot help
                    raise BackendError(
                        f"Ollama at {host} rejected the call ({exc.status_code}): {exc.error}. "
                        "Check --model and the task's generation options (temperature, "
                        "num_predict)."
                    ) from None
                last_error = f"HTTP {exc.status_code} from {host}: {exc.error}"
            except httpx.TimeoutException:
                timeouts += 1
                last_error = f"no reply from {host} within {self.timeout_s:g} s"
                if timeouts >= 2:
                    # twice silent: a hung server or a model far too slow; waiting more won't help
                    raise BackendHung(
                        f"Ollama at {host} took the call but sent no reply within "
                        f"{self.timeout_s:g} s, twice. Restart `ollama serve` there (or check "
                        "`ollama ps`), or raise --timeout if the model is just slow."
                    ) from None
            except _TRANSIENT as exc:
                last_error = f"{type(exc).__name__} from {host}"
            finally:
                self._release(host)
            if attempt < self.max_retries:
                self._sleep(attempt)
        raise BackendUnavailable(
            f"Ollama kept failing after {self.max_retries + 1} attempts (last: {last_error}). "
            + _unreachable(self.hosts).replace(
                "Ollama is not reachable at", "Check the server at", 1
            )
        )
