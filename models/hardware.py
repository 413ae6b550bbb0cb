"""What the hardware does fast: the device to run on, its batch sizes, and whether bfloat16 is native."""

from __future__ import annotations

import os

import torch

from ticketguard.models.defaults import CUDA_BATCH_SIZE, CUDA_MAX_BATCH_TOKENS, DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS


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


def pick_device(requested: str, *, cuda_available: bool | None = None) -> str:
    """The torch device to run on: ``"auto"`` means CUDA when there is one, else the CPU.

    Args:
        requested: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        cuda_available: whether a CUDA device exists (default: ask torch).

    Raises:
        ValueError: a CUDA device is asked for on a machine without one.
    """
    available = torch.cuda.is_available() if cuda_available is None else cuda_available
    if requested == "auto":
        return "cuda" if available else "cpu"
    if torch.device(requested).type == "cuda" and not available:
        raise ValueError(f"device {requested!r} was asked for, but torch sees no CUDA device")
    return requested


def batch_limits(device: str) -> tuple[int, int]:
    """Default (messages, padded tokens) per forward pass on ``device``: large batches on a GPU."""
    if torch.device(device).type == "cuda":
        return CUDA_BATCH_SIZE, CUDA_MAX_BATCH_TOKENS
    return DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS


def serving_threads(cpu_count: int | None = None) -> int:
    """Torch threads for a server process: every core but one, which is left to the event loop.

    On a small machine the webhook acknowledgements, tokenising and database work run on the event
    loop between forward passes; a model holding every core starves them (measured 2026-11-30 on
    2 cores with bulk ``/v1/classify`` saturating the model: webhook ack p99 36 / 62 ms at 1 / 8
    senders with 2 torch threads, 11 / 41 ms with 1).
    """
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(1, cores - 1)
