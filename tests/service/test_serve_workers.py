"""``ticketguard serve --workers 2``: both worker processes serve the model the command resolved, and the
schema is upgraded once, by the command, not again by every worker."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.service.conftest import API_KEY
from tests.service.server_process import free_port, server_process

UPGRADED = "database schema is at head"
LOADED = "loaded transformer model"


def test_two_workers_serve_and_only_the_command_upgrades_the_schema(tmp_path: Path, tiny_artifact: Path) -> None:
    port = free_port()
    env = {"TICKETGUARD_CACHE_DIR": str(tmp_path / "cache"), "TICKETGUARD_LOG_FORMAT": "json",
           "TICKETGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'ticketguard.db'}", "TICKETGUARD_API_KEYS": API_KEY}
    command = [sys.executable, "-m", "ticketguard.cli.main", "serve", "--model", str(tiny_artifact),
               "--port", str(port), "--workers", "2"]
    with server_process(command, env=env, cwd=tmp_path, port=port) as base:
        response = httpx.post(f"{base}/v1/classify", json={"text": "Where is my parcel?"},
                              headers={"X-API-Key": API_KEY}, timeout=60)
        assert response.status_code == 200, response.text
    output = (tmp_path / "server.log").read_text(errors="replace")
    assert output.count(LOADED) == 2, output[-3000:]  # each worker logs, as the command configured
    assert output.count(UPGRADED) == 1, output[-3000:]
