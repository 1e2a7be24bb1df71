"""The report artifact as a user sees it: the Prefect UI page in headless Chromium, every plot loaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL_DIR
from tests.fakes.ollama_server import FakeConfig, FakeOllama
from tests.flows.prefect_server import api_call, running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# every <img> finished loading, and at least the plots we expect are there
ALL_LOADED = "n => document.images.length >= n && [...document.images].every(i => i.complete)"


@pytest.mark.slow
def test_report_artifact_page_shows_every_plot_in_a_real_browser(
    tmp_path: Path, tiny_albert: Path
) -> None:
    """A finished run's report artifact, opened in the UI: every image has naturalWidth > 0."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    real = REAL_DIR / "stop_clickbait_dev.csv"
    if not real.exists():
        pytest.skip(f"real data not found at {real}")
    workdir = tmp_path / "run"
    with running_server(tmp_path, ui=True) as (api, env), FakeOllama(FakeConfig(seed=2)) as fake:
        cmd = [sys.executable, "-m", "flows.cli", "run", "--workdir", str(workdir)]
        cmd += ["--task", "clickbait", "--per-label", "15", "--ollama-host", fake.url]
        cmd += ["--base-model", str(tiny_albert), "--epochs", "1", "--real-data", str(real)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        arts = api_call(
            api,
            "/artifacts/filter",
            {"artifacts": {"key": {"any_": ["clickbait-pipeline-report"]}}},
        )
        assert isinstance(arts, list) and arts, "no report artifact on the server"
        latest = max(arts, key=lambda a: a["created"])
        assert "data:image/png;base64," in latest["data"]
        n_images = latest["data"].count("data:image/png;base64,")
        ui = api.removesuffix("/api")
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(f"{ui}/artifacts/artifact/{latest['id']}", wait_until="networkidle")
            page.wait_for_function(ALL_LOADED, arg=n_images, timeout=60_000)
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.currentSrc.slice(0, 30), i.naturalWidth])"
            )
            shown = page.inner_text("body")
            page.screenshot(path=str(workdir / "report-artifact.png"), full_page=True)
            browser.close()
    plots = [w for w in widths if w[0].startswith("data:image/png")]
    assert len(plots) == n_images >= 3, widths  # confusion (synthetic, real) and loss curves
    assert all(width > 0 for _, width in widths), widths
    # escaped titles read as text: the UI shows numeric entities (&#x27;) literally
    assert "Overfitting verdict" in shown and "&#" not in shown and "&amp;" not in shown
    # numbers for people: the default peak learning rate reads 5e-05 in the UI, not 0.0
    assert "peak 5e-05" in shown, shown[:2000]
    # offline, nothing (Prefect's telemetry included) logged an ERROR on the way
    assert not [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
    assert (workdir / "report-artifact.png").stat().st_size > 10_000
    assert os.environ.get("HF_TOKEN", "\0") not in (workdir / "report.md").read_text()
