"""Webhooks: each provider's documented payload and signature scheme, replay windows, idempotency,
the inbox (stored, answered, then classified in the background) and overload answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.service.conftest import SECRETS, drain, inbox_message
from ticketguard.models.labels import LABELS
from ticketguard.service.orm import InboxItem, Message

TEXT = "Refund me by Friday or my lawyer files the lawsuit on Monday."


# --- signing, written from each provider's documentation (independently of service/webhooks) ---------

def zendesk_headers(body: bytes, *, secret: str = SECRETS["zendesk_webhook_secret"], at: datetime | None = None):
    timestamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest())
    return {"X-Zendesk-Webhook-Signature": signature.decode(), "X-Zendesk-Webhook-Signature-Timestamp": timestamp}


def intercom_headers(body: bytes, *, secret: str = SECRETS["intercom_client_secret"], at: float | None = None):
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def front_headers(body: bytes, *, secret: str = SECRETS["front_app_secret"], at: float | None = None):
    timestamp = str(int((at or time.time()) * 1000))  # milliseconds
    signature = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).digest())
    return {"X-Front-Signature": signature.decode(), "X-Front-Request-Timestamp": timestamp}


def freshdesk_headers(body: bytes, *, secret: str = SECRETS["freshdesk_shared_secret"], at: float | None = None):
    return {"X-TicketGuard-Secret": secret}


def generic_headers(body: bytes, *, secret: str = SECRETS["generic_webhook_secret"], at: float | None = None):
    timestamp = str(int(at or time.time()))
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-TicketGuard-Timestamp": timestamp, "X-TicketGuard-Signature": signature}


# --- documented payloads ---------------------------------------------------------------------------

def zendesk_comment(ticket: str = "5158", comment: str = "10001", text: str = TEXT, staff: bool = False) -> dict:
    return {
        "account_id": 22129848, "id": "cbe4028c-7239-495d-b020-f22348516046", "subject": f"zen:ticket:{ticket}",
        "time": "2025-01-08T10:12:07.672717030Z", "type": "zen:event-type:ticket.comment_added",
        "zendesk_event_version": "2022-11-06",
        "detail": {"id": ticket, "subject": "Double charge", "description": "first message", "status": "OPEN",
                   "requester_id": "8447388090494", "via": {"channel": "web_service"}},
        "event": {"comment": {"id": comment, "body": text, "is_public": True,
                              "author": {"id": "8447388090494", "is_staff": staff, "name": "Jane"}}},
    }


def intercom_reply(conversation: str = "3456", part: str = "7890", text: str = TEXT, author: str = "user",
                   at: float | None = None, part_at: int | None = None) -> dict:
    created = int(at if at is not None else time.time())  # the replay bound reads it
    return {
        "type": "notification_event", "app_id": "abc123", "id": "notif_1", "topic": "conversation.user.replied",
        "delivery_status": "pending", "delivery_attempts": 1, "created_at": created, "first_sent_at": created,
        "data": {"type": "notification_event_data", "item": {
            "type": "conversation", "id": conversation, "created_at": 1735732000,
            "source": {"type": "conversation", "id": "111", "body": "<p>hello</p>", "author": {"type": "user"}},
            "conversation_parts": {"type": "conversation_part.list", "total_count": 1, "conversation_parts": [
                {"type": "conversation_part", "id": part, "part_type": "comment", "body": f"<p>{text}</p>",
                 "author": {"type": author, "id": "5"}, **({"created_at": part_at} if part_at else {})}]}}},
    }


def front_inbound(message: str = "msg_55c8c149", text: str = TEXT, inbound: bool = True) -> dict:
    return {"type": "inbound_received", "payload": {
        "_links": {"self": "https://api2.frontapp.com/events/evt_55c8c149"}, "id": "evt_55c8c149",
        "type": "inbound", "emitted_at": 1453770984.123,
        "conversation": {"id": "cnv_55c8c149", "subject": "Refund"},
        "target": {"_meta": {"type": "message"}, "data": {
            "id": message, "type": "email", "is_inbound": inbound, "created_at": 1453770984.123,
            "blurb": text[:40], "body": f"<p>{text}</p>", "text": text}}}}


def freshdesk_ticket(ticket: int = 42, text: str = TEXT) -> dict:
    return {"freshdesk_webhook": {"ticket_id": ticket, "ticket_subject": "Refund",
                                  "ticket_description": f"<div>{text}</div>", "ticket_latest_public_comment": ""}}


def generic_message(message: str = "g-1", text: str = TEXT) -> dict:
    return {"id": message, "text": text, "lang": "en"}


PROVIDERS = {
    "zendesk": (zendesk_comment, zendesk_headers, "22129848/ticket:5158:comment:10001"),
    "intercom": (intercom_reply, intercom_headers, "abc123/conversation:3456:part:7890"),
    "front": (front_inbound, front_headers, "message:msg_55c8c149"),
    "freshdesk": (freshdesk_ticket, freshdesk_headers, "ticket:42"),
    "generic": (generic_message, generic_headers, "g-1"),
}
TIMESTAMPED = ["zendesk", "front", "generic"]


def post(client: TestClient, provider: str, payload: object, headers_for=None, **sign) -> object:
    body = json.dumps(payload).encode()
    headers_for = headers_for or PROVIDERS[provider][1]
    return client.post(f"/v1/webhooks/{provider}", content=body,
                       headers={"Content-Type": "application/json", **headers_for(body, **sign)})


def fresh(payload: object) -> object:
    """A parametrised payload, built now when it is a factory: an Intercom notification carries its creation
    time, and one built at collection would be stale (past the replay bound) by the time a long run reaches it."""
    return payload() if callable(payload) else payload


def count_rows(client: TestClient) -> int:
    with client.app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Message))


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_valid_delivery_is_accepted_then_classified(client: TestClient, auth, provider: str, classifier) -> None:
    payload_for, _, external_id = PROVIDERS[provider]
    payload = payload_for()
    response = post(client, provider, payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "accepted" and body["duplicate"] is False and len(body["inbox_ids"]) == 1
    assert "lawyer" not in response.text  # the customer's text is never echoed
    # stored before the 2xx, with the raw payload
    with client.app.state.session_factory() as session:
        row = session.get(InboxItem, body["inbox_ids"][0])
        assert row.provider == provider and row.external_id == external_id and row.payload == payload
    drain(client)
    message = inbox_message(client, body["inbox_ids"][0])
    assert message["source"] == provider and message["external_id"] == external_id
    assert message["text"] == TEXT
    assert message["label"] == classifier.predict([TEXT])[0].label
    assert message["label"] in LABELS and sum(message["scores"].values()) == pytest.approx(1, abs=1e-4)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_bad_signature_is_401(client: TestClient, provider: str) -> None:
    payload_for = PROVIDERS[provider][0]
    response = post(client, provider, payload_for(), secret="a-different-secret-0123456789")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert count_rows(client) == 0


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_missing_signature_is_401(client: TestClient, provider: str) -> None:
    response = client.post(f"/v1/webhooks/{provider}", json=PROVIDERS[provider][0]())
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("missing X-")


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_tampered_body_is_401(client: TestClient, provider: str) -> None:
    payload_for, headers_for, _ = PROVIDERS[provider]
    body = json.dumps(payload_for()).encode()
    headers = headers_for(body)
    tampered = body.replace(b"Friday", b"Monday")
    response = client.post(f"/v1/webhooks/{provider}", content=tampered, headers=headers)
    # Freshdesk signs nothing (shared secret only), so a changed body cannot be detected there
    assert response.status_code == (200 if provider == "freshdesk" else 401)


@pytest.mark.parametrize("provider", TIMESTAMPED)
def test_stale_or_future_timestamp_is_401(client: TestClient, provider: str) -> None:
    payload_for, headers_for, _ = PROVIDERS[provider]
    for offset in (-301, 301):
        at = time.time() + offset
        sign = {"at": datetime.fromtimestamp(at, UTC)} if provider == "zendesk" else {"at": at}
        response = post(client, provider, payload_for(), **sign)
        assert response.status_code == 401, offset
        assert "stale or replayed" in response.json()["error"]["message"]
    inside = time.time() - 200
    sign = {"at": datetime.fromtimestamp(inside, UTC)} if provider == "zendesk" else {"at": inside}
    assert post(client, provider, payload_for(), **sign).status_code == 200


def test_garbage_timestamp_is_401(client: TestClient) -> None:
    body = json.dumps(generic_message()).encode()
    headers = generic_headers(body)
    headers["X-TicketGuard-Timestamp"] = "yesterday"
    assert client.post("/v1/webhooks/generic", content=body, headers=headers).status_code == 401


def test_unknown_and_unconfigured_providers_are_404(make_client: Callable[..., TestClient]) -> None:
    client = make_client(intercom_client_secret=None)
    unknown = client.post("/v1/webhooks/helpscout", json={})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_provider"
    off = post(client, "intercom", intercom_reply())
    assert off.status_code == 404 and off.json()["error"]["code"] == "provider_disabled"


def test_signed_malformed_json_is_400(client: TestClient) -> None:
    body = b'{"id": "x", "text": '
    response = client.post("/v1/webhooks/generic", content=body, headers=generic_headers(body))
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(("provider", "payload", "needle"), [
    ("generic", {"id": "x"}, "text"),
    ("generic", {"id": 5, "text": "hi"}, "id"),
    ("generic", ["not", "an", "object"], "generic payload"),
    ("zendesk", {"type": "zen:event-type:ticket.comment_added", "detail": {"id": "1"}, "event": {}}, "comment"),
    ("intercom", {"topic": "conversation.user.replied", "data": {"item": {"no_id": True}}}, "item.id"),
    ("front", {"type": "inbound_received", "payload": {"type": "inbound", "target": {"_meta": {"type": "message"},
                                                                                     "data": {"text": "x"}}}}, "id"),
    ("freshdesk", {"freshdesk_webhook": {"ticket_subject": "no id"}}, "ticket_id"),
])
def test_wrong_payload_shape_is_422(client: TestClient, provider: str, payload: object, needle: str) -> None:
    response = post(client, provider, payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_payload"
    assert needle in response.json()["error"]["message"]


@pytest.mark.parametrize(("provider", "payload"), [
    ("generic", generic_message(text="")),
    ("generic", generic_message(text="   \n ")),
    ("intercom", lambda: intercom_reply(text="<br> &nbsp; </br>")),  # HTML with no visible text
    ("zendesk", zendesk_comment(text="\u0000\u0007")),  # control characters only
])
def test_nothing_to_classify_is_200_ignored(client: TestClient, provider: str, payload: object) -> None:
    # a 4xx would make the helpdesk retry, then disable the webhook
    response = post(client, provider, fresh(payload))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ignored" and "no text to classify" in response.json()["reason"]
    assert count_rows(client) == 0


def test_too_long_message_is_truncated_and_marked(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_text_chars=100)
    response = post(client, "generic", generic_message(text="w" * 101))
    assert response.status_code == 200 and response.json()["truncated"] is True
    drain(client)
    assert inbox_message(client, response.json()["inbox_ids"][0])["text"] == "w" * 100
    with client.app.state.session_factory() as session:
        assert session.get(InboxItem, response.json()["inbox_ids"][0]).truncated is True


@pytest.mark.parametrize(("provider", "payload", "reason"), [
    ("zendesk", zendesk_comment(staff=True), "agent"),
    ("zendesk", {**zendesk_comment(), "type": "zen:event-type:ticket.status_changed"}, "status_changed"),
    ("intercom", lambda: intercom_reply(author="admin"), "no customer-written part"),
    ("intercom", {"type": "notification_event", "topic": "ping", "data": {"item": {}}}, "ping"),
    ("front", front_inbound(inbound=False), "outbound"),
    ("front", {"type": "outbound_sent", "payload": {"type": "outbound"}}, "outbound_sent"),
])
def test_events_without_a_customer_message_are_ignored(client: TestClient, provider, payload, reason) -> None:
    response = post(client, provider, fresh(payload))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored" and reason in response.json()["reason"]
    assert count_rows(client) == 0


def test_zendesk_ticket_created_uses_the_description(client: TestClient) -> None:
    payload = {"type": "zen:event-type:ticket.created", "id": "e1", "subject": "zen:ticket:77",
               "detail": {"id": 77, "subject": "Help", "description": "You are a useless idiot."}, "event": {}}
    response = post(client, "zendesk", payload).json()
    drain(client)
    message = inbox_message(client, response["inbox_ids"][0])
    assert message["external_id"] == "ticket:77:description" and message["text"] == "You are a useless idiot."
    assert message["ticket_id"] == "77"


def test_intercom_conversation_created_strips_html(client: TestClient) -> None:
    payload = intercom_reply()
    payload["topic"] = "conversation.user.created"
    payload["data"]["item"]["source"]["body"] = "<p>Where is my <b>parcel</b>?</p><p>Order 88231</p>"
    response = post(client, "intercom", payload).json()
    drain(client)
    message = inbox_message(client, response["inbox_ids"][0])
    assert message["external_id"] == "abc123/conversation:3456:source:111" and message["account"] == "abc123"
    assert message["text"] == "Where is my parcel?\nOrder 88231"


def test_front_sync_challenge_is_answered(client: TestClient) -> None:
    body = json.dumps({"type": "sync", "authorization": {"id": "cmp_abc"}}).encode()
    headers = {**front_headers(body), "X-Front-Challenge": "c-7f3a"}
    response = client.post("/v1/webhooks/front", content=body, headers=headers)
    assert response.status_code == 200 and response.json() == {"challenge": "c-7f3a"}
    unsigned = client.post("/v1/webhooks/front", content=body, headers={"X-Front-Challenge": "c-7f3a"})
    assert unsigned.status_code == 401


def freshdesk_reply(text: str, *, update: str | None = None, comment: str | None = None,
                    by: str | None = "requester") -> dict:
    """The ticket-update rule's body (README): the latest public comment, who performed it, the update's id."""
    payload = freshdesk_ticket()
    payload["freshdesk_webhook"]["ticket_latest_public_comment"] = text
    extra = {"update_id": update, "comment_id": comment, "performed_by": by}
    payload["freshdesk_webhook"].update({k: v for k, v in extra.items() if v is not None})
    return payload


def test_freshdesk_comments_are_keyed_by_update_not_text(client: TestClient) -> None:
    first = post(client, "freshdesk", freshdesk_reply("??", update="1733040000001")).json()
    second = post(client, "freshdesk", freshdesk_reply("??", update="1733040000002")).json()
    by_id = post(client, "freshdesk", freshdesk_reply("??", comment="5001")).json()
    assert first["duplicate"] is second["duplicate"] is by_id["duplicate"] is False
    assert len({first["inbox_ids"][0], second["inbox_ids"][0], by_id["inbox_ids"][0]}) == 3  # identical replies
    retry = post(client, "freshdesk", freshdesk_reply("??", update="1733040000001")).json()
    assert retry["duplicate"] is True and retry["inbox_ids"] == first["inbox_ids"]
    drain(client)
    message = inbox_message(client, first["inbox_ids"][0])
    assert (message["external_id"], message["text"]) == ("ticket:42:update:1733040000001", "??")
    assert inbox_message(client, by_id["inbox_ids"][0])["external_id"] == "ticket:42:comment:5001"
    assert count_rows(client) == 3


def test_freshdesk_agent_comment_is_ignored_and_an_unkeyed_comment_refused(client: TestClient) -> None:
    agent = post(client, "freshdesk", freshdesk_reply("We refunded you.", update="7", by="Agent"))
    assert agent.status_code == 200 and agent.json()["status"] == "ignored" and "agent" in agent.json()["reason"]
    unkeyed = post(client, "freshdesk", freshdesk_reply("Where is my refund?"))
    assert unkeyed.status_code == 422 and "update_id" in unkeyed.json()["error"]["message"]
    assert count_rows(client) == 0


def test_intercom_replays_are_bounded_by_the_payload_timestamps(client: TestClient) -> None:
    stale = post(client, "intercom", intercom_reply(part="1", at=time.time() - 301))
    assert stale.status_code == 200 and stale.json()["status"] == "ignored" and "stale" in stale.json()["reason"]
    now = int(time.time())
    newest = post(client, "intercom", intercom_reply(part="2", part_at=now)).json()
    assert newest["status"] == "accepted"
    # a little out of order (inside the window) is still a new message
    late = post(client, "intercom", intercom_reply(part="3", part_at=now - 200)).json()
    assert late["status"] == "accepted" and late["duplicate"] is False
    # a part older than the conversation's newest stored part by more than the window: a replay
    replay = post(client, "intercom", intercom_reply(part="4", part_at=now - 400))
    assert replay.status_code == 200 and replay.json()["status"] == "ignored" and "replayed" in replay.json()["reason"]
    # a stored part delivered again is a duplicate, whatever its age
    again = post(client, "intercom", intercom_reply(part="3", part_at=now - 200)).json()
    assert again["duplicate"] is True and again["inbox_ids"] == late["inbox_ids"]
    drain(client)
    assert count_rows(client) == 2
    other_conversation = post(client, "intercom", intercom_reply(conversation="9", part="5", part_at=now - 400))
    assert other_conversation.json()["status"] == "accepted"  # the bound is per conversation


def test_store_text_off_keeps_no_text(make_client: Callable[..., TestClient], auth) -> None:
    client = make_client(store_text=False)
    inbox_id = post(client, "generic", generic_message()).json()["inbox_ids"][0]
    drain(client)
    message = inbox_message(client, inbox_id)
    assert message["text"] is None and message["label"] in LABELS
    with client.app.state.session_factory() as session:
        row = session.get(Message, message["id"])
        assert row.text is None and row.text_chars == len(TEXT)
        item = session.get(InboxItem, inbox_id)
        assert item.text is None and item.payload is None  # the inbox forgets it once classified


def test_retried_delivery_returns_the_stored_result(client: TestClient) -> None:
    first = post(client, "zendesk", zendesk_comment())
    drain(client)
    second = post(client, "zendesk", zendesk_comment())  # Zendesk retries with a fresh signature
    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert second.json()["status"] == "classified" and second.json()["inbox_ids"] == first.json()["inbox_ids"]
    stored = inbox_message(client, first.json()["inbox_ids"][0])
    assert second.json()["message"] == {**stored, "text": None}
    assert count_rows(client) == 1


@pytest.mark.parametrize("provider", ["generic", "intercom"])
def test_parallel_duplicate_deliveries_make_one_record(client: TestClient, provider: str) -> None:
    payload_for = PROVIDERS[provider][0]
    n = 12
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(lambda _: post(client, provider, payload_for()), range(n)))
    assert [r.status_code for r in responses] == [200] * n
    assert len({tuple(r.json()["inbox_ids"]) for r in responses}) == 1
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    drain(client)
    assert count_rows(client) == 1


@pytest.mark.postgres
def test_parallel_duplicates_on_postgres(make_client: Callable[..., TestClient], pg_url: str) -> None:
    client = make_client(database_url=pg_url)
    n = 16
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(lambda _: post(client, "generic", generic_message(message="pg-dup")), range(n)))
    assert [r.status_code for r in responses] == [200] * n
    assert len({tuple(r.json()["inbox_ids"]) for r in responses}) == 1
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    drain(client)
    assert count_rows(client) == 1



# --- the inbox: synchronous wait, one message per customer text, accounts, overload ----------------------

def test_generic_wait_returns_the_label(client: TestClient, classifier) -> None:
    body = json.dumps(generic_message(message="w-1")).encode()
    response = client.post("/v1/webhooks/generic?wait=5s", content=body,
                           headers={"Content-Type": "application/json", **generic_headers(body)})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "classified"
    message = response.json()["message"]
    assert message["label"] == classifier.predict([TEXT])[0].label and message["text"] is None
    bad = client.post("/v1/webhooks/generic?wait=soon", content=body,
                      headers={"Content-Type": "application/json", **generic_headers(body)})
    assert bad.status_code == 422 and "wait" in bad.json()["error"]["message"]


def test_generic_wait_falls_back_to_accepted(make_client: Callable[..., TestClient]) -> None:
    client = make_client(inbox_worker_enabled=False)  # nothing classifies: the wait runs out
    body = json.dumps(generic_message(message="w-2")).encode()
    response = client.post("/v1/webhooks/generic?wait=200ms", content=body,
                           headers={"Content-Type": "application/json", **generic_headers(body)})
    assert response.status_code == 200 and response.json()["status"] == "accepted"


def test_zendesk_new_ticket_and_its_first_comment_are_one_message(client: TestClient) -> None:
    description = "Refund me now or I call my lawyer."
    created = {"type": "zen:event-type:ticket.created", "account_id": 9, "subject": "zen:ticket:78",
               "detail": {"id": 78, "subject": "Help", "description": description}, "event": {}}
    first_comment = zendesk_comment(ticket="78", comment="555", text=description)
    first_comment["account_id"] = 9
    first_comment["detail"]["description"] = description
    ids = {post(client, "zendesk", payload).json()["inbox_ids"][0] for payload in (created, first_comment)}
    later = zendesk_comment(ticket="78", comment="556", text="Still waiting.")
    later["account_id"] = 9
    ids.add(post(client, "zendesk", later).json()["inbox_ids"][0])
    drain(client)
    assert len(ids) == 2 and count_rows(client) == 2


def test_intercom_every_customer_part_is_classified(client: TestClient) -> None:
    payload = intercom_reply(part="1")
    parts = payload["data"]["item"]["conversation_parts"]["conversation_parts"]
    parts.append({**parts[0], "id": "2", "body": "<p>Answer me!</p>"})
    parts.append({**parts[0], "id": "3", "body": "<p>agent note</p>", "author": {"type": "admin", "id": "9"}})
    response = post(client, "intercom", payload).json()
    assert response["status"] == "accepted" and len(response["inbox_ids"]) == 2
    drain(client)
    texts = sorted(inbox_message(client, i)["text"] for i in response["inbox_ids"])
    assert texts == ["Answer me!", TEXT]


def test_two_accounts_with_the_same_ticket_id_never_collide(client: TestClient) -> None:
    first, second = zendesk_comment(), zendesk_comment()
    second["account_id"] = 777
    a, b = (post(client, "zendesk", p).json() for p in (first, second))
    assert a["duplicate"] is False and b["duplicate"] is False and a["inbox_ids"] != b["inbox_ids"]
    drain(client)
    accounts = {inbox_message(client, r["inbox_ids"][0])["account"] for r in (a, b)}
    assert accounts == {"22129848", "777"}


def test_front_rule_webhook_signed_with_sha1(client: TestClient) -> None:
    payload = front_inbound()["payload"]  # rule webhooks send the event itself
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(SECRETS["front_app_secret"].encode(), body, hashlib.sha1).digest())
    response = client.post("/v1/webhooks/front", content=body, headers={"X-Front-Signature": signature.decode()})
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    forged = base64.b64encode(hmac.new(b"another-secret-0123456789", body, hashlib.sha1).digest())
    assert client.post("/v1/webhooks/front", content=body,
                       headers={"X-Front-Signature": forged.decode()}).status_code == 401


@pytest.mark.parametrize(("provider", "status"), [("intercom", 429), ("zendesk", 503), ("generic", 503)])
def test_overload_answers_the_status_each_helpdesk_retries(make_client: Callable[..., TestClient], provider: str,
                                                           status: int) -> None:
    client = make_client(inbox_worker_enabled=False, inbox_max_pending=1)
    payload_for = PROVIDERS[provider][0]
    assert post(client, provider, payload_for()).status_code == 200
    second = payload_for()
    second["id" if provider == "generic" else "app_id" if provider == "intercom" else "account_id"] = "other"
    refused = post(client, provider, second)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["code"] == "overloaded" and refused.headers["Retry-After"] == "1"
