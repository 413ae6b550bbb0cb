"""The service says which precision its model runs in, and when a forced one failed the guard."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ticketguard.models.artifact import Hardware, ModeCheck, PrecisionReport, write_precision
from ticketguard.service.app import create_app
from ticketguard.service.settings import Settings


def test_a_forced_mode_that_failed_the_guard_shows_in_readyz_and_logs(
        tiny_artifact: Path, tmp_path: Path, make_settings: Callable[..., Settings], auth: dict[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_artifact, model)
    write_precision(model, PrecisionReport(rows=100, hardware=Hardware("cpu", False, 2), modes={
        "fp32": ModeCheck(1.0, 0.9, 70.0), "int8": ModeCheck(0.9, 0.88, 200.0)}))
    caplog.set_level("WARNING")
    with TestClient(create_app(make_settings(model_path=model, precision="int8", device="cpu"))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["precision"] == {"mode": "int8", "forced": True,
                                             "guard": "failed: 90.0% of labels equal to fp32 (the bar is 99%)"}
        answer = client.post("/v1/classify", json={"text": "Where is my parcel?"}, headers=auth)
        assert answer.status_code == 200 and answer.json()["model_version"] == "tiny-test-0"
    assert "precision int8 is in use although its guard says 'failed" in caplog.text
    with TestClient(create_app(make_settings(model_path=model, device="cpu"))) as client:
        assert client.get("/readyz").json()["precision"] == {"mode": "fp32", "forced": False, "guard": "reference"}


def test_unknown_precision_or_device_setting_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="precision"):
        make_settings(precision="fp8")
    with pytest.raises(ValueError, match="device"):
        make_settings(device="tpu")
