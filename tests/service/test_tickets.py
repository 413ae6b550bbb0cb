"""Ticket-level labels: the most severe customer label so far, its history, and GET /v1/tickets."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import SEED_ROWS
from tests.service.conftest import drain, inbox_message
from tests.service.test_webhooks import generic_headers
from ticketguard.models.labels import severity


def deliver(client: TestClient, message_id: str, text: str, *, ticket: str = "T-1", account: str = "") -> int:
    body = json.dumps({"id": message_id, "text": text, "ticket_id": ticket, "account": account}).encode()
    response = client.post("/v1/webhooks/generic", content=body,
                           headers={"Content-Type": "application/json", **generic_headers(body)})
    assert response.status_code == 200, response.text
    return int(response.json()["inbox_ids"][0])


def two_labels(classifier) -> tuple[str, str]:
    """A text the tiny model labels less severely than another (its labels are random but fixed)."""
    texts = [text for rows in SEED_ROWS.values() for _, text in rows]
    labelled = sorted(zip((p.label for p in classifier.predict(texts)), texts, strict=True),
                      key=lambda pair: severity(pair[0]))
    most, least = labelled[0], labelled[-1]
    assert severity(most[0]) < severity(least[0]), "the tiny model gives every seed text one label"
    return least[1], most[1]


def test_ticket_label_is_the_most_severe_so_far(client: TestClient, auth, classifier) -> None:
    mild, severe = two_labels(classifier)
    mild_label, severe_label = (p.label for p in classifier.predict([mild, severe]))
    first = deliver(client, "m1", mild)
    drain(client)
    ticket = client.get("/v1/tickets/generic/T-1", headers=auth).json()
    assert ticket["label"] == mild_label and [m["text"] for m in ticket["messages"]] == [mild]
    second, third = deliver(client, "m2", severe), deliver(client, "m3", mild)
    drain(client)
    ticket = client.get("/v1/tickets/generic/T-1", headers=auth).json()
    assert ticket["label"] == severe_label  # a milder message later does not lower it
    assert [m["text"] for m in ticket["messages"]] == [mild, severe, mild]
    history = ticket["history"]
    assert [change["label"] for change in history] == [mild_label, severe_label]
    ids = [inbox_message(client, i)["id"] for i in (first, second, third)]
    assert [change["message_id"] for change in history] == ids[:2]
    assert ticket["band"] == history[-1]["band"] and ticket["written_label"] is None  # no write-back configured


def test_same_ticket_id_in_two_accounts(client: TestClient, auth) -> None:
    deliver(client, "a1", "Where is my parcel?", ticket="42", account="acme")
    deliver(client, "b1", "Where is my parcel?", ticket="42", account="globex")
    drain(client)
    ambiguous = client.get("/v1/tickets/generic/42", headers=auth)
    assert ambiguous.status_code == 409 and "account" in ambiguous.json()["error"]["message"]
    for account in ("acme", "globex"):
        ticket = client.get("/v1/tickets/generic/42", params={"account": account}, headers=auth).json()
        assert ticket["account"] == account and len(ticket["messages"]) == 1
        assert ticket["messages"][0]["account"] == account


def test_unknown_ticket_and_missing_key(client: TestClient, auth, make_client: Callable[..., TestClient]) -> None:
    missing = client.get("/v1/tickets/zendesk/999", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no zendesk ticket 999"
    assert client.get("/v1/tickets/zendesk/999").status_code == 401
