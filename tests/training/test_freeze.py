"""Fixed bottom layers and dropout on or off, as a user's trained model and report show them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from training import pipeline as steps
from training.config import FinetuneConfig
from training.freeze import encoder_layers, freeze, set_dropout
from training.report import ended_md


def _train(base: str, dataset: Path, workdir: Path, **kw: object) -> dict:
    """Train and save as `titleforge train` does; the stored training info."""
    cfg = FinetuneConfig(
        dataset=str(dataset),
        workdir=str(workdir),
        base_model=base,
        epochs=1,
        batch_size=16,
        early_stopping_patience=0,
        frozen_encoder_baseline=False,
        onnx=False,
        **kw,
    )
    return steps.train_and_save(cfg, steps.load_data(cfg))


def _tensors(folder: Path) -> dict[str, np.ndarray]:
    """The safetensors weights of a model folder, keyed without the task prefix."""
    return {k.removeprefix("bert."): v for k, v in load_file(folder / "model.safetensors").items()}


def test_minilm_keeps_its_embeddings_and_bottom_layers_and_trains_the_rest(
    minilm: str, toy_dataset_dir: Path, tmp_path: Path
) -> None:
    """Default settings: embeddings and layers 0-2 of 6 come back unchanged, layers 3-5 learned."""
    info = _train(minilm, toy_dataset_dir, tmp_path / "run")
    base, tuned = _tensors(Path(minilm)), _tensors(tmp_path / "run" / "model")
    for name in base:
        if name not in tuned or not name.startswith(("embeddings.", "encoder.layer.")):
            continue
        same = np.array_equal(base[name], tuned[name])
        layer = int(name.split(".")[2]) if name.startswith("encoder.") else -1
        if layer < 3:
            assert same, f"{name} moved although it is below the fixed line"
        elif name.endswith("dense.weight"):
            assert not same, f"{name} did not learn"
    fixed = info["ended"]["fixed"]
    assert fixed == {"embeddings": True, "layers": 3, "of_layers": 6, "dropout": True}
    assert "kept fixed: the embeddings and the bottom 3 of 6 encoder layers; dropout on" in (
        "\n".join(ended_md(info["ended"]))
    )


def test_albert_has_no_layer_to_fix_and_says_so(tiny_albert: Path) -> None:
    """ALBERT runs one layer group at every depth: nothing below the line can stay fixed."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_albert, num_labels=2)
    assert encoder_layers(model) is None
    assert freeze(model, embeddings=True, layers=3) == {
        "embeddings": True,
        "layers": 0,
        "of_layers": None,
    }
    assert any(p.requires_grad for p in model.albert.encoder.parameters())


@pytest.mark.parametrize("layers", [0, 2, 6, 40])
def test_the_top_layer_always_learns(minilm: str, layers: int) -> None:
    """Asking for more fixed layers than the model has leaves the top one learning."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=2)
    got = freeze(model, embeddings=False, layers=layers)
    stack = encoder_layers(model)
    assert got["layers"] == min(layers, 5) and got["of_layers"] == 6
    learning = [any(p.requires_grad for p in layer.parameters()) for layer in stack]
    assert learning == [i >= got["layers"] for i in range(6)]
    assert model.get_input_embeddings().weight.requires_grad is (layers == 0)
    assert set_dropout(model, on=False) > 0
    assert all(m.p == 0 for m in model.modules() if m.__class__.__name__ == "Dropout")
