"""Explanations through the service: ``explain`` on POST /v1/classify and stored webhook results."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import drain, inbox_message
from tests.service.test_webhooks import generic_message, post
from tests.tolerances import SCORE_ATOL
from ticketguard.models.explain import Explainer
from ticketguard.service.orm import Message

TEXT = "Cafe\u0301 staff are  idiots 😡, I will sue you!"


@pytest.fixture
def forward_rows(classifier, monkeypatch) -> list[int]:
    """Rows of every forward pass the shared tiny classifier runs during the test (calls go through)."""
    rows: list[int] = []
    forward = classifier.backend.forward

    def counting(encoded):
        rows.append(len(encoded))
        return forward(encoded)

    monkeypatch.setattr(classifier.backend, "forward", counting)
    return rows


def test_explain_returns_spans_of_the_text_as_sent(client: TestClient, auth, classifier) -> None:
    response = client.post("/v1/classify", json={"text": TEXT, "explain": True}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    explanation = body["explanation"]
    assert explanation["method"] == "occlusion"
    assert list(explanation["spans"]) == [body["label"], *[f for f in body["flags"] if f != body["label"]]]
    expected = Explainer(classifier).explain(TEXT, list(explanation["spans"]))
    for label, spans in explanation["spans"].items():
        assert [(s["start"], s["end"], s["text"]) for s in spans] == [
            (s.start, s.end, s.text) for s in expected.spans[label]]
        assert [s["score"] for s in spans] == pytest.approx([s.score for s in expected.spans[label]], abs=SCORE_ATOL)
        for span in spans:
            assert TEXT[span["start"]:span["end"]] == span["text"]


def test_explain_in_a_batch(client: TestClient, auth) -> None:
    items = [{"id": "a", "text": "Where is my parcel?"}, {"id": "b", "text": "你們客服是豬腦子嗎？"}]
    body = client.post("/v1/classify", json={"items": items, "explain": True}, headers=auth).json()
    for item, sent in zip(body["items"], items, strict=True):
        assert body["items"][0]["explanation"] is not None
        assert item["label"] in item["explanation"]["spans"]
        for spans in item["explanation"]["spans"].values():
            assert all(sent["text"][s["start"]:s["end"]] == s["text"] for s in spans)


def test_explain_off_costs_nothing_extra(client: TestClient, auth, forward_rows: list[int]) -> None:
    plain = client.post("/v1/classify", json={"text": TEXT}, headers=auth)
    off = client.post("/v1/classify", json={"text": TEXT, "explain": False}, headers=auth)
    assert plain.json()["explanation"] is None and off.json()["explanation"] is None
    assert forward_rows == [1, 1]  # one row per request: the classification alone
    forward_rows.clear()
    client.post("/v1/classify", json={"text": TEXT, "explain": True}, headers=auth)
    assert forward_rows[0] == 1 and sum(forward_rows) > 2


def test_explain_must_be_a_boolean(client: TestClient, auth) -> None:
    for value in ("please", 0, "true"):
        response = client.post("/v1/classify", json={"text": TEXT, "explain": value}, headers=auth)
        assert response.status_code == 422, value
    assert "explain" in response.text
    response = client.post("/v1/classify", json={"items": [{"text": "hi", "explain": True}]}, headers=auth)
    assert response.status_code == 422  # per batch, not per item


def test_webhook_results_are_explained_when_switched_on(make_client: Callable[..., TestClient], auth) -> None:
    client = make_client(explain_webhooks=True)
    inbox_id = post(client, "generic", generic_message(text=TEXT)).json()["inbox_ids"][0]
    drain(client)
    message = inbox_message(client, inbox_id)
    spans = message["explanation"]["spans"]
    assert message["label"] in spans
    for label_spans in spans.values():
        assert all(TEXT[s["start"]:s["end"]] == s["text"] for s in label_spans)
    stored = client.get(f"/v1/messages/{message['id']}", headers=auth).json()
    assert stored["explanation"] == message["explanation"]
    with client.app.state.session_factory() as session:
        assert session.get(Message, message["id"]).explanation == message["explanation"]


def test_webhook_results_are_not_explained_by_default(client: TestClient, forward_rows: list[int]) -> None:
    inbox_id = post(client, "generic", generic_message(text=TEXT)).json()["inbox_ids"][0]
    drain(client)
    message = inbox_message(client, inbox_id)
    assert message["explanation"] is None
    assert forward_rows == [1]
