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
        ("auto", CPU_AMX, "fp32"),  # CPU results stay as they were
        ("auto", A100, "bf16"),
        ("auto", T4, "fp16"),
        ("bf16", CPU_AMX, "bf16"),
        ("bf16", T4, "fp16"),
        ("fp16", CPU, "fp32"),
        ("fp32", A100, "fp32"),
    ],
)
def test_precision_choice(asked: str, hw: Hardware, chosen: str) -> None:
    """auto: bf16 on a bf16 GPU, fp16 on an older one, fp32 on any CPU; impossible asks fall back."""
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
def test_without_cuda_training_runs_on_the_cpu_in_fp32(tmp_path: Path) -> None:
    """No CUDA: the Trainer is told CPU, no autocast; the default config asks for auto."""
    cfg = FinetuneConfig(dataset=str(tmp_path), workdir=str(tmp_path))
    assert cfg.precision == "auto" and not detect().cuda
    args = training_arguments(cfg, 100, tmp_path / "out")
    assert args.use_cpu and not args.bf16 and not args.fp16
    assert args.device.type == "cpu"


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
