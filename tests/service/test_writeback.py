"""Write-back through each helpdesk's documented REST API, against a local fake that checks path, auth and body;
retries (429 Retry-After, 500, a hung connection), dead letters and ``ticketguard outbox list|retry``."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.service.conftest import drain
from tests.service.fake_helpdesk import HANG, FakeHelpdesk
from tests.service.test_webhooks import (
    TEXT,
    freshdesk_ticket,
    front_inbound,
    intercom_reply,
    post,
    zendesk_comment,
)
from ticketguard.cli.main import app as cli
from ticketguard.models.labels import LABELS, confidence_band
from ticketguard.service.orm import DeadLetter, OutboxItem

ZENDESK_TOKEN = "zendesk-api-token-0123456789"
INTERCOM_TOKEN = "intercom-access-token-0123456789"
FRESHDESK_KEY = "freshdesk-api-key-0123456789"
FRONT_TOKEN = "front-api-token-0123456789abc"
FAST_RETRIES = {"outbox_backoff_seconds": 0.05, "outbox_backoff_max_seconds": 0.2, "outbox_timeout_seconds": 0.5,
                "inbox_poll_seconds": 0.05, "outbox_poll_seconds": 0.05}


def zendesk_config(fake: FakeHelpdesk, **extra: Any) -> dict[str, Any]:
    return {"base_url": fake.url, "email": "bot@example.com", "api_token": ZENDESK_TOKEN, "label_field_id": 360001,
            "band_field_id": 360002, **extra}


def expected(classifier, text: str = TEXT) -> tuple[str, str]:
    prediction = classifier.predict([text])[0]
    return prediction.label, confidence_band(prediction.scores[prediction.label])


def outbox_rows(client: TestClient) -> list[OutboxItem]:
    with client.app.state.session_factory() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def settle(client: TestClient, *, timeout: float = 60.0) -> list[OutboxItem]:
    """Wait until the inbox is empty and no write-back is pending; the outbox rows."""
    drain(client)
    deadline = time.monotonic() + timeout
    while any(row.status == "pending" for row in outbox_rows(client)):
        assert time.monotonic() < deadline, outbox_rows(client)
        time.sleep(0.02)
    return outbox_rows(client)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_zendesk_writes_fields_tags_and_a_note_once_per_change(make_client: Callable[..., TestClient],
                                                                helpdesk: FakeHelpdesk, classifier) -> None:
    label, band = expected(classifier)
    client = make_client(zendesk_writeback=zendesk_config(helpdesk, note_labels=list(LABELS)), **FAST_RETRIES)
    assert post(client, "zendesk", zendesk_comment(comment="1")).status_code == 200
    rows = settle(client)
    [request] = helpdesk.wait_for(1)
    assert (request.method, request.path) == ("PUT", "/api/v2/tickets/5158")
    assert request.headers["Authorization"] == basic("bot@example.com/token", ZENDESK_TOKEN)
    ticket = request.body["ticket"]
    assert ticket["custom_fields"] == [{"id": 360001, "value": f"ticketguard_{label}"},
                                       {"id": 360002, "value": f"ticketguard_band_{band}"}]
    assert ticket["additional_tags"] == [f"ticketguard_{label}"]
    assert sorted(ticket["remove_tags"]) == sorted(f"ticketguard_{other}" for other in LABELS if other != label)
    assert "tags" not in ticket  # would replace every tag of the ticket
    assert ticket["comment"]["public"] is False and label in ticket["comment"]["body"]
    assert [(r.status, r.attempts) for r in rows] == [("done", 1)]
    # the same text again: the ticket's label and band do not change, so nothing is written
    assert post(client, "zendesk", zendesk_comment(comment="2")).json()["status"] == "accepted"
    assert len(settle(client)) == 1 and len(helpdesk.requests) == 1


def test_intercom_writes_attributes_and_the_label_tag(make_client: Callable[..., TestClient], helpdesk: FakeHelpdesk,
                                                     classifier) -> None:
    label, band = expected(classifier)
    config = {"base_url": helpdesk.url, "access_token": INTERCOM_TOKEN, "admin_id": "814860",
              "tag_ids": {name: f"tag-{name}" for name in LABELS}}
    client = make_client(intercom_writeback=config, **FAST_RETRIES)
    post(client, "intercom", intercom_reply())
    settle(client)
    attributes, tag = helpdesk.wait_for(2)
    assert (attributes.method, attributes.path) == ("PUT", "/conversations/3456")
    assert attributes.body == {"custom_attributes": {"ticketguard_label": label, "ticketguard_band": band}}
    assert (tag.method, tag.path) == ("POST", "/conversations/3456/tags")
    assert tag.body == {"id": f"tag-{label}", "admin_id": "814860"}
    for request in (attributes, tag):
        assert request.headers["Authorization"] == f"Bearer {INTERCOM_TOKEN}"
        assert request.headers["Intercom-Version"] == "2.11"


def test_freshdesk_writes_custom_fields_and_a_private_note_but_no_tags(make_client: Callable[..., TestClient],
                                                                      helpdesk: FakeHelpdesk, classifier) -> None:
    label, band = expected(classifier)
    config = {"base_url": helpdesk.url, "api_key": FRESHDESK_KEY, "note_labels": [label]}
    client = make_client(freshdesk_writeback=config, **FAST_RETRIES)
    post(client, "freshdesk", freshdesk_ticket())
    settle(client)
    update, note = helpdesk.wait_for(2)
    assert (update.method, update.path) == ("PUT", "/api/v2/tickets/42")
    assert update.body == {"custom_fields": {"cf_ticketguard_label": label, "cf_ticketguard_band": band}}
    assert (note.method, note.path) == ("POST", "/api/v2/tickets/42/notes")
    assert note.body["private"] is True and label in note.body["body"]
    assert all(r.headers["Authorization"] == basic(FRESHDESK_KEY, "X") for r in (update, note))
    assert all("tags" not in (r.body or {}) for r in helpdesk.requests)


def test_front_tags_the_conversation(make_client: Callable[..., TestClient], helpdesk: FakeHelpdesk,
                                     classifier) -> None:
    label, _ = expected(classifier)
    config = {"base_url": helpdesk.url, "api_token": FRONT_TOKEN, "tag_ids": {name: f"tag_{name}" for name in LABELS}}
    client = make_client(front_writeback=config, **FAST_RETRIES)
    post(client, "front", front_inbound())
    settle(client)
    [request] = helpdesk.wait_for(1)
    assert (request.method, request.path) == ("POST", "/conversations/cnv_55c8c149/tags")
    assert request.body == {"tag_ids": [f"tag_{label}"]}
    assert request.headers["Authorization"] == f"Bearer {FRONT_TOKEN}"


def test_labels_not_configured_are_not_written(make_client: Callable[..., TestClient], helpdesk: FakeHelpdesk,
                                               classifier) -> None:
    label, _ = expected(classifier)
    others = [name for name in LABELS if name != label]
    client = make_client(zendesk_writeback=zendesk_config(helpdesk, labels=others), **FAST_RETRIES)
    post(client, "zendesk", zendesk_comment())
    assert settle(client) == [] and helpdesk.requests == []


def test_429_500_and_a_hung_request_are_retried_until_written(make_client: Callable[..., TestClient],
                                                              helpdesk: FakeHelpdesk) -> None:
    helpdesk.script = [(429, {"Retry-After": "1"}), (500, {}), HANG]
    client = make_client(zendesk_writeback=zendesk_config(helpdesk), **FAST_RETRIES)
    post(client, "zendesk", zendesk_comment())
    [row] = settle(client)
    assert [r.status for r in helpdesk.requests] == [429, 500, HANG[0], 200]
    assert (row.status, row.attempts) == ("done", 4)
    first, second = helpdesk.requests[0], helpdesk.requests[1]
    assert first.body == second.body == helpdesk.requests[3].body  # the same write each time


def dead_letters(client: TestClient) -> list[DeadLetter]:
    with client.app.state.session_factory() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_failed_writes_move_to_the_dead_letters_then_back_from_the_cli(make_client: Callable[..., TestClient],
                                                                       helpdesk: FakeHelpdesk) -> None:
    helpdesk.script = [(500, {}), (503, {}), (400, {})]
    client = make_client(zendesk_writeback=zendesk_config(helpdesk), outbox_max_attempts=2, **FAST_RETRIES)
    post(client, "zendesk", zendesk_comment(ticket="1"))
    assert settle(client) == []  # moved out of the outbox
    [first] = dead_letters(client)
    assert (first.ticket_id, first.attempts, first.last_error) == ("1", 2, "PUT /api/v2/tickets/1: HTTP 503")
    post(client, "zendesk", zendesk_comment(ticket="2"))
    settle(client)
    _, second = dead_letters(client)
    assert (second.ticket_id, second.attempts) == ("2", 1)  # a 400 is not retried: the request itself is wrong
    database = ["--database-url", client.app.state.settings.database_url]
    runner = CliRunner()
    for flags in (["--dead"], ["--status", "dead"]):
        listed = runner.invoke(cli, ["outbox", "list", *flags, *database])
        assert listed.exit_code == 0, listed.output
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [(r["ticket_id"], r["status"], r["attempts"]) for r in rows] == [("2", "dead", 1), ("1", "dead", 2)]
        assert rows[0]["last_error"] == "PUT /api/v2/tickets/2: HTTP 400"
    retried = runner.invoke(cli, ["outbox", "retry", str(first.id), *database])
    assert retried.exit_code == 0 and "queued 1 write-back" in retried.output
    assert [d.id for d in dead_letters(client)] == [second.id]
    client.app.state.outbox_worker.wake()
    rows = settle(client)
    assert [(r.id, r.ticket_id, r.status) for r in rows] == [(first.id, "1", "done")]  # back under its id, sent once
    assert [r.path for r in helpdesk.answered(200)] == ["/api/v2/tickets/1"]
    again = runner.invoke(cli, ["outbox", "retry", str(first.id), *database])
    assert "queued 0 write-back" in again.output  # nothing dead with that id: no second write
