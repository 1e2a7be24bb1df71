"""Where training and prediction run (CUDA when present, else CPU) and in which arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Precision = Literal["fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class Hardware:
    """What the machine offers: a CUDA device (and whether it does bf16), a bf16-native CPU."""

    cuda: bool
    cuda_bf16: bool = False
    cpu_bf16: bool = False
    name: str = "cpu"


def cpu_has_bf16() -> bool:
    """The CPU computes bf16 natively (AVX512-BF16 or AMX): oneDNN then runs bf16 matmuls fast."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def detect() -> Hardware:
    """The hardware torch sees now."""
    import torch

    if torch.cuda.is_available():
        return Hardware(
            cuda=True,
            cuda_bf16=torch.cuda.is_bf16_supported(),
            cpu_bf16=cpu_has_bf16(),
            name=torch.cuda.get_device_name(0),
        )
    return Hardware(cuda=False, cpu_bf16=cpu_has_bf16())


def choose_precision(asked: str, hw: Hardware) -> Precision:
    """The arithmetic to train in: `auto` is bf16 (fp16 on GPUs without bf16) on CUDA, and bf16 on
    a CPU that computes it natively (AVX512-BF16, AMX), else fp32.

    Measured on a 2-core AVX512-BF16 CPU: ALBERT-base's training loop runs 2.9x faster in bf16
    autocast (benchmarks/bench_training_knobs.py), MiniLM's whole run 1.6x, with the same real-data
    accuracy; weights and optimiser state stay fp32. CPUs without native bf16 would emulate it,
    slower than fp32.
    """
    if asked == "auto":
        if not hw.cuda:
            return "bf16" if hw.cpu_bf16 else "fp32"
        return "bf16" if hw.cuda_bf16 else "fp16"
    if asked == "fp16" and not hw.cuda:
        return "fp32"  # fp16 autocast is a GPU feature; on a CPU it is slow and lossy
    if asked == "bf16" and hw.cuda and not hw.cuda_bf16:
        return "fp16"  # older GPUs (e.g. T4, V100) have no bf16 units
    return asked  # type: ignore[return-value]


def device_label(hw: Hardware, precision: str) -> str:
    """One line for logs and benchmark tables, e.g. 'cuda (NVIDIA A10G), bf16' or 'cpu, fp32'."""
    where = f"cuda ({hw.name})" if hw.cuda else "cpu"
    return f"{where}, {precision}"


def onnx_providers(available: list[str]) -> list[str]:
    """ONNX Runtime providers to ask for: CUDA first when the installed runtime has it, CPU always."""
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available] or [
        "CPUExecutionProvider"
    ]


@dataclass(frozen=True)
class Arithmetic:
    """Where a hand-written training loop runs and how: device, autocast dtype, fp16 loss scaler."""

    device: Any
    dtype: Any  # torch.bfloat16 / torch.float16 for autocast, None for fp32
    scaler: Any  # torch.amp.GradScaler, a no-op unless fp16
    label: str

    @classmethod
    def choose(cls, asked: str) -> Arithmetic:
        """CUDA when present, else the CPU; the precision `choose_precision` picks for `asked`."""
        import torch

        hw = detect()
        precision = choose_precision(asked, hw)
        device = torch.device("cuda" if hw.cuda else "cpu")
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        return cls(device, dtype, scaler, device_label(hw, precision))

    def autocast(self) -> Any:
        """The autocast context for a forward pass (a no-op in fp32)."""
        import torch

        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)

    def put(self, tensors: tuple[Any, ...]) -> tuple[Any, ...]:
        """The tensors on this device."""
        return tuple(t.to(self.device) for t in tensors)
