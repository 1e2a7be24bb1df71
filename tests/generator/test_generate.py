"""Generation with quotas against the loopback Ollama: quotas, budget, error rows, kill and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.fingerprint import FingerprintMismatch
from generator.generate import GenerationBudgetExceeded, generate_titles
from generator.items import TitleforgeError
from generator.ollama_backend import OllamaBackend
from generator.rawlog import RawLog, read_rows
from generator.spec import TaskSpec, load_spec
from tests.fakes.ollama_server import FakeConfig, FakeOllama, small_model_profile

REPO = Path(__file__).resolve().parents[2]


def _run(url: str, workdir: Path, per_label: int = 40, **kw) -> object:
    """generate_titles with fast retries and no terminal bar."""
    backend = OllamaBackend(hosts=url, backoff_s=0.01, timeout_s=kw.pop("timeout_s", 5))
    return generate_titles(
        load_spec("clickbait"), backend, workdir, per_label=per_label, show_progress=False, **kw
    )


def test_quota_reached_on_a_messy_flaky_server(tmp_path: Path) -> None:
    """Small-model replies, 10% 500s: every label gets its quota, errors are rows, ids unique."""
    with FakeOllama(small_model_profile(hang_rate=0.0, seed=2)) as srv:
        res = _run(srv.url, tmp_path, per_label=60, concurrency=4)
    assert res.per_label == {"clickbait": 60, "factual": 60}
    rows = read_rows(tmp_path / "raw.jsonl")
    assert len(rows) == res.calls_total == len({r["call_id"] for r in rows})
    for r in rows:
        assert {
            "call_id",
            "label",
            "prompt",
            "response",
            "titles",
            "model",
            "error",
            "eval_count",
        } <= r.keys()
    clean = [json.loads(line) for line in (tmp_path / "clean.jsonl").read_text().splitlines()]
    assert len(clean) == 120 and not any(c["text"].endswith("!") for c in clean)
    assert sum(res.dropped.values()) > 0


def test_calls_landing_between_recounts_are_counted_towards_the_quota(tmp_path: Path) -> None:
    """Fast calls land before the (throttled) recount: the scheduler must not over-ask meanwhile."""
    with FakeOllama(FakeConfig(profile="small-model", slots=4, seed=3)) as srv:
        res = _run(srv.url, tmp_path, per_label=50, concurrency=5)
    assert res.per_label == {"clickbait": 50, "factual": 50}
    # 100 titles at 10 per call: 10 calls if every title survived; allow the queued round's slack
    assert res.calls_total <= 10 + 5, res.calls_total
    assert res.dropped.get("surplus_over_quota", 0) <= 50


def test_budget_stops_a_broken_prompt(tmp_path: Path) -> None:
    """A server that only refuses exhausts the call budget with a clear error."""
    with FakeOllama(FakeConfig(refusal_rate=1.0)) as srv:
        with pytest.raises(GenerationBudgetExceeded, match=r"budget of 6.*refusal"):
            _run(srv.url, tmp_path, per_label=10, max_calls=6, concurrency=2)
        assert srv.stats.requests["/api/chat"] == 6
    assert len(read_rows(tmp_path / "raw.jsonl")) == 6


def test_a_spell_of_404s_stops_at_once_and_the_failed_calls_are_redone(tmp_path: Path) -> None:
    """Model gone: the run stops on the first 404 naming `ollama pull`; later the calls are redone."""
    from generator.backend import ModelMissing

    cfg = {"seed": 5, "profile": "small-model"}
    with FakeOllama(FakeConfig(**cfg)) as srv:
        _run(srv.url, tmp_path / "clean", per_label=30, concurrency=3)
    with FakeOllama(FakeConfig(**cfg, models=[])) as srv:
        with pytest.raises(ModelMissing, match="ollama pull phi3"):
            _run(srv.url, tmp_path / "poisoned", per_label=30, concurrency=3)
        failed = read_rows(tmp_path / "poisoned" / "raw.jsonl")
        # stopped at once: only the calls already in flight, not a budget's worth of error rows
        assert 1 <= len(failed) <= 3 and all("ollama pull" in r["error"] for r in failed)
        srv.config.models = ["phi3:latest"]
        res = _run(srv.url, tmp_path / "poisoned", per_label=30, concurrency=3)
    rows = read_rows(tmp_path / "poisoned" / "raw.jsonl")
    ok = {r["call_id"] for r in rows if not r.get("error")}
    assert {r["call_id"] for r in failed} <= ok  # every failed call was asked again and answered
    assert len(ok) == len([r for r in rows if not r.get("error")])  # no call answered twice
    assert res.calls_new == len(ok)
    assert (tmp_path / "clean" / "clean.jsonl").read_text() == (
        tmp_path / "poisoned" / "clean.jsonl"
    ).read_text()


def test_an_outage_stops_the_run_with_its_rows_logged(tmp_path: Path) -> None:
    """A server that keeps failing raises BackendUnavailable after logging the calls."""
    from generator.backend import BackendUnavailable

    with FakeOllama(FakeConfig(error_rate=1.0)) as srv:
        backend = OllamaBackend(hosts=srv.url, backoff_s=0.01, max_retries=1)
        with pytest.raises(BackendUnavailable):
            generate_titles(
                load_spec("clickbait"),
                backend,
                tmp_path / "b",
                per_label=5,
                concurrency=2,
                show_progress=False,
            )
    assert all(
        r["error"].startswith("unavailable") for r in read_rows(tmp_path / "b" / "raw.jsonl")
    )


def test_resume_skips_done_calls_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """Stop after some calls, resume: no call repeated, same clean titles as one straight run."""
    cfg = {"seed": 5, "profile": "small-model"}
    with FakeOllama(FakeConfig(**cfg)) as srv:
        _run(srv.url, tmp_path / "straight", per_label=50, concurrency=3)
    with FakeOllama(FakeConfig(**cfg)) as srv:
        with pytest.raises(GenerationBudgetExceeded):
            _run(srv.url, tmp_path / "resumed", per_label=50, concurrency=3, max_calls=5)
        first = srv.stats.requests["/api/chat"]
        res = _run(srv.url, tmp_path / "resumed", per_label=50, concurrency=3)
        assert res.calls_resumed == 5 and srv.stats.requests["/api/chat"] == first + res.calls_new
    ids = [r["call_id"] for r in read_rows(tmp_path / "resumed" / "raw.jsonl")]
    assert len(ids) == len(set(ids))
    assert (tmp_path / "straight" / "clean.jsonl").read_text() == (
        tmp_path / "resumed" / "clean.jsonl"
    ).read_text()


def test_other_run_in_workdir_is_refused(tmp_path: Path) -> None:
    """A workdir holding another seed's calls is an error naming the fix."""
    with FakeOllama(FakeConfig()) as srv:
        _run(srv.url, tmp_path, per_label=5)
        with pytest.raises(TitleforgeError, match="another --workdir"):
            _run(srv.url, tmp_path, per_label=5, seed=9)


def _with(spec: TaskSpec, **update: object) -> TaskSpec:
    """The spec with generation options or top-level fields replaced."""
    gen = {k: update.pop(k) for k in ("temperature", "num_predict") if k in update}
    return spec.model_copy(
        update={**update, "generation": spec.generation.model_copy(update=gen)}, deep=True
    )


def _relabel(spec: TaskSpec) -> TaskSpec:
    """The spec with the first label's description reworded."""
    labels = [lb.model_copy() for lb in spec.labels]
    labels[0] = labels[0].model_copy(update={"description": labels[0].description + " Short."})
    return spec.model_copy(update={"labels": labels})


def _retemplated(spec: TaskSpec, which: str) -> TaskSpec:
    """The spec reading a copy of its templates in which one template has an extra sentence."""
    src = spec.template_path("system").parent  # type: ignore[arg-type]
    dst = Path(tempfile.mkdtemp()) / "templates"
    shutil.copytree(src, dst)
    path = dst / Path(getattr(spec.templates, which)).name
    path.write_text(path.read_text() + "\nBe concise.\n")
    return spec.model_copy(update={"base_dir": dst.parent})


def _cleaning(spec: TaskSpec) -> TaskSpec:
    """The spec with one cleaning option flipped."""
    cleaning = spec.cleaning.model_copy(update={"strip_hashtags": not spec.cleaning.strip_hashtags})
    return spec.model_copy(update={"cleaning": cleaning})


DATA_OPTIONS = {"near_dup_threshold": 0.8, "balance": "downsample", "split_ratios": [0.8, 0.1, 0.1]}


@pytest.mark.parametrize(
    ("option", "change"),
    [
        ("system_template", lambda spec, kw: (_retemplated(spec, "system"), kw)),
        ("user_template", lambda spec, kw: (_retemplated(spec, "user"), kw)),
        ("cleaning", lambda spec, kw: (_cleaning(spec), kw)),
        (
            "near_dup_threshold",
            lambda spec, kw: (spec, {**kw, "options": {**DATA_OPTIONS, "near_dup_threshold": 0.6}}),
        ),
        (
            "balance",
            lambda spec, kw: (spec, {**kw, "options": {**DATA_OPTIONS, "balance": "none"}}),
        ),
        (
            "split_ratios",
            lambda spec, kw: (
                spec,
                {**kw, "options": {**DATA_OPTIONS, "split_ratios": [0.7, 0.2, 0.1]}},
            ),
        ),
        ("seed", lambda spec, kw: (spec, {**kw, "seed": 7})),
        ("model", lambda spec, kw: (spec, {**kw, "model": "phi3:mini"})),
        ("temperature", lambda spec, kw: (_with(spec, temperature=0.3), kw)),
        ("num_predict", lambda spec, kw: (_with(spec, num_predict=300), kw)),
        ("titles_per_call", lambda spec, kw: (_with(spec, titles_per_call=5), kw)),
        ("labels", lambda spec, kw: (_relabel(spec), kw)),
    ],
)
def test_changed_call_option_is_refused_naming_it_and_never_mixes_calls(
    tmp_path: Path, option: str, change: Callable[..., tuple[TaskSpec, dict]]
) -> None:
    """Re-running a workdir with one call-shaping option changed stops, names it, and adds no row."""
    base = {"seed": 0, "model": "phi3", "options": DATA_OPTIONS}
    with FakeOllama(FakeConfig()) as srv:

        def run(spec: TaskSpec, kw: dict) -> object:
            """generate_titles with this spec, seed and model."""
            backend = OllamaBackend(model=kw["model"], hosts=srv.url, backoff_s=0.01, timeout_s=5)
            return generate_titles(
                spec,
                backend,
                tmp_path,
                per_label=5,
                seed=kw["seed"],
                show_progress=False,
                options=kw["options"],
            )

        spec = load_spec("clickbait")
        run(spec, base)
        before = (tmp_path / "raw.jsonl").read_text()
        with pytest.raises(FingerprintMismatch, match=rf"changed: {option}\b"):
            run(*change(spec, base))
        assert (tmp_path / "raw.jsonl").read_text() == before
        rows = read_rows(tmp_path / "raw.jsonl")
        assert {r["fingerprint"] for r in rows} == {
            json.loads((tmp_path / "fingerprint.json").read_text())["fingerprint"]
        }
        # The same options resume; a higher quota only extends the same call stream.
        res = run(spec, base)
        assert res.calls_new == 0
        assert generate_titles(
            spec,
            OllamaBackend(hosts=srv.url, backoff_s=0.01, timeout_s=5),
            tmp_path,
            per_label=8,
            show_progress=False,
            options=DATA_OPTIONS,
        ).calls_resumed == len(rows)


def test_truncated_last_line_is_ignored_and_not_glued(tmp_path: Path) -> None:
    """A kill mid-write leaves half a line: readers skip it, the next row starts on a fresh line."""
    path = tmp_path / "raw.jsonl"
    path.write_text('{"call_id": "a-1", "label": "x"}\n{"call_id": "a-2", "lab')
    assert [r["call_id"] for r in read_rows(path)] == ["a-1"]
    with RawLog(path) as log:
        log.append({"call_id": "a-3", "label": "x"})
    assert [r["call_id"] for r in read_rows(path)] == ["a-1", "a-3"]


CHILD = """
import sys
from pathlib import Path
from generator.fingerprint import FingerprintMismatch
from generator.generate import generate_titles
from generator.ollama_backend import OllamaBackend
from generator.spec import TaskSpec, load_spec
generate_titles(load_spec("clickbait"), OllamaBackend(hosts=sys.argv[1], backoff_s=0.01), Path(sys.argv[2]),
                per_label=int(sys.argv[3]), concurrency=4, show_progress=False)
"""


def test_killed_twice_then_finishes_without_repeats(tmp_path: Path) -> None:
    """SIGKILL the generator twice mid-run; the third run finishes with unique call ids and the quota."""
    work = tmp_path / "run"
    cfg = small_model_profile(hang_rate=0.0, seed=7, per_call_overhead_s=0.05)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with FakeOllama(cfg) as srv:
        for kill_after in (6, 14):
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, srv.url, str(work), "150"], cwd=REPO, env=env
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(read_rows(work / "raw.jsonl")) < kill_after:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL, (
                "the child finished before it could be killed"
            )
        done = subprocess.run(
            [sys.executable, "-c", CHILD, srv.url, str(work), "150"], cwd=REPO, env=env, timeout=120
        )
        assert done.returncode == 0
    rows = read_rows(work / "raw.jsonl")
    ids = Counter(r["call_id"] for r in rows)
    assert max(ids.values()) == 1
    clean = [json.loads(line) for line in (work / "clean.jsonl").read_text().splitlines()]
    assert Counter(c["label"] for c in clean) == {"clickbait": 150, "factual": 150}


@pytest.mark.parametrize("names", [["C", "C++", "C#"], ["体育", "政治"]])
def test_labels_with_colliding_readable_names_resume_cleanly(
    tmp_path: Path, names: list[str]
) -> None:
    """Stop after a few calls and resume: every label reaches its quota, no call id repeats."""
    from generator.spec import LabelSpec

    spec = load_spec("clickbait")
    labels = [LabelSpec(name=n, description=f"News about {n}.") for n in names]
    spec = spec.model_copy(update={"labels": labels})
    with FakeOllama(FakeConfig(seed=2)) as srv:
        backend = OllamaBackend(hosts=srv.url, backoff_s=0.01, timeout_s=5)
        kw = {"per_label": 12, "show_progress": False, "concurrency": 2}
        with pytest.raises(GenerationBudgetExceeded):
            generate_titles(spec, backend, tmp_path, max_calls=len(names), **kw)
        res = generate_titles(spec, backend, tmp_path, **kw)
    ids = [r["call_id"] for r in read_rows(tmp_path / "raw.jsonl")]
    assert len(ids) == len(set(ids)) and res.calls_resumed == len(names)
    assert res.per_label == dict.fromkeys(names, 12)


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_torn_last_line_is_set_aside_and_redone_and_files_follow_the_umask(
    tmp_path: Path, mask: int
) -> None:
    """A kill mid-write: the fragment goes to raw.torn.jsonl, its call is redone; modes per umask."""
    old = os.umask(mask)
    try:
        with FakeOllama(FakeConfig(seed=4)) as srv:
            _run(srv.url, tmp_path, per_label=20, concurrency=2)
            raw = tmp_path / "raw.jsonl"
            lines = raw.read_bytes().splitlines(keepends=True)
            last = json.loads(lines[-1])
            raw.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
            # a higher quota needs more calls of every label: the gap left by the torn call first
            res = _run(srv.url, tmp_path, per_label=40, concurrency=2)
    finally:
        os.umask(old)
    assert res.torn_lines == 1
    assert (tmp_path / "raw.torn.jsonl").read_bytes() == lines[-1][: len(lines[-1]) // 2] + b"\n"
    rows = read_rows(raw)
    assert raw.read_bytes().endswith(b"\n") and len(raw.read_bytes().splitlines()) == len(rows)
    assert last["call_id"] in {r["call_id"] for r in rows}  # the torn call was asked again
    for name in ("raw.jsonl", "clean.jsonl", "raw.torn.jsonl"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
