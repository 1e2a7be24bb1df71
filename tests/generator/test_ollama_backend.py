"""The Ollama backend through the real `ollama` client against the loopback double."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import ollama
import pytest

from generator.backend import BackendError, BackendUnavailable
from generator.ollama_backend import OllamaBackend, hosts_from
from generator.prompting import TITLES_SCHEMA
from tests.fakes.ollama_server import FakeConfig, FakeOllama, small_model_profile

PROMPT = "Category: clickbait\nWrite 5 different news titles of this category."


def _backend(url: str | list[str], **kw) -> OllamaBackend:
    """Fast retries for tests."""
    return OllamaBackend(hosts=url, backoff_s=0.01, **kw)


def test_health_check_fails_fast_with_the_fix() -> None:
    """Nothing listening: BackendUnavailable within ~2 s naming the host and `ollama serve`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as exc:
        _backend(f"127.0.0.1:{port}").check()
    assert time.monotonic() - t0 < 2.5
    assert f"http://127.0.0.1:{port}" in str(exc.value) and "ollama serve" in str(exc.value)


def test_health_check_times_out_on_a_silent_server() -> None:
    """A server that accepts but never answers is reported within the timeout."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        t0 = time.monotonic()
        with pytest.raises(BackendUnavailable):
            _backend(f"127.0.0.1:{srv.getsockname()[1]}").check(timeout_s=0.5)
        assert time.monotonic() - t0 < 2.0


def test_raw_client_chat_generate_streaming_and_tags(fake_ollama: FakeOllama) -> None:
    """The double speaks the API the real client parses: chat, generate, streams, tags, show."""
    c = ollama.Client(host=fake_ollama.url)
    whole = c.chat(model="phi3", messages=[{"role": "user", "content": PROMPT}])
    assert whole.done and whole.eval_count and whole.message.content.count("\n") >= 4
    parts = list(c.chat(model="phi3", messages=[{"role": "user", "content": PROMPT}], stream=True))
    assert parts[-1].done and "".join(p.message.content for p in parts) == whole.message.content
    gen = list(c.generate(model="phi3", prompt=PROMPT, stream=True))
    assert gen[-1].done and gen[-1].eval_count
    assert [m.model for m in c.list().models] == ["phi3:latest"]
    assert c.show("phi3").details.family == "phi3"
    assert c.version() if hasattr(c, "version") else True


def test_generate_returns_text_and_tokens(fake_ollama: FakeOllama) -> None:
    """A call returns the reply, the host and the server's eval_count; same request, same reply."""
    b = _backend(fake_ollama.url)
    one = b.generate(PROMPT, system="s", schema=TITLES_SCHEMA, options={"seed": 3})
    two = b.generate(PROMPT, system="s", schema=TITLES_SCHEMA, options={"seed": 3})
    assert one.text == two.text and one.text.startswith("{")
    assert one.eval_count and one.host == fake_ollama.url


def test_5xx_is_retried_then_succeeds() -> None:
    """HTTP 500s are retried with backoff; the server saw the extra attempts."""
    with FakeOllama(FakeConfig(error_rate=0.5, seed=4)) as srv:
        b = _backend(srv.url, max_retries=8)
        for _ in range(20):
            b.generate(PROMPT)
        assert srv.stats.statuses.get(500, 0) >= 3
        assert srv.stats.statuses[200] == 20


def test_4xx_is_not_retried(fake_ollama: FakeOllama) -> None:
    """An unknown model is a 404: one request, BackendError that says to pull it."""
    b = _backend(fake_ollama.url, model="nosuchmodel")
    with pytest.raises(BackendError, match="ollama pull nosuchmodel") as exc:
        b.generate(PROMPT)
    assert not isinstance(exc.value, BackendUnavailable)
    assert fake_ollama.stats.requests["/api/chat"] == 1


def test_hang_times_out_and_is_retried() -> None:
    """A reply slower than the timeout is abandoned and retried once; twice silent is a hung server."""
    from generator.backend import BackendHung

    with FakeOllama(FakeConfig(hang_rate=1.0, hang_seconds=1.0)) as srv:
        b = _backend(srv.url, timeout_s=0.3, max_retries=4)
        t0 = time.monotonic()
        with pytest.raises(BackendHung, match=r"no reply within 0\.3 s, twice.*--timeout"):
            b.generate(PROMPT)
        assert time.monotonic() - t0 < 3  # two 0.3 s waits and a backoff, not five
        srv.config.hang_rate = 0.0
        assert b.generate(PROMPT).text


def test_exhausted_retries_name_the_fix() -> None:
    """A server that always fails ends in BackendUnavailable with the last error and the fix."""
    with FakeOllama(FakeConfig(error_rate=1.0)) as srv:
        with pytest.raises(BackendUnavailable, match=r"HTTP 500.*Check the server"):
            _backend(srv.url, max_retries=2).generate(PROMPT)
        assert srv.stats.statuses[500] == 3


def test_missing_model_is_pulled_with_progress(fake_ollama: FakeOllama) -> None:
    """ensure_model pulls once, reporting progress; a second call does nothing."""
    seen: list[tuple[str, int | None, int | None]] = []
    b = _backend(fake_ollama.url, model="llama3")
    b.ensure_model(on_progress=lambda s, c, t: seen.append((s, c, t)))
    assert seen[0][0] == "pulling manifest" and seen[-1][0] == "success"
    assert any(t and c == t for _, c, t in seen)
    b.ensure_model()
    assert fake_ollama.stats.pulls == 1
    with pytest.raises(BackendError, match=r"pulling it failed.*ollama pull missing-model"):
        _backend(fake_ollama.url, model="missing-model").ensure_model()


def test_work_spreads_across_hosts() -> None:
    """With two hosts and concurrent calls, both servers get work."""
    with (
        FakeOllama(FakeConfig(per_call_overhead_s=0.05)) as a,
        FakeOllama(FakeConfig(per_call_overhead_s=0.05)) as b,
    ):
        backend = _backend([a.url, b.url])
        assert backend.parallel_slots() == 8
        assert backend.default_concurrency() == 10  # one queued call per host keeps slots busy
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: backend.generate(f"{PROMPT} {i}"), range(16)))
        assert a.stats.requests["/api/chat"] >= 4 and b.stats.requests["/api/chat"] >= 4


def test_failover_to_the_other_host() -> None:
    """When one host is down, calls still succeed on the other."""
    with FakeOllama(FakeConfig()) as good:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        backend = _backend([dead, good.url])
        for _ in range(4):
            assert backend.generate(PROMPT).host == good.url


def test_hosts_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """OLLAMA_HOST may list several hosts, with or without scheme and port."""
    monkeypatch.setenv("OLLAMA_HOST", "gpu1:11434, http://gpu2:8080,0.0.0.0")
    assert hosts_from(None) == ["http://gpu1:11434", "http://gpu2:8080", "http://127.0.0.1:11434"]


def test_small_model_profile_is_messy() -> None:
    """The small-model profile shows the artefacts the cleaner must remove."""
    with FakeOllama(small_model_profile(error_rate=0, hang_rate=0, seed=1)) as srv:
        b = _backend(srv.url)
        text = "\n".join(b.generate(f"{PROMPT} {i}", options={"seed": i}).text for i in range(30))
    assert "!" in text and any(m in text for m in ("1. ", "- ", "* ", "• "))
    assert any(p in text for p in ("Sure!", "Here are", "Okay,", "Certainly"))
