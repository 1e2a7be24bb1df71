"""Device and precision choice: CUDA with bf16/fp16 autocast when present, a clean CPU path without."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.config import FinetuneConfig
from training.device import Hardware, choose_precision, detect, onnx_providers
from training.trainer import training_arguments

CPU = Hardware(cuda=False)
CPU_AMX = Hardware(cuda=False, cpu_bf16=True)
A100 = Hardware(cuda=True, cuda_bf16=True, name="A100")
T4 = Hardware(cuda=True, cuda_bf16=False, name="T4")


@pytest.mark.parametrize(
    ("asked", "hw", "chosen"),
    [
        ("auto", CPU, "fp32"),
        ("auto", CPU_AMX, "bf16"),  # native bf16 matmuls: ALBERT-base steps 1.9x faster
        ("auto", A100, "bf16"),
        ("auto", T4, "fp16"),
        ("bf16", CPU_AMX, "bf16"),
        ("bf16", T4, "fp16"),
        ("fp16", CPU, "fp32"),
        ("fp32", A100, "fp32"),
    ],
)
def test_precision_choice(asked: str, hw: Hardware, chosen: str) -> None:
    """auto: bf16 on a bf16 GPU or CPU, fp16 on an older GPU, fp32 on other CPUs; impossible asks fall back."""
    assert choose_precision(asked, hw) == chosen


def test_onnx_providers_prefer_cuda_only_when_installed() -> None:
    """CUDA first with onnxruntime-gpu; the CPU runtime gets CPU only."""
    assert onnx_providers(["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == (
        "CUDAExecutionProvider"
    )
    assert onnx_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the path without CUDA")
def test_without_cuda_training_runs_on_the_cpu(tmp_path: Path) -> None:
    """No CUDA: the Trainer is told CPU; bf16 autocast exactly when the CPU has native bf16."""
    cfg = FinetuneConfig(dataset=str(tmp_path), workdir=str(tmp_path))
    hw = detect()
    assert cfg.precision == "auto" and not hw.cuda
    args = training_arguments(cfg, 100, tmp_path / "out")
    assert args.use_cpu and args.bf16 == hw.cpu_bf16 and not args.fp16
    assert args.device.type == "cpu"
    fp32 = training_arguments(cfg.model_copy(update={"precision": "fp32"}), 100, tmp_path / "o")
    assert not fp32.bf16 and not fp32.fp16


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_and_predicts_on_cuda(tiny_model_dir: Path, tmp_path: Path) -> None:
    """With CUDA: training autocasts (bf16 or fp16) on the GPU; Predictor runs there too.

    `tiny_model_dir` is trained by `titleforge train`'s steps with the default config, so on a
    CUDA machine it was trained on the GPU with the arguments checked here.
    """
    from training.predict import Predictor

    cfg = FinetuneConfig(dataset=str(tmp_path), workdir=str(tmp_path))
    args = training_arguments(cfg, 100, tmp_path / "out")
    assert args.device.type == "cuda" and (args.bf16 or args.fp16) and not args.use_cpu
    pred = Predictor(tiny_model_dir)
    assert pred.device.type == "cuda" and pred.autocast_dtype in (torch.bfloat16, torch.float16)
    titles = [
        "council approves road budget after vote",
        "you won't believe what this mom did with rent",
    ]
    assert [lb for lb, _ in pred.predict(titles)] == ["factual", "clickbait"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_multihead_trains_on_cuda(tiny_albert: Path, tmp_path: Path) -> None:
    """The hand-written multi-head loop trains on the GPU with autocast, and hands back a CPU model."""
    from tests.fakes.tiny import make_dataset_dict
    from training.multihead_config import MultiHeadConfig
    from training.multihead_train import train_multihead

    data = make_dataset_dict()
    cfg = MultiHeadConfig(
        dataset="a,b",
        workdir=str(tmp_path),
        base_model=str(tiny_albert),
        tasks=["a", "b"],
        epochs=1,
    )
    labels = {"a": ["clickbait", "factual"], "b": ["clickbait", "factual"]}
    model, _, info = train_multihead(cfg, {"a": data, "b": data}, labels)
    assert info["ended"]["arithmetic"].startswith("cuda") and info["ended"]["arithmetic"][-4:] in (
        "bf16",
        "fp16",
    )
    assert next(model.parameters()).device.type == "cpu"
