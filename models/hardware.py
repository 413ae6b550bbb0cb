"""What the hardware does fast: used to pick bfloat16 only where it is native."""

from __future__ import annotations

import torch


def bf16_is_fast(device: str = "cpu") -> bool:
    """Whether bfloat16 matmuls run natively on ``device`` (AVX512-BF16/AMX CPUs, Ampere+ GPUs).

    On other CPUs bfloat16 is emulated and slower than float32, so callers fall back to float32.
    """
    kind = torch.device(device).type
    if kind == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if kind != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # torch built without oneDNN
        return False
