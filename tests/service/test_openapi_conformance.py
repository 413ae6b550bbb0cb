"""The OpenAPI document matches the server (issue 9).

schemathesis reads the served document and sends what it describes, and what it does not (every
check, positive and negative data, all four phases), over real HTTP to a server on SQLite and on
PostgreSQL that holds a few messages. The default run is bounded by a fixed number of examples
and a fixed seed; the ``slow`` run tries many more.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import API_KEY
from tests.service.test_webhooks import generic_headers, generic_message
from ticketguard.service.settings import HARD_MAX_BATCH_ITEMS, HARD_MAX_TEXT_CHARS
from ticketguard.service.validation import MAX_DB_ID


def seeded_server(serve: Callable[..., str], database_url: str, **overrides: object) -> str:
    base = serve(database_url=database_url, **overrides)
    for i in range(3):  # stored messages, so reads and feedback reach more than 404
        body = json.dumps(generic_message(message=f"seed-{i}", text=f"Where is my parcel number {i}?")).encode()
        response = httpx.post(f"{base}/v1/webhooks/generic", content=body,
                              headers={"Content-Type": "application/json", **generic_headers(body)})
        assert response.status_code == 200, response.text
    return base


def run_schemathesis(base: str, *, max_examples: int, seed: int | None, timeout: int,
                     workdir: Path) -> subprocess.CompletedProcess:
    """``st run`` over the served document; it runs in ``workdir``, where schemathesis keeps its cache."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json", "--checks", "all",
               "--mode", "all", "--header", f"X-API-Key: {API_KEY}", "--max-examples", str(max_examples),
               "--generation-database", "none", "--workers", "1", "--no-color", "--request-timeout", "30"]
    if seed is not None:
        command += ["--seed", str(seed)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, cwd=workdir)


def assert_clean(result: subprocess.CompletedProcess, *, at_least: int) -> None:
    """schemathesis exited 0 (no failure of any check) after sending at least ``at_least`` requests."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, \1 passed", output)
    assert generated and int(generated.group(1)) >= at_least, output[-3000:]


def test_schemathesis_finds_no_server_error_and_no_spec_mismatch(serve: Callable[..., str], database_url: str,
                                                                 tmp_path: Path) -> None:
    result = run_schemathesis(seeded_server(serve, database_url), max_examples=8, seed=9, timeout=900, workdir=tmp_path)
    assert_clean(result, at_least=200)


@pytest.mark.slow
def test_schemathesis_long_run(serve: Callable[..., str], database_url: str, tmp_path: Path) -> None:
    result = run_schemathesis(seeded_server(serve, database_url), max_examples=300, seed=None, timeout=1800,
                              workdir=tmp_path)
    assert_clean(result, at_least=2000)


def _string(schema: dict) -> dict:
    """The non-null branch of an optional value's schema."""
    return next((s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"), schema)


def test_the_documents_limits_are_the_servers(make_client, database_url: str, auth: dict[str, str]) -> None:
    """Each limit of the document, probed at the limit (accepted) and one past it (422 naming the field).

    schemathesis cannot probe these itself: it does not build a 20,000-character text matching a pattern.
    """
    client = make_client(database_url=database_url, max_text_chars=40, max_batch_items=2)
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    ticket = schemas["TicketIn"]["properties"]
    text_max, items_max = ticket["text"]["maxLength"], schemas["BatchIn"]["properties"]["items"]["maxItems"]
    id_max, lang_max = _string(ticket["id"])["maxLength"], _string(ticket["lang"])["maxLength"]
    assert (text_max, items_max) == (40, 2)
    accepted = [{"text": "x" * text_max}, {"items": [{"text": "hi"}] * items_max},
                {"text": "hi", "id": "i" * id_max}, {"text": "hi", "lang": ("en" + "-abcdefgh" * 4)[:lang_max]}]
    refused = [({"text": "x" * (text_max + 1)}, "text"), ({"items": [{"text": "hi"}] * (items_max + 1)}, "items"),
               ({"text": "hi", "id": "i" * (id_max + 1)}, "id"),
               ({"text": "hi", "lang": ("en" + "-abcdefgh" * 4)[:lang_max] + "a"}, "lang")]
    for body in accepted:
        response = client.post("/v1/classify", json=body, headers=auth)
        assert response.status_code == 200, (body, response.text)
    for body, field in refused:
        response = client.post("/v1/classify", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["message"].startswith(field), response.json()

    parameters = {p["name"]: _string(p["schema"]) for p in document["paths"]["/v1/messages"]["get"]["parameters"]}
    for name, value in (("limit", parameters["limit"]["maximum"]), ("limit", parameters["limit"]["minimum"]),
                        ("cursor", parameters["cursor"]["maximum"]), ("cursor", parameters["cursor"]["minimum"]),
                        ("source", "s" * parameters["source"]["maxLength"])):
        assert client.get("/v1/messages", params={name: value}, headers=auth).status_code == 200, (name, value)
    for name, value in (("limit", parameters["limit"]["maximum"] + 1), ("limit", parameters["limit"]["minimum"] - 1),
                        ("cursor", parameters["cursor"]["maximum"] + 1), ("cursor", parameters["cursor"]["minimum"] - 1),
                        ("source", "s" * (parameters["source"]["maxLength"] + 1))):
        response = client.get("/v1/messages", params={name: value}, headers=auth)
        assert response.status_code == 422 and name in response.json()["error"]["message"], (name, value)
    message_id = document["paths"]["/v1/messages/{message_id}"]["get"]["parameters"][0]["schema"]["maximum"]
    assert client.get(f"/v1/messages/{message_id}", headers=auth).status_code == 404
    assert client.get(f"/v1/messages/{message_id + 1}", headers=auth).status_code == 422
    agent_max = _string(schemas["FeedbackIn"]["properties"]["agent"])["maxLength"]
    for agent, status in (("a" * agent_max, 404), ("a" * (agent_max + 1), 422)):  # 404: validated, then looked up
        response = client.post("/v1/messages/1/feedback", json={"label": "threat", "agent": agent}, headers=auth)
        assert response.status_code == status, response.text


def test_document_states_every_status_and_the_configured_limits(make_client) -> None:
    client = make_client(max_text_chars=1000, max_batch_items=16)
    document = client.get("/openapi.json").json()
    statuses = {(path, method): set(operation["responses"]) for path, item in document["paths"].items()
                for method, operation in item.items()}
    assert statuses[("/v1/classify", "post")] == {"200", "400", "401", "413", "415", "422", "500", "503"}
    assert statuses[("/v1/webhooks/{provider}", "post")] == {"200", "400", "401", "404", "413", "422", "429", "500",
                                                             "503"}
    assert statuses[("/v1/tickets/{provider}/{ticket_id}", "get")] == {"200", "401", "404", "409", "422", "500",
                                                                       "503"}
    assert statuses[("/v1/messages/{message_id}", "get")] == {"200", "401", "404", "422", "500", "503"}
    assert statuses[("/v1/messages", "get")] == {"200", "401", "422", "500", "503"}
    assert statuses[("/v1/messages/{message_id}/feedback", "post")] == {"201", "400", "401", "404", "413", "415",
                                                                         "422", "500", "503"}
    schemas = document["components"]["schemas"]
    assert schemas["TicketIn"]["properties"]["text"]["maxLength"] == 1000 < HARD_MAX_TEXT_CHARS
    body = document["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/ClassifyIn"} in body["oneOf"]  # its own schema, with the same limit
    assert schemas["ClassifyIn"]["properties"]["text"]["maxLength"] == 1000
    assert schemas["BatchIn"]["properties"]["items"]["maxItems"] == 16 < HARD_MAX_BATCH_ITEMS
    message_id = document["paths"]["/v1/messages/{message_id}"]["get"]["parameters"][0]["schema"]
    assert (message_id["minimum"], message_id["maximum"]) == (1, MAX_DB_ID)
    error = document["paths"]["/v1/messages"]["get"]["responses"]["422"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    assert error["headers"]["X-Request-ID"]["required"] is True
