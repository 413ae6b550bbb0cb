"""Precision modes of a transformer artifact, and which one to run.

``fp32`` is the reference. ``bf16`` runs the forward pass under bfloat16 autocast (fast where the
hardware has native bfloat16: AVX512-BF16/AMX CPUs and Ampere+ GPUs; emulated, and slower than
fp32, elsewhere). ``int8`` quantises the encoder's Linear layers to int8 per output channel,
dynamically per batch (CPU only), and leaves the layers that move labels most in fp32 (see
:data:`INT8_KEEP_FP32`).

Each artifact carries a guard (``precision.json``, measured at build time or by
``ticketguard precision``): every mode's agreement with fp32 labels, macro-F1 and speed on the
dev split. :func:`choose_precision` picks the fastest mode on this hardware that passed it, and
lets a caller force any mode, saying whether it passed.
"""

from __future__ import annotations

import re
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from ticketguard.models.artifact import PrecisionReport
from ticketguard.models.defaults import PRECISIONS
from ticketguard.models.errors import ArtifactError

#: modes faster than fp32 on a device kind when no speed of this kind of hardware was recorded
_STATIC_ORDER = {"cpu": ("int8", "bf16", "fp32"), "cuda": ("bf16", "fp32")}
#: Linear layers left in fp32 by ``int8``: the classification head (5 outputs; quantising it moves
#: logits directly) and the attention output projections, whose inputs carry the outliers that cost
#: most agreement in our measurement (README, "Precision modes")
INT8_KEEP_FP32 = re.compile(r"(^|\.)(classifier|head|pooler|score)(\.|$)|attention\.output\.dense$")


@dataclass(frozen=True)
class PrecisionChoice:
    """The mode a classifier runs in, and what the artifact's guard says of it.

    Attributes:
        mode: ``fp32``, ``bf16`` or ``int8``.
        forced: asked for by name rather than chosen by the guard.
        guard: ``"passed"``, ``"reference"`` (fp32), ``"not measured"`` or ``"failed: <why>"``.
    """

    mode: str
    forced: bool
    guard: str

    @property
    def trusted(self) -> bool:
        """The mode is fp32 or passed the guard."""
        return self.guard in ("passed", "reference")

    def describe(self) -> str:
        how = "forced" if self.forced else "chosen"
        return f"{self.mode} ({how}; guard {self.guard})"


def device_modes(device: str) -> tuple[str, ...]:
    """The modes that run on ``device`` at all: int8 (torch's dynamic quantisation) is CPU only."""
    return tuple(m for m in PRECISIONS if m != "int8" or torch.device(device).type == "cpu")


def available_modes(device: str, *, bf16_native: bool) -> tuple[str, ...]:
    """The modes worth running on ``device``: those of :func:`device_modes`, bf16 only where it is native."""
    return tuple(m for m in device_modes(device) if m != "bf16" or bf16_native)


def guard_verdict(report: PrecisionReport | None, mode: str) -> str:
    """What the guard says of ``mode``: ``reference`` (fp32), ``passed``, ``failed: <why>`` or ``not measured``."""
    if mode == "fp32":
        return "reference"
    if report is None or mode not in report.modes:
        return "not measured"
    failure = report.failure(mode)
    return "passed" if failure is None else f"failed: {failure}"


def choose_precision(requested: str, report: PrecisionReport | None, *, device: str,
                     bf16_native: bool) -> PrecisionChoice:
    """The mode to run: the one asked for, or with ``"auto"`` the fastest that passed the guard.

    Speeds recorded on the same device kind rank the modes; without them (no guard yet, or a guard
    measured on a CPU and loaded on a GPU) a fixed order does: int8, bf16, fp32 on a CPU, bf16 then
    fp32 on a GPU. Only modes of :func:`available_modes` are chosen automatically.

    Raises:
        ArtifactError: an unknown mode, or int8 on a GPU.
    """
    kind = torch.device(device).type
    if requested != "auto":
        if requested not in PRECISIONS:
            raise ArtifactError(f"unknown precision {requested!r}, expected auto or one of {PRECISIONS}")
        if requested not in device_modes(device):
            raise ArtifactError(f"{requested} does not run on {kind} (what does: {', '.join(device_modes(device))}); "
                                "int8 runs on the CPU only")
        return PrecisionChoice(requested, forced=True, guard=guard_verdict(report, requested))
    candidates = [m for m in available_modes(device, bf16_native=bf16_native)
                  if guard_verdict(report, m) in ("passed", "reference")]
    if report is not None and (report.hardware.device, report.hardware.bf16_native) == (kind, bf16_native):
        speeds = {m: check.msgs_per_s for m, check in report.modes.items()}
        best = max(candidates, key=lambda m: speeds.get(m, 0.0))
    else:
        best = next(m for m in _STATIC_ORDER.get(kind, ("fp32",)) if m in candidates)
    return PrecisionChoice(best, forced=False, guard=guard_verdict(report, best))


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """The model with int8 per-channel dynamic Linear layers, except those of :data:`INT8_KEEP_FP32`."""
    spec = {name: torch.ao.quantization.per_channel_dynamic_qconfig for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not INT8_KEEP_FP32.search(name)}
    with warnings.catch_warnings():
        # torch announces the removal of quantised tensors in favour of torchao (not installable here)
        warnings.filterwarnings("ignore", message=".*quantize_per_channel.*", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model.eval(), spec, dtype=torch.qint8)


def autocast_for(mode: str, device: torch.device) -> AbstractContextManager[object]:
    """The context a forward pass runs in: bfloat16 autocast for ``bf16``, nothing otherwise."""
    if mode == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
