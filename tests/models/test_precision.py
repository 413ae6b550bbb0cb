"""Which precision a classifier runs in: the guard's verdicts, the choice at load, forced modes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ticketguard.models.artifact import Hardware, ModeCheck, PrecisionReport, read_precision, write_precision
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import ArtifactError
from ticketguard.models.hardware import batch_limits, bf16_is_fast, pick_device
from ticketguard.models.precision import available_modes, choose_precision

CPU_BF16 = Hardware(device="cpu", bf16_native=True, threads=2)


def report(hardware: Hardware = CPU_BF16, **modes: tuple[float, float, float]) -> PrecisionReport:
    """A guard from (agreement, macro-F1, msgs/s) per mode; fp32 is 100% / 0.90 / 70 unless given."""
    checks = {"fp32": ModeCheck(1.0, 0.90, 70.0)}
    checks.update({m: ModeCheck(*values) for m, values in modes.items()})
    return PrecisionReport(rows=1000, hardware=hardware, modes=checks)


def test_guard_verdicts_name_the_bar_that_failed():
    guard = report(bf16=(1.0, 0.90, 170.0), int8=(0.904, 0.89, 220.0), lossy=(0.995, 0.893, 1.0))
    assert guard.failure("bf16") is None
    assert guard.failure("int8") == "90.4% of labels equal to fp32 (the bar is 99%)"
    assert guard.failure("lossy") == "macro-F1 0.7 points below fp32 (the bar is 0.5)"
    assert guard.failure("nothing") == "nothing was not measured"


def test_auto_picks_the_fastest_mode_that_passed_on_this_hardware():
    guard = report(bf16=(1.0, 0.90, 170.0), int8=(0.904, 0.89, 220.0))
    choice = choose_precision("auto", guard, device="cpu", bf16_native=True)
    assert (choice.mode, choice.forced, choice.guard, choice.trusted) == ("bf16", False, "passed", True)
    passing_int8 = report(bf16=(1.0, 0.90, 170.0), int8=(0.995, 0.899, 220.0))
    assert choose_precision("auto", passing_int8, device="cpu", bf16_native=True).mode == "int8"
    # emulated bfloat16 is never chosen, whatever was recorded elsewhere
    assert choose_precision("auto", guard, device="cpu", bf16_native=False).mode == "fp32"
    assert choose_precision("auto", passing_int8, device="cpu", bf16_native=False).mode == "int8"


def test_auto_without_a_guard_or_on_other_hardware():
    choice = choose_precision("auto", None, device="cpu", bf16_native=True)
    assert (choice.mode, choice.guard) == ("fp32", "reference")
    # measured on a CPU, loaded on a GPU: speeds do not transfer, the GPU order does (int8 is CPU only)
    guard = report(bf16=(1.0, 0.90, 20.0), int8=(0.999, 0.90, 220.0))
    assert choose_precision("auto", guard, device="cuda", bf16_native=True).mode == "bf16"
    assert choose_precision("auto", report(bf16=(0.9, 0.8, 300.0)), device="cuda", bf16_native=True).mode == "fp32"
    assert available_modes("cuda", bf16_native=True) == ("fp32", "bf16")
    assert available_modes("cpu", bf16_native=False) == ("fp32", "int8")


def test_a_forced_mode_says_whether_it_passed():
    guard = report(int8=(0.904, 0.89, 220.0))
    forced = choose_precision("int8", guard, device="cpu", bf16_native=False)
    assert (forced.mode, forced.forced, forced.trusted) == ("int8", True, False)
    assert forced.guard == "failed: 90.4% of labels equal to fp32 (the bar is 99%)"
    unmeasured = choose_precision("bf16", guard, device="cpu", bf16_native=False)
    assert (unmeasured.guard, unmeasured.trusted) == ("not measured", False)
    with pytest.raises(ArtifactError, match="CPU only"):
        choose_precision("int8", guard, device="cuda", bf16_native=True)
    with pytest.raises(ArtifactError, match="unknown precision 'fp8'"):
        choose_precision("fp8", guard, device="cpu", bf16_native=True)


def test_device_and_batch_defaults():
    assert pick_device("auto", cuda_available=True) == "cuda"
    assert pick_device("auto", cuda_available=False) == "cpu"
    assert pick_device("cuda:1", cuda_available=True) == "cuda:1"
    with pytest.raises(ValueError, match="no CUDA device"):
        pick_device("cuda", cuda_available=False)
    assert batch_limits("cuda") == (256, 32_768)
    assert batch_limits("cpu") == (64, 2048)


@pytest.fixture
def guarded(tiny_artifact: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(tiny_artifact, target)
    return target


def test_load_follows_the_artifact_guard(guarded: Path, caplog: pytest.LogCaptureFixture):
    here = Hardware(device="cpu", bf16_native=bf16_is_fast("cpu"), threads=2)
    write_precision(guarded, report(here, bf16=(1.0, 0.90, 170.0), int8=(0.999, 0.90, 220.0)))
    assert read_precision(guarded) == report(here, bf16=(1.0, 0.90, 170.0), int8=(0.999, 0.90, 220.0))
    classifier = Classifier.load(guarded, device="cpu")
    assert (classifier.precision.mode, classifier.precision.forced) == ("int8", False)
    assert classifier.backend.precision == "int8"  # type: ignore[attr-defined]
    write_precision(guarded, report(here, bf16=(1.0, 0.90, 170.0), int8=(0.90, 0.90, 220.0)))
    caplog.set_level("WARNING")
    forced = Classifier.load(guarded, device="cpu", precision="int8")
    assert forced.precision.guard.startswith("failed: 90.0% of labels")
    assert "precision int8 is in use although its guard says 'failed" in caplog.text
    # the same labels as fp32 on the tiny model, whatever the mode
    texts = ["You are a useless idiot.", "Как отменить подписку?"]
    fp32 = Classifier.load(guarded, device="cpu", precision="fp32").predict(texts)
    for mode in ("bf16", "int8"):
        assert [p.label for p in Classifier.load(guarded, precision=mode).predict(texts)] == [p.label for p in fp32]


def test_a_broken_guard_file_is_refused(guarded: Path):
    (guarded / "precision.json").write_text(json.dumps({"rows": 3, "modes": {"fp8": {}}}))
    with pytest.raises(ArtifactError, match="not a precision report"):
        Classifier.load(guarded)
