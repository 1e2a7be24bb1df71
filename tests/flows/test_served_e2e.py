"""End to end through a real Prefect server: serve the deployments, trigger the manual one, read back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.ollama_server import FakeConfig, FakeOllama
from tests.flows.prefect_server import api_call, stop_group

REPO = Path(__file__).resolve().parents[2]


def _wait_run(api: str, run_id: str, timeout_s: float) -> dict:
    """Poll a flow run until it reaches a final state."""
    deadline = time.monotonic() + timeout_s
    state: dict = {}
    while time.monotonic() < deadline:
        state = api_call(api, f"/flow_runs/{run_id}")["state"]  # type: ignore[index]
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
        for fr in api_call(api, "/flow_runs/filter", {}):  # type: ignore[union-attr]
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
                deployments = api_call(api, "/deployments/filter", {})  # type: ignore[assignment]
                time.sleep(1)
            by_name = {d["name"]: d for d in deployments}
            assert set(by_name) == {"nightly", "regenerate"}, by_name.keys()
            schedules = by_name["nightly"]["schedules"]
            assert schedules and schedules[0]["schedule"]["cron"] == "30 3 * * *"
            limit = api_call(api, "/v2/concurrency_limits/ollama-slots")
            assert limit["limit"] == 4  # type: ignore[index]

            manual = by_name["regenerate"]
            params = manual["parameters"]
            params["config"]["workdir"] = str(runs / "manual")
            run = api_call(
                api, f"/deployments/{manual['id']}/create_flow_run", {"parameters": params}
            )
            run_id = run["id"]  # type: ignore[index]
            state = _wait_run(api, run_id, 300)
            assert state.get("type") == "COMPLETED", (
                state,
                (tmp_path / "serve.log").read_text()[-4000:],
            )

            nightly = by_name["nightly"]
            nparams = nightly["parameters"]
            nparams["config"]["generate"]["workdir"] = str(runs / "nightly")
            nrun = api_call(
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
            stop_group(server)

    arts = api_call(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    kinds = {a["key"]: a["type"] for a in arts}  # type: ignore[union-attr]
    # one key per kind, task and deployment: the same keys night after night
    assert kinds.get("regenerate-clickbait-dataset-report") == "markdown", kinds
    assert "regenerate-clickbait-drops" in kinds, kinds
    assert "regenerate-clickbait-generation-progress" in kinds, kinds
    report = next(a for a in arts if a["key"] == "regenerate-clickbait-dataset-report")  # type: ignore[union-attr]
    assert "Shortcut audit" in report["data"] and "dropped because" in report["data"]
    assert (runs / "manual" / "dataset" / "dataset_dict.json").exists()
    assert (runs / "manual" / "raw.jsonl").exists()

    narts = api_call(
        api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [nrun["id"]]}}}
    )  # type: ignore[index]
    nkeys = {a["key"] for a in narts}  # type: ignore[union-attr]
    assert "nightly-clickbait-pipeline-report" in nkeys, nkeys
    every_key = [a["key"] for a in api_call(api, "/artifacts/filter", {})]  # type: ignore[union-attr]
    # the drops table once per deployment (from generation), the per-label table from training
    assert sum(k.endswith("-drops") for k in every_key if k.startswith("nightly-")) == 1, every_key
    assert "nightly-clickbait-per-label" in every_key, every_key
    text = next(a for a in narts if a["key"] == "nightly-clickbait-pipeline-report")["data"]  # type: ignore[union-attr]
    assert (
        "synthetic accuracy" in text
        and "real test accuracy" in text
        and "Overfitting verdict" in text
    )
    # plots inlined as data URIs: the UI cannot load a run directory's files
    assert "data:image/png;base64," in text and "](confusion_real.png)" not in text
    # every run carries its task and round as tags: the nightly, and the subflows it started
    runs_by_flow: dict[str, list[dict]] = {}
    flows_by_id = {f["id"]: f["name"] for f in api_call(api, "/flows/filter", {})}  # type: ignore[union-attr]
    for fr in api_call(api, "/flow_runs/filter", {}):  # type: ignore[union-attr]
        runs_by_flow.setdefault(flows_by_id[fr["flow_id"]], []).append(fr)
    assert set(runs_by_flow) == {
        "titleforge-pipeline",
        "titleforge-generate",
        "titleforge-finetune",
    }
    nightly_run = api_call(api, f"/flow_runs/{nrun['id']}")  # type: ignore[index]
    assert {"task:clickbait", "round:nightly"} <= set(nightly_run["tags"]), nightly_run["tags"]  # type: ignore[index]
    for fr in runs_by_flow["titleforge-finetune"]:
        assert "task:clickbait" in fr["tags"] and "round:nightly" in fr["tags"], fr["tags"]
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
            stop_group(server)
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
            stop_group(worker)
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")
    assert final, ("no scheduled run finished within 240 s", worker_log[-4000:])
    assert final["state"]["type"] == "COMPLETED", (final["state"], worker_log[-4000:])
    rounds = [p for p in (runs / "clickbait").iterdir() if p.is_dir()]
    assert rounds and all((p / "report.json").exists() for p in rounds[:1]), rounds
    print(f"worker ran scheduled {final['name']} in {time.monotonic() - t0:.0f} s")
