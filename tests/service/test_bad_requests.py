"""Every bad or odd request an outside probe sent gets a 4xx JSON error naming the field, on SQLite and
on PostgreSQL alike, and nothing is stored (issue 9). Each case runs on both databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.service.conftest import API_KEY, SECRETS, drain, inbox_message
from tests.service.test_webhooks import (
    TEXT,
    freshdesk_headers,
    freshdesk_ticket,
    front_headers,
    front_inbound,
    generic_headers,
    generic_message,
)
from ticketguard.service.orm import Feedback, Message
from ticketguard.service.validation import MAX_DB_ID, MAX_JSON_DEPTH

AUTH = {"X-API-Key": API_KEY}
BEYOND_ANY_INTEGER = "99999999999999999999999"


@pytest.fixture
def api(make_client: Callable[..., TestClient], database_url: str) -> TestClient:
    return make_client(database_url=database_url)


def rows(client: TestClient, table: type = Message) -> int:
    with client.app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(table))


def sign_and_post(client: TestClient, provider: str, body: bytes, headers_for: Callable[..., dict[str, str]],
                  **extra: str) -> httpx.Response:
    return client.post(f"/v1/webhooks/{provider}", content=body,
                       headers={"Content-Type": "application/json", **headers_for(body), **extra})


def stored_message(client: TestClient, external_id: str = "m-1") -> int:
    response = sign_and_post(client, "generic", json.dumps(generic_message(message=external_id)).encode(),
                             generic_headers)
    assert response.status_code == 200, response.text
    drain(client)
    return int(inbox_message(client, response.json()["inbox_ids"][0])["id"])


def assert_error(response: httpx.Response, status: int, code: str, *needles: str) -> dict[str, Any]:
    """A JSON error of this status and code whose message holds every needle; it carries the request id."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    for needle in needles:
        assert needle in error["message"], (needle, error["message"])
    assert error["request_id"] and error["request_id"] == response.headers["x-request-id"]
    return error


# --- JSON nesting, bounded before any parser recurses --------------------------------------------------

def deep_json(levels: int, opener: str = "[") -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '"a": ' if opener == "{" else ""
    return (f"{opener}{inner}" * levels + "1" + closer * levels).encode()


@pytest.mark.parametrize("opener", ["[", "{"])
@pytest.mark.parametrize(("provider", "headers_for"), [("generic", generic_headers),
                                                      ("freshdesk", freshdesk_headers)])
def test_deeply_nested_signed_webhook_is_400(api: TestClient, provider: str, headers_for, opener: str) -> None:
    response = sign_and_post(api, provider, deep_json(100_000, opener), headers_for)
    assert_error(response, 400, "json_too_deep", "body", f"deeper than {MAX_JSON_DEPTH} levels")
    assert rows(api) == 0


def test_deeply_nested_classify_and_feedback_are_400(api: TestClient) -> None:
    for path in ("/v1/classify", "/v1/messages/1/feedback"):
        response = api.post(path, content=deep_json(100_000), headers={**AUTH, "Content-Type": "application/json"})
        assert_error(response, 400, "json_too_deep", "body")


def test_nesting_at_the_limit_is_parsed(api: TestClient) -> None:
    # exactly MAX_JSON_DEPTH levels passes the guard and reaches the payload check (a list is no generic payload)
    response = sign_and_post(api, "generic", deep_json(MAX_JSON_DEPTH), generic_headers)
    assert_error(response, 422, "invalid_payload", "not a generic payload")


@pytest.mark.parametrize("body", [b"\x00", b'{"id": "x", "text": "hi", "n": ' + b"1" * 5000 + b"}", b"\xff\xfe{}"])
def test_body_that_is_not_json_is_400_everywhere(api: TestClient, body: bytes) -> None:
    assert_error(sign_and_post(api, "generic", body, generic_headers), 400, "malformed_json", "body")
    for path in ("/v1/classify", "/v1/messages/1/feedback"):
        response = api.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})
        assert_error(response, 400, "malformed_json", "body: not valid JSON")
    assert rows(api) == 0


# --- ids within the database's integer range ----------------------------------------------------------

@pytest.mark.parametrize("message_id", [BEYOND_ANY_INTEGER, str(MAX_DB_ID + 1), "0", "-1"])
def test_message_id_outside_the_integer_range_is_422(api: TestClient, message_id: str) -> None:
    stored_message(api)
    read = api.get(f"/v1/messages/{message_id}", headers=AUTH)
    assert_error(read, 422, "validation_error", "message_id")
    feedback = api.post(f"/v1/messages/{message_id}/feedback", json={"label": "threat"}, headers=AUTH)
    assert_error(feedback, 422, "validation_error", "message_id")
    assert rows(api, Feedback) == 0


def test_largest_id_is_looked_up(api: TestClient) -> None:
    assert_error(api.get(f"/v1/messages/{MAX_DB_ID}", headers=AUTH), 404, "not_found", str(MAX_DB_ID))
    missing = api.post(f"/v1/messages/{MAX_DB_ID}/feedback", json={"label": "threat"}, headers=AUTH)
    assert_error(missing, 404, "not_found")


@pytest.mark.parametrize("cursor", [BEYOND_ANY_INTEGER, str(MAX_DB_ID + 1), "0", "bTo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_cursor_outside_the_integer_range_is_422(api: TestClient, cursor: str) -> None:
    response = api.get("/v1/messages", params={"cursor": cursor}, headers=AUTH)
    assert_error(response, 422, "validation_error", "cursor")


def test_cursor_pages_through_every_message(api: TestClient) -> None:
    ids = [stored_message(api, f"p-{i}") for i in range(3)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/messages", params=params, headers=AUTH).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, int)
    assert seen == ids[::-1]
    assert api.get("/v1/messages", params={"cursor": MAX_DB_ID}, headers=AUTH).json()["items"][0]["id"] == ids[-1]


# --- timestamps within a sane range ------------------------------------------------------------------

@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1969-12-31T23:59:59Z",
                                   "3000-01-01T00:00:00Z", "0.5", "1764489600", "2026-11-30", "2026-11-30T08:00:00",
                                   "2026-02-30T00:00:00Z", "last tuesday", "2026-11-30T08:00:00Z\u0000"])
def test_since_outside_the_accepted_form_is_422(api: TestClient, since: str) -> None:
    response = api.get("/v1/messages", params={"since": since}, headers=AUTH)
    assert_error(response, 422, "validation_error", "since")


@pytest.mark.parametrize(("since", "found"), [("1970-01-01T00:00:00+14:00", 1), ("2999-12-31T23:59:59-12:00", 0),
                                              ("2026-01-01t00:00:00.123456789z", 1)])
def test_since_at_the_edges_of_the_range_filters(api: TestClient, since: str, found: int) -> None:
    stored_message(api)
    response = api.get("/v1/messages", params={"since": since}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == found


# --- NUL: removed from message text, refused in identifiers, names and filters --------------------------

def test_nul_in_webhook_text_is_removed_and_stored(api: TestClient) -> None:
    body = json.dumps(generic_message(message="nul-text", text="Refund\u0000 me now\u0000")).encode()
    response = sign_and_post(api, "generic", body, generic_headers)
    assert response.status_code == 200, response.text
    drain(api)
    assert inbox_message(api, response.json()["inbox_ids"][0])["text"] == "Refund me now"
    # the helpdesk's retry finds the stored message instead of failing forever
    again = sign_and_post(api, "generic", body, generic_headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True and rows(api) == 1


def test_nul_only_text_is_ignored(api: TestClient) -> None:
    body = json.dumps(generic_message(text="\u0000\u0000")).encode()
    response = sign_and_post(api, "generic", body, generic_headers)
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert rows(api) == 0


def test_nul_in_webhook_id_is_422(api: TestClient) -> None:
    body = json.dumps(generic_message(message="g\u00001")).encode()
    assert_error(sign_and_post(api, "generic", body, generic_headers), 422, "validation_error", "id", "NUL")
    assert rows(api) == 0


def test_nul_in_front_message_id_is_422(api: TestClient) -> None:
    body = json.dumps(front_inbound(message="msg_\u0000")).encode()
    assert_error(sign_and_post(api, "front", body, front_headers), 422, "validation_error", "id", "NUL")
    assert rows(api) == 0


def test_nul_in_freshdesk_ticket_id_is_422(api: TestClient) -> None:
    payload = freshdesk_ticket()
    payload["freshdesk_webhook"]["ticket_id"] = "42\u0000"
    body = json.dumps(payload).encode()
    assert_error(sign_and_post(api, "freshdesk", body, freshdesk_headers), 422, "validation_error", "id", "NUL")


def test_nul_in_feedback_agent_is_422(api: TestClient) -> None:
    message_id = stored_message(api)
    response = api.post(f"/v1/messages/{message_id}/feedback", json={"label": "threat", "agent": "ann\u0000"},
                        headers=AUTH)
    assert_error(response, 422, "validation_error", "agent", "NUL")
    assert rows(api, Feedback) == 0


def test_unpaired_surrogate_in_feedback_agent_is_422(api: TestClient) -> None:
    message_id = stored_message(api)
    body = b'{"label": "threat", "agent": "ann\\ud800"}'
    response = api.post(f"/v1/messages/{message_id}/feedback", content=body,
                        headers={**AUTH, "Content-Type": "application/json"})
    assert_error(response, 422, "validation_error", "agent", "surrogate")


@pytest.mark.parametrize("param", ["lang", "source"])
def test_nul_in_a_filter_is_422(api: TestClient, param: str) -> None:
    response = api.get("/v1/messages", params={param: "en\u0000"}, headers=AUTH)
    assert_error(response, 422, "validation_error", param)


def test_filters_accept_what_the_spec_accepts(api: TestClient) -> None:
    stored_message(api)
    longest_tag = "en-" + "-".join(["abcdefgh"] * 3) + "-abcde"  # 35 characters, a valid tag
    assert len(longest_tag) == 35
    for params in ({"lang": longest_tag}, {"lang": "zh_Hant_TW"}, {"source": "generic"}, {"source": "x" * 32}):
        response = api.get("/v1/messages", params=params, headers=AUTH)
        assert response.status_code == 200, (params, response.text)
    assert [m["source"] for m in api.get("/v1/messages", params={"source": "generic"}, headers=AUTH)
            .json()["items"]] == ["generic"]
    for params in ({"lang": longest_tag + "x"}, {"lang": "e"}, {"source": "x" * 33}, {"source": ""}):
        assert_error(api.get("/v1/messages", params=params, headers=AUTH), 422, "validation_error", next(iter(params)))


# --- webhook timestamps that are not finite numbers --------------------------------------------------

@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "infinity", "1e3", "-5", "1_764_489_600", ""])
@pytest.mark.parametrize(("provider", "header", "payload"), [
    ("generic", "X-TicketGuard-Timestamp", generic_message()),
    ("front", "X-Front-Request-Timestamp", front_inbound()),
])
def test_non_finite_or_unparsable_signed_timestamp_is_401(api: TestClient, provider: str, header: str,
                                                          payload: dict, timestamp: str) -> None:
    body = json.dumps(payload).encode()
    if provider == "generic":
        headers = generic_headers(body)
        headers["X-TicketGuard-Signature"] = _hmac_hex("generic_webhook_secret", f"{timestamp}.".encode() + body)
    else:
        headers = front_headers(body)
        headers["X-Front-Signature"] = _hmac_b64("front_app_secret", f"{timestamp}:".encode() + body)
    headers[header] = timestamp
    response = api.post(f"/v1/webhooks/{provider}", content=body, headers={"Content-Type": "application/json",
                                                                           **headers})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    assert header in response.json()["error"]["message"]
    assert rows(api) == 0


def _hmac_hex(setting: str, message: bytes) -> str:
    return hmac.new(SECRETS[setting].encode(), message, hashlib.sha256).hexdigest()


def _hmac_b64(setting: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(SECRETS[setting].encode(), message, hashlib.sha256).digest()).decode()


# --- text made only of format characters ----------------------------------------------------------------

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def test_zero_width_only_text_is_refused_and_not_stored(api: TestClient) -> None:
    classify = api.post("/v1/classify", json={"text": ZERO_WIDTH}, headers=AUTH)
    assert_error(classify, 422, "validation_error", "text: empty text")
    body = json.dumps(generic_message(text=ZERO_WIDTH + " \n")).encode()
    webhook = sign_and_post(api, "generic", body, generic_headers)  # a webhook answers 200 so it is not retried
    assert webhook.status_code == 200 and webhook.json()["status"] == "ignored"
    assert rows(api) == 0
    visible = api.post("/v1/classify", json={"text": ZERO_WIDTH + "hi"}, headers=AUTH)
    assert visible.status_code == 200, visible.text


# --- content type --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("content_type", "body"), [
    ("text/plain", json.dumps({"text": TEXT}).encode()),
    ("application/x-www-form-urlencoded", b"text=hello"),
    (None, json.dumps({"text": TEXT}).encode()),
])
def test_body_that_is_not_declared_json_is_415(api: TestClient, content_type: str | None, body: bytes) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    message_id = stored_message(api)
    for path in ("/v1/classify", f"/v1/messages/{message_id}/feedback"):
        response = api.post(path, content=body, headers=headers)  # raw content: httpx adds no Content-Type
        error = assert_error(response, 415, "unsupported_media_type", "application/json")
        if content_type:
            assert content_type in error["message"]
        else:
            assert "missing" in error["message"]
    assert rows(api, Feedback) == 0


def test_json_media_type_with_charset_or_suffix_is_accepted(api: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.ticketguard+json"):
        response = api.post("/v1/classify", content=json.dumps({"text": TEXT}).encode(),
                            headers={**AUTH, "Content-Type": content_type})
        assert response.status_code == 200, (content_type, response.text)


def test_missing_api_key_comes_before_the_content_type(api: TestClient) -> None:
    response = api.post("/v1/classify", content=b"text", headers={"Content-Type": "text/plain"})
    assert_error(response, 401, "unauthorized")
