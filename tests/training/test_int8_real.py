"""int8 against fp32 on real titles, for a model trained the way `titleforge train` trains it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flows.cli import app

pytestmark = pytest.mark.slow


def test_int8_keeps_the_fp32_label_of_995_in_1000_real_titles(
    minilm: str, real_clickbait_csv: Path, tmp_path: Path
) -> None:
    """MiniLM trained on 1,024 synthetic titles with the defaults, `export --int8` calibrated on its
    DIR/dataset: at least 99.5% of the 6,000 real dev titles keep their fp32 label."""
    import pandas as pd

    from benchmarks.bench_inference import build_model
    from training.fastpredict import OnnxLite

    model = build_model(tmp_path)  # writes DIR/dataset and DIR/model
    res = CliRunner().invoke(app, ["export", "--model", str(model), "--onnx", "--int8"])
    assert res.exit_code == 0, res.output
    assert "calibrated on 512 titles" in res.output.replace("\n", "")
    texts = pd.read_csv(real_clickbait_csv)["text"].astype(str).tolist()
    fp32 = OnnxLite(model / "model.onnx").predict_proba(texts).argmax(1)
    int8 = OnnxLite(model / "model.int8.onnx").predict_proba(texts).argmax(1)
    agree = float(np.mean(fp32 == int8))
    print(f"int8 agrees with fp32 on {agree:.4f} of {len(texts)} real titles")
    assert agree >= 0.995
