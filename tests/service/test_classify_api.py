"""POST /v1/classify on the real tiny model, the operational endpoints, and every bad-input path."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import API_KEY
from tests.tolerances import SCORE_ATOL
from ticketguard.models.labels import LABELS


def _assert_classification(item: dict, *, model_version: str = "tiny-test-0") -> None:
    assert item["label"] in LABELS
    assert set(item["scores"]) == set(LABELS)
    assert sum(item["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert item["label"] == max(item["scores"], key=item["scores"].get)
    assert set(item["flags"]) <= set(LABELS)
    assert item["model_version"] == model_version


def test_single_message(client: TestClient, auth: dict[str, str], classifier) -> None:
    text = "Refund me by Friday or my lawyer files the lawsuit on Monday."
    response = client.post("/v1/classify", json={"text": text, "id": "t-1", "lang": "en"}, headers=auth)
    assert response.status_code == 200
    body = response.json()
    _assert_classification(body)
    assert body["id"] == "t-1" and body["lang"] == "en"
    # the service returns exactly what the shared Classifier says
    expected = classifier.predict([text])[0]
    assert body["label"] == expected.label
    assert body["scores"] == pytest.approx(expected.scores, abs=SCORE_ATOL)
    assert response.headers["x-request-id"]


def test_batch_keeps_order_and_ids(client: TestClient, auth: dict[str, str], classifier) -> None:
    texts = ["Where is my parcel?", "You are a useless idiot.", "Подскажите, как поменять тариф?"]
    items = [{"id": f"b{i}", "text": t} for i, t in enumerate(texts)]
    response = client.post("/v1/classify", json={"items": items}, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == ["b0", "b1", "b2"]
    expected = classifier.predict(texts)
    for item, prediction in zip(body["items"], expected, strict=False):
        _assert_classification(item)
        assert item["label"] == prediction.label
    assert body["model_version"] == "tiny-test-0"


def test_client_request_id_is_echoed(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/classify", json={"text": "hello"}, headers={**auth, "X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize(("payload", "status", "code", "needle"), [
    ({"text": ""}, 422, "validation_error", "text"),
    ({"text": "   \n\t  "}, 422, "validation_error", "empty text"),
    ({"text": "\x00\x01\x02"}, 422, "validation_error", "empty text"),
    ({"text": "\u200b\u200c\u200d\u2060\ufeff"}, 422, "validation_error", "empty text"),
    ({"text": "x" * 20_001}, 422, "validation_error", "at most 20000"),
    ({"text": 42}, 422, "validation_error", "valid string"),
    ({"text": ["a"]}, 422, "validation_error", "valid string"),
    ({"text": "hi", "lang": 5}, 422, "validation_error", "lang"),
    ({"text": "hi", "lang": "not a language!"}, 422, "validation_error", "language tag"),
    ({"text": "hi", "surprise": 1}, 422, "validation_error", "surprise"),
    ({}, 422, "validation_error", "text"),
    ({"items": []}, 422, "validation_error", "at least 1"),
    ({"items": "abc"}, 422, "validation_error", "valid list"),
    ({"items": [{"text": "ok"}, {"text": " "}]}, 422, "validation_error", "items.1.text"),
    ([1, 2], 422, "validation_error", ""),
    ("just a string", 422, "validation_error", ""),
])
def test_bad_input_is_a_4xx_with_a_json_error(client: TestClient, auth: dict[str, str], payload: object, status: int,
                                             code: str, needle: str) -> None:
    response = client.post("/v1/classify", json=payload, headers=auth)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert needle in error["message"] + json.dumps(error.get("details", []))
    assert error["request_id"] == response.headers["x-request-id"]
    # the rejected text is never echoed back
    assert "x" * 100 not in response.text


def test_malformed_json_is_400(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/classify", content=b'{"text": "unterminated', headers={
        **auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_configured_limits(make_client: Callable[..., TestClient], auth: dict[str, str]) -> None:
    client = make_client(max_text_chars=50, max_batch_items=3)
    too_long = client.post("/v1/classify", json={"text": "y" * 51}, headers=auth)
    assert too_long.status_code == 422
    assert too_long.json()["error"] == {"code": "limit_exceeded", "message": "text: 51 characters; the limit is 50",
                                        "request_id": too_long.headers["x-request-id"]}
    too_many = client.post("/v1/classify", json={"items": [{"text": "hi"}] * 4}, headers=auth)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["message"] == "items: 4 messages in one request; the limit is 3"
    assert client.post("/v1/classify", json={"items": [{"text": "hi"}] * 3}, headers=auth).status_code == 200


def test_default_batch_limit_is_256(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/classify", json={"items": [{"text": "hi"}] * 257}, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "items: 257 messages in one request; the limit is 256"


def test_body_over_the_limit_is_413(make_client: Callable[..., TestClient], auth: dict[str, str]) -> None:
    client = make_client(max_body_bytes=2048)
    body = json.dumps({"text": "z" * 3000}).encode()
    response = client.post("/v1/classify", content=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"

    def chunks():  # no Content-Length: the limit must hold for a streamed body too
        for i in range(0, len(body), 500):
            yield body[i:i + 500]

    streamed = client.post("/v1/classify", content=chunks(), headers={**auth, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    small = client.post("/v1/classify", json={"text": "fine"}, headers=auth)
    assert small.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong-key-0123456789abcdef"}, {"X-API-Key": ""}])
def test_api_key_required(client: TestClient, headers: dict[str, str]) -> None:
    for method, path, kwargs in [("post", "/v1/classify", {"json": {"text": "hi"}}), ("get", "/v1/messages", {}),
                                 ("get", "/v1/messages/1", {})]:
        response = getattr(client, method)(path, headers=headers, **kwargs)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"


def test_no_configured_keys_refuses_unless_auth_disabled(make_client: Callable[..., TestClient]) -> None:
    locked = make_client(api_keys=[])
    response = locked.post("/v1/classify", json={"text": "hi"}, headers={"X-API-Key": API_KEY})
    assert response.status_code == 401
    assert "no API keys are configured" in response.json()["error"]["message"]
    open_client = make_client(api_keys=[], auth_disabled=True)
    assert open_client.post("/v1/classify", json={"text": "hi"}).status_code == 200


def test_health_readiness_metrics_and_docs(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "model_version": None, "precision": None, "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "model_version": "tiny-test-0",
                            "precision": {"mode": "fp32", "forced": False, "guard": "reference"},
                            "checks": {"model": "ok", "batcher": "ok", "database": "ok"}}
    client.post("/v1/classify", json={"text": "Where is my parcel?", "lang": "en-GB"}, headers=auth)
    client.post("/v1/classify", json={"text": "我的訂單三週了還沒到", "lang": "zh"}, headers=auth)
    client.post("/v1/classify", json={"text": "hi"}, headers={"X-API-Key": "wrong-key-0123456789abcdef"})
    text = client.get("/metrics").text
    assert 'ticketguard_http_requests_total{method="POST",route="/v1/classify",status="200"} 2.0' in text
    assert 'ticketguard_http_requests_total{method="POST",route="/v1/classify",status="401"} 1.0' in text
    assert 'ticketguard_http_request_duration_seconds_count{method="POST",route="/v1/classify"} 3.0' in text
    assert 'ticketguard_model_info{labels="threat,abuse,manipulation,complaint,neutral",version="tiny-test-0"} 1.0' in text
    assert "ticketguard_batch_size_bucket" in text and "ticketguard_queue_depth 0.0" in text
    counted = [line for line in text.splitlines() if line.startswith("ticketguard_predictions_total{")]
    # a bare "zh" tag is counted under the script of the text (Traditional here)
    assert any('lang="en"' in line for line in counted) and any('lang="zh-Hant"' in line for line in counted)
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/classify", "/v1/webhooks/{provider}", "/v1/messages", "/v1/messages/{message_id}",
            "/v1/messages/{message_id}/feedback", "/healthz", "/readyz", "/metrics"} <= set(paths)


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.get("/v1/classify")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_readyz_reports_an_unreachable_database(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    client.app.state.engine.dispose()
    # point the live app at a database nobody listens for
    from sqlalchemy import create_engine

    client.app.state.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                                            connect_args={"connect_timeout": 2})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["model"] == "ok"
    assert response.json()["checks"]["database"].startswith("database unreachable")
