"""Agents' corrections in the helpdesk come back as feedback: Zendesk's field-changed event, an Intercom label
tag, a Freshdesk field rule; the echo of TicketGuard's own write records nothing; ``feedback export`` has them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.service.fake_helpdesk import FakeHelpdesk
from tests.service.test_webhooks import freshdesk_ticket, intercom_reply, post, zendesk_comment
from tests.service.test_writeback import FAST_RETRIES, FRESHDESK_KEY, INTERCOM_TOKEN, expected, settle, zendesk_config
from ticketguard.cli.main import app as cli
from ticketguard.models.labels import LABELS
from ticketguard.service.orm import Feedback, Ticket
from ticketguard.training.corpus import read_rows


def field_changed(current: Any, *, ticket: str = "5158", field: int = 360001, actor: str = "99",
                  account: int = 22129848) -> dict[str, Any]:
    """``zen:event-type:ticket.custom_field_changed`` as Zendesk's event webhooks document it."""
    return {
        "account_id": account, "id": "6b6d1b5c-1f4e-4d5e-9c1a-0c1d2e3f4a5b", "subject": f"zen:ticket:{ticket}",
        "time": "2025-01-08T10:15:00Z", "type": "zen:event-type:ticket.custom_field_changed",
        "zendesk_event_version": "2022-11-06",
        "detail": {"id": ticket, "actor_id": actor, "status": "OPEN", "subject": "Double charge"},
        "event": {"custom_field": {"id": field, "title": "TicketGuard label", "type": "tagger"},
                  "current": current, "previous": "ticketguard_neutral"},
    }


def intercom_tagged(tags: list[dict[str, str]], *, conversation: str = "3456", admin: str = "814860") -> dict:
    """``conversation_part.tag.created``: the conversation with the tags an admin added."""
    now = int(time.time())
    return {
        "type": "notification_event", "app_id": "abc123", "id": "notif_2", "topic": "conversation_part.tag.created",
        "created_at": now, "first_sent_at": now, "delivery_attempts": 1,
        "data": {"type": "notification_event_data", "item": {
            "type": "conversation", "id": conversation,
            "tags_added": {"type": "tag.list", "tags": [{"type": "tag", **tag} for tag in tags]},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [
                {"type": "conversation_part", "id": "99", "part_type": "comment", "body": None,
                 "author": {"type": "admin", "id": admin}}]}}},
    }


def feedback_rows(client: TestClient) -> list[Feedback]:
    with client.app.state.session_factory() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.id)))


def the_ticket(client: TestClient, provider: str) -> Ticket:
    with client.app.state.session_factory() as session:
        return session.scalars(select(Ticket).where(Ticket.provider == provider)).one()


def other_than(label: str) -> str:
    return next(name for name in LABELS if name != label)


def test_zendesk_field_change_is_feedback_on_the_ticket_label(make_client: Callable[..., TestClient],
                                                              helpdesk: FakeHelpdesk, classifier, auth,
                                                              tmp_path: Path) -> None:
    label, _ = expected(classifier)
    client = make_client(zendesk_writeback=zendesk_config(helpdesk), **FAST_RETRIES)
    post(client, "zendesk", zendesk_comment())
    settle(client)
    helpdesk.wait_for(1)
    ticket = the_ticket(client, "zendesk")
    assert ticket.written_label == label

    # Zendesk reports our own write as a field change: not a correction
    echo = post(client, "zendesk", field_changed(f"ticketguard_{label}"))
    assert echo.status_code == 200 and echo.json()["status"] == "ignored" and "echo" in echo.json()["reason"]
    for payload, reason in [(field_changed("ticketguard_banana"), "not a TicketGuard label"),
                            (field_changed(None), "not a TicketGuard label"),  # the agent cleared the field
                            (field_changed("ticketguard_abuse", field=1), "not TicketGuard's label field"),
                            (field_changed("ticketguard_abuse", ticket="999"), "no zendesk ticket 999")]:
        response = post(client, "zendesk", payload)
        assert response.status_code == 200 and response.json()["status"] == "ignored", payload
        assert reason in response.json()["reason"]
    assert feedback_rows(client) == []

    corrected = other_than(label)
    response = post(client, "zendesk", field_changed(f"ticketguard_{corrected}"))
    assert response.status_code == 200 and response.json()["status"] == "recorded", response.text
    [row] = feedback_rows(client)
    assert (row.id, row.message_id, row.label, row.agent) == (response.json()["feedback_id"], ticket.message_id,
                                                              corrected, "zendesk:99")
    message = client.get(f"/v1/messages/{ticket.message_id}", headers=auth).json()
    assert message["feedback_label"] == corrected
    # Zendesk retries a delivery it did not see acknowledged: the same correction, not a second row
    retried = post(client, "zendesk", field_changed(f"ticketguard_{corrected}"))
    assert retried.json() == response.json() and len(feedback_rows(client)) == 1
    # a drop-down value delivered as {"value": ...} reads the same
    again = post(client, "zendesk", field_changed({"value": "ticketguard_neutral"}, actor="7"))
    assert again.json()["status"] == "recorded" and feedback_rows(client)[-1].label == "neutral"

    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(cli, ["feedback", "export", "-o", str(out),
                                      "--database-url", client.app.state.settings.database_url])
    assert result.exit_code == 0, result.output
    [exported] = list(read_rows(out))
    assert (exported.id, exported.label, exported.source) == (f"feedback-zendesk-{ticket.message_id}", "neutral",
                                                              "feedback:zendesk-7")  # the export sanitises the agent
    assert len(helpdesk.requests) == 1  # a correction writes nothing back


def test_zendesk_field_change_without_write_back_is_ignored(client: TestClient) -> None:
    post(client, "zendesk", zendesk_comment())
    response = post(client, "zendesk", field_changed("ticketguard_abuse"))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert feedback_rows(client) == []


def test_intercom_label_tag_is_a_correction(make_client: Callable[..., TestClient], helpdesk: FakeHelpdesk,
                                            classifier) -> None:
    label, _ = expected(classifier)
    config = {"base_url": helpdesk.url, "access_token": INTERCOM_TOKEN, "admin_id": "814860",
              "tag_ids": {name: f"tag-{name}" for name in LABELS}}
    client = make_client(intercom_writeback=config, **FAST_RETRIES)
    post(client, "intercom", intercom_reply())
    settle(client)
    ticket = the_ticket(client, "intercom")
    assert ticket.written_label == label and ticket.account == "abc123"

    echo = post(client, "intercom", intercom_tagged([{"id": f"tag-{label}", "name": "TG"}]))
    assert echo.json()["status"] == "ignored" and "echo" in echo.json()["reason"]
    unrelated = post(client, "intercom", intercom_tagged([{"id": "77", "name": "vip"}]))
    assert unrelated.json() == {**unrelated.json(), "status": "ignored", "reason": "no TicketGuard label tag was added"}
    assert feedback_rows(client) == []

    corrected = other_than(label)
    recorded = post(client, "intercom", intercom_tagged([{"id": "77", "name": "vip"},
                                                         {"id": f"tag-{corrected}", "name": "TG"}]))
    assert recorded.json()["status"] == "recorded", recorded.text
    by_name = post(client, "intercom", intercom_tagged([{"id": "88", "name": "ticketguard_neutral"}], admin="5"))
    assert by_name.json()["status"] == "recorded"
    assert [(r.message_id, r.label, r.agent) for r in feedback_rows(client)] == [
        (ticket.message_id, corrected, "intercom:814860"), (ticket.message_id, "neutral", "intercom:5")]


def test_freshdesk_field_rule_is_a_correction(make_client: Callable[..., TestClient], helpdesk: FakeHelpdesk,
                                              classifier) -> None:
    label, _ = expected(classifier)
    client = make_client(freshdesk_writeback={"base_url": helpdesk.url, "api_key": FRESHDESK_KEY, "note_labels": []},
                         **FAST_RETRIES)
    post(client, "freshdesk", freshdesk_ticket())
    settle(client)
    ticket = the_ticket(client, "freshdesk")
    echo = post(client, "freshdesk", {"freshdesk_webhook": {"ticket_id": 42, "ticketguard_label": label,
                                                            "performed_by": "agent"}})
    assert echo.json()["status"] == "ignored" and "echo" in echo.json()["reason"]
    corrected = other_than(label)
    response = post(client, "freshdesk", {"ticket_id": "42", "ticketguard_label": corrected.capitalize()})
    assert response.json()["status"] == "recorded", response.text
    [row] = feedback_rows(client)
    assert (row.message_id, row.label) == (ticket.message_id, corrected)


@pytest.mark.parametrize(("overrides", "field"), [({"actor": "9" * 200}, "agent"), ({"ticket": "51\u000058"}, "ticket_id")])
def test_a_correction_the_database_cannot_store_is_422(make_client: Callable[..., TestClient], helpdesk: FakeHelpdesk,
                                                       database_url: str, overrides: dict[str, str],
                                                       field: str) -> None:
    client = make_client(database_url=database_url, zendesk_writeback=zendesk_config(helpdesk))
    response = post(client, "zendesk", field_changed("ticketguard_abuse", **overrides))
    assert response.status_code == 422, response.text
    assert field in response.text
    assert feedback_rows(client) == []
