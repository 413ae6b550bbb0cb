"""``kill -9`` of a serving process: every acknowledged delivery is classified exactly once after restart,
and a write-back queued before the crash is sent exactly once."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.service.conftest import API_KEY, SECRETS
from tests.service.fake_helpdesk import FakeHelpdesk
from tests.service.server_process import START_TIMEOUT_S, free_port, server_process
from tests.service.test_webhooks import zendesk_comment, zendesk_headers
from tests.service.test_writeback import FAST_RETRIES, settle, zendesk_config
from ticketguard.service.db import make_engine, make_session_factory
from ticketguard.service.orm import InboxItem, Message

TICKETS = 6


def _counts(database_url: str) -> tuple[int, int]:
    """(messages stored, inbox rows still pending)."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            messages = session.scalar(select(func.count()).select_from(Message)) or 0
            pending = session.scalar(select(func.count()).select_from(InboxItem)
                                     .where(InboxItem.status == "pending")) or 0
            return messages, pending
    finally:
        engine.dispose()


def test_kill_9_loses_nothing_acknowledged_and_writes_back_once(tmp_path: Path, tiny_artifact: Path,
                                                               helpdesk: FakeHelpdesk,
                                                               make_client: Callable[..., TestClient]) -> None:
    database_url = f"sqlite:///{tmp_path / 'ticketguard.db'}"
    port = free_port()
    env = {"TICKETGUARD_MODEL_PATH": str(tiny_artifact),
           "TICKETGUARD_CACHE_DIR": str(tmp_path / "cache"), "TICKETGUARD_DATABASE_URL": database_url,
           "TICKETGUARD_API_KEYS": API_KEY, "TICKETGUARD_ZENDESK_WEBHOOK_SECRET": SECRETS["zendesk_webhook_secret"],
           # one message per batch, and each batch waits a second for company: the crash finds rows unclassified
           "TICKETGUARD_INBOX_BATCH": "1", "TICKETGUARD_MICROBATCH_MAX_WAIT_MS": "1000",
           # no write-back from this process: the crash comes between classification and write-back
           "TICKETGUARD_OUTBOX_WORKER_ENABLED": "false",
           "TICKETGUARD_ZENDESK_WRITEBACK": json.dumps(zendesk_config(helpdesk))}
    command = [sys.executable, "-m", "uvicorn", "--factory", "ticketguard.service.app:create_app",
               "--port", str(port), "--log-level", "warning"]
    with server_process(command, env=env, cwd=tmp_path, port=port, stop=signal.SIGKILL) as base:
        for ticket in range(TICKETS):
            body = json.dumps(zendesk_comment(ticket=str(ticket), comment=f"c{ticket}")).encode()
            response = httpx.post(f"{base}/v1/webhooks/zendesk", content=body, timeout=300,
                                  headers={"Content-Type": "application/json", **zendesk_headers(body)})
            assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
        deadline = time.monotonic() + START_TIMEOUT_S
        while _counts(database_url)[0] == 0:  # kill once a message is classified and the rest are not
            assert time.monotonic() < deadline, "nothing was classified"
            time.sleep(0.02)
    classified, pending = _counts(database_url)
    assert classified >= 1 and pending >= 1 and classified + pending == TICKETS
    assert helpdesk.requests == []

    client = make_client(database_url=database_url, zendesk_writeback=zendesk_config(helpdesk), **FAST_RETRIES)
    rows = settle(client)
    assert _counts(database_url) == (TICKETS, 0)
    assert sorted(r.ticket_id for r in rows) == sorted(str(t) for t in range(TICKETS))
    assert all(r.status == "done" for r in rows)
    written = helpdesk.wait_for(TICKETS)
    assert sorted(r.path for r in written) == sorted(f"/api/v2/tickets/{t}" for t in range(TICKETS))
    assert len(helpdesk.requests) == TICKETS  # exactly one write per ticket
