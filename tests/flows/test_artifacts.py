"""Artifacts the Prefect UI can show: plots inlined as data URIs, only from the run directory."""

from __future__ import annotations

import base64
from pathlib import Path

from flows.artifacts import inline_images
from training.plots import loss_png


def test_report_plots_become_data_uris_and_nothing_outside_the_run_dir_is_read(
    tmp_path: Path,
) -> None:
    """A real loss plot is embedded byte for byte; a link leaving the folder stays a link."""
    run = tmp_path / "run"
    run.mkdir()
    loss_png([{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}], run / "loss_curves.png")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG not yours")
    md = "# r\n\n![loss_curves.png](loss_curves.png)\n![x](../secret.png)\n![y](missing.png)\n"
    out = inline_images(md, run)
    data = base64.b64encode((run / "loss_curves.png").read_bytes()).decode()
    assert f"![loss_curves.png](data:image/png;base64,{data})" in out
    assert "![x](../secret.png)" in out and "![y](missing.png)" in out
