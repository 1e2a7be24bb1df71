"""End to end through a real Prefect server: serve the deployments, trigger the manual one, read back."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.ollama_server import FakeConfig, FakeOllama

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    """Poll until `url` answers 200, failing early if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} came up")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up within {timeout_s} s")


def _api(base: str, path: str, body: dict | None = None) -> object:
    """Call the Prefect REST API (POST with a JSON body, GET without)."""
    req = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process group politely, then firmly."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real `prefect server start` on a free loopback port with a temporary PREFECT_HOME."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/health", 120, proc)
        yield env["PREFECT_API_URL"], env
    finally:
        _stop(proc)
        log.close()


def _wait_run(api: str, run_id: str, timeout_s: float) -> dict:
    """Poll a flow run until it reaches a final state."""
    deadline = time.monotonic() + timeout_s
    state: dict = {}
    while time.monotonic() < deadline:
        state = _api(api, f"/flow_runs/{run_id}")["state"]  # type: ignore[index]
        if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return state
        time.sleep(2)
    return state


def _scheduled_run_finished(
    api: str, proc: subprocess.Popen[bytes], log: Path, deadline: float
) -> dict:
    """The first flow run the *scheduler* made (auto_scheduled) that reached a final state."""
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
        for fr in _api(api, "/flow_runs/filter", {}):  # type: ignore[union-attr]
            # only runs the scheduler made, never one this test created
            if fr["auto_scheduled"] and fr["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED"}:
                return fr
        time.sleep(3)
    return {}


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`titleforge serve ARGS` in its own process group, logging to tmp_path/serve.log."""
    with (tmp_path / "serve.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_serve_trigger_manual_regeneration(
    prefect_server: tuple[str, dict[str, str]],
    tmp_path: Path,
    tiny_albert: Path,
    real_clickbait_csv: Path,
) -> None:
    """`titleforge serve` registers both deployments; a manual run through the API completes with artifacts."""
    api, env = prefect_server
    runs = tmp_path / "runs"
    with FakeOllama(FakeConfig(profile="small-model", seed=3)) as fake:
        server = _serve(
            tmp_path,
            env,
            "--task",
            "clickbait",
            "--per-label",
            "40",
            "--runs-dir",
            str(runs),
            "--ollama-host",
            fake.url,
            "--cron",
            "30 3 * * *",
            "--ollama-slots",
            "4",
            "--base-model",
            str(tiny_albert),
            "--epochs",
            "2",
            "--real-data",
            str(real_clickbait_csv),
        )
        try:
            deployments: list = []
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline and len(deployments) < 2:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                deployments = _api(api, "/deployments/filter", {})  # type: ignore[assignment]
                time.sleep(1)
            by_name = {d["name"]: d for d in deployments}
            assert set(by_name) == {"nightly", "regenerate"}, by_name.keys()
            schedules = by_name["nightly"]["schedules"]
            assert schedules and schedules[0]["schedule"]["cron"] == "30 3 * * *"
            limit = _api(api, "/v2/concurrency_limits/ollama-slots")
            assert limit["limit"] == 4  # type: ignore[index]

            manual = by_name["regenerate"]
            params = manual["parameters"]
            params["config"]["workdir"] = str(runs / "manual")
            run = _api(api, f"/deployments/{manual['id']}/create_flow_run", {"parameters": params})
            run_id = run["id"]  # type: ignore[index]
            state = _wait_run(api, run_id, 300)
            assert state.get("type") == "COMPLETED", (
                state,
                (tmp_path / "serve.log").read_text()[-4000:],
            )

            nightly = by_name["nightly"]
            nparams = nightly["parameters"]
            nparams["config"]["generate"]["workdir"] = str(runs / "nightly")
            nrun = _api(
                api, f"/deployments/{nightly['id']}/create_flow_run", {"parameters": nparams}
            )
            nstate = _wait_run(api, nrun["id"], 400)  # type: ignore[index]
            # a model trained on fake titles may well be judged overfit: then the run is Failed and says why
            assert nstate.get("type") == "COMPLETED" or "overfit" in (
                nstate.get("message") or ""
            ), (
                nstate,
                (tmp_path / "serve.log").read_text()[-4000:],
            )
        finally:
            _stop(server)

    arts = _api(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    kinds = {a["key"]: a["type"] for a in arts}  # type: ignore[union-attr]
    assert kinds.get("clickbait-dataset-report") == "markdown", kinds
    assert "clickbait-drops" in kinds and "clickbait-generation-progress" in kinds, kinds
    report = next(a for a in arts if a["key"] == "clickbait-dataset-report")  # type: ignore[union-attr]
    assert "Shortcut audit" in report["data"] and "dropped because" in report["data"]
    assert (runs / "manual" / "dataset" / "dataset_dict.json").exists()
    assert (runs / "manual" / "raw.jsonl").exists()

    narts = _api(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [nrun["id"]]}}})  # type: ignore[index]
    nkeys = {a["key"] for a in narts}  # type: ignore[union-attr]
    assert "clickbait-pipeline-report" in nkeys and "clickbait-pipeline-per-label" in nkeys, nkeys
    text = next(a for a in narts if a["key"] == "clickbait-pipeline-report")["data"]  # type: ignore[union-attr]
    assert (
        "synthetic accuracy" in text
        and "real test accuracy" in text
        and "Overfitting verdict" in text
    )
    # plots inlined as data URIs: the UI cannot load a run directory's files
    assert "data:image/png;base64," in text and "](confusion_real.png)" not in text
    for name in ("report.json", "report.md", "confusion_real.png", "loss_curves.png"):
        assert (runs / "nightly" / name).exists(), name
    assert (runs / "nightly" / "model" / "model.safetensors").exists()


@pytest.mark.slow
def test_cron_schedule_fires_and_the_scheduled_run_completes(
    prefect_server: tuple[str, dict[str, str]],
    tmp_path: Path,
    tiny_albert: Path,
    real_clickbait_csv: Path,
) -> None:
    """`serve --cron '* * * * *'`: the server's scheduler (no manual trigger) starts a run that finishes."""
    api, env = prefect_server
    runs = tmp_path / "runs"
    t0 = time.monotonic()
    with FakeOllama(FakeConfig(profile="small-model", seed=3)) as fake:
        server = _serve(
            tmp_path,
            env,
            *("--task", "clickbait", "--per-label", "20", "--runs-dir", str(runs)),
            *("--ollama-host", fake.url, "--cron", "* * * * *"),
            *(
                "--base-model",
                str(tiny_albert),
                "--epochs",
                "1",
                "--real-data",
                str(real_clickbait_csv),
            ),
        )
        try:
            final = _scheduled_run_finished(api, server, tmp_path / "serve.log", t0 + 180)
            # A failing manual run: `regenerate --wait` names the failing step and its message.
            failed = subprocess.run(
                [sys.executable, "-m", "flows.cli", "regenerate", "--task", "nosuch", "--wait"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            _stop(server)
    server_log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Can't evaluate bulk DML" not in server_log
    assert "sqlalchemy.exc" not in server_log
    assert final, ("no scheduled run finished within 180 s", server_log[-3000:])
    # a model trained on fake titles may be judged overfit: then Failed says why; anything else is a bug
    state = final["state"]
    assert state["type"] == "COMPLETED" or "overfit" in (state.get("message") or ""), (
        state,
        (tmp_path / "serve.log").read_text()[-4000:],
    )
    print(f"scheduled run {final['name']} {state['type']} after {time.monotonic() - t0:.0f} s")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "Failed step load-spec" in failed.stderr and "Unknown task 'nosuch'" in failed.stderr


@pytest.mark.slow
def test_prefect_deploy_with_a_process_worker_fires_on_schedule(
    prefect_server: tuple[str, dict[str, str]],
    tmp_path: Path,
    tiny_albert: Path,
    real_clickbait_csv: Path,
) -> None:
    """`prefect deploy` from prefect.yaml + a process worker: the scheduler's run completes."""
    api, env = prefect_server
    env = {**env, "TITLEFORGE_HOME": str(REPO)}
    runs = tmp_path / "runs"
    prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
    t0 = time.monotonic()
    with FakeOllama(FakeConfig(profile="small-model", seed=4)) as fake:
        params = {
            "config": {
                "generate": {
                    "task": "clickbait",
                    "per_label": 20,
                    "workdir": f"{runs}/clickbait/{{round}}",
                    "ollama_host": fake.url,
                    "real_data": {"source": str(real_clickbait_csv)},
                    "show_progress": False,
                },
                "train": {"base_model": str(tiny_albert), "epochs": 1},
                "fail_on_overfit": False,
            }
        }
        for args in (
            ["work-pool", "create", "titleforge", "--type", "process"],
            ["deploy", "--name", "nightly", "--cron", "* * * * *", "--params", json.dumps(params)],
        ):
            done = subprocess.run(
                [*prefect, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
            )
            assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [*prefect, "worker", "start", "--pool", "titleforge"],
                cwd=tmp_path,  # the deployment's pull step, not the worker's cwd, finds the code
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            final = _scheduled_run_finished(api, worker, tmp_path / "worker.log", t0 + 240)
        finally:
            _stop(worker)
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")
    assert final, ("no scheduled run finished within 240 s", worker_log[-4000:])
    assert final["state"]["type"] == "COMPLETED", (final["state"], worker_log[-4000:])
    rounds = [p for p in (runs / "clickbait").iterdir() if p.is_dir()]
    assert rounds and all((p / "report.json").exists() for p in rounds[:1]), rounds
    print(f"worker ran scheduled {final['name']} in {time.monotonic() - t0:.0f} s")
