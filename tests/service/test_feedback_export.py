"""Agent corrections round trip: webhook (?wait=) -> feedback -> ``ticketguard feedback export`` -> corpus rows."""

from __future__ import annotations

import hmac
import json
import time
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.service.conftest import SECRETS
from ticketguard.cli.main import app as cli_app
from ticketguard.training.corpus import read_rows


def deliver(client: TestClient, message_id: str, text: str, lang: str | None) -> int:
    body = json.dumps({"id": message_id, "text": text, **({"lang": lang} if lang else {})}).encode()
    ts = str(int(time.time()))
    signature = hmac.new(SECRETS["generic_webhook_secret"].encode(), f"{ts}.".encode() + body, "sha256").hexdigest()
    response = client.post("/v1/webhooks/generic?wait=10s", content=body,
                           headers={"X-TicketGuard-Timestamp": ts, "X-TicketGuard-Signature": signature})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "classified", response.text
    return response.json()["message"]["id"]


def test_feedback_export_round_trip(client: TestClient, auth: dict[str, str], tmp_path: Path) -> None:
    threat = deliver(client, "e1", "If the refund is not here by Friday I'm calling my lawyer.", "en-GB")
    abuse = deliver(client, "e2", "Вы там совсем тупые?", "ru")
    no_lang = deliver(client, "e3", "Where is my parcel?", None)
    deliver(client, "e4", "Thanks, all good now!", "en")  # no feedback: not exported
    for message_id, label, agent in [(threat, "abuse", "ann"), (threat, "threat", "ann"), (abuse, "abuse", None),
                                     (no_lang, "complaint", "bob")]:
        body = {"label": label, **({"agent": agent} if agent else {})}
        assert client.post(f"/v1/messages/{message_id}/feedback", json=body, headers=auth).status_code == 201

    out = tmp_path / "exports" / "feedback.jsonl"
    database_url = client.app.state.settings.database_url
    result = CliRunner().invoke(cli_app, ["feedback", "export", "-o", str(out), "--database-url", database_url])
    assert result.exit_code == 0, result.output
    rows = list(read_rows(out))  # the corpus validator accepts the file
    assert [(r.id, r.label, r.lang, r.source, r.split) for r in rows] == [
        (f"feedback-generic-{threat}", "threat", "en", "feedback:ann", "train"),
        (f"feedback-generic-{abuse}", "abuse", "ru", "feedback:unknown", "train"),
        (f"feedback-generic-{no_lang}", "complaint", "en", "feedback:bob", "train"),  # language detected
    ]
    assert rows[1].text == "Вы там совсем тупые?"


def test_export_of_an_empty_database_writes_an_empty_file(client: TestClient, tmp_path: Path) -> None:
    out = tmp_path / "empty.jsonl"
    result = CliRunner().invoke(cli_app, ["feedback", "export", "-o", str(out), "--database-url",
                                          client.app.state.settings.database_url])
    assert result.exit_code == 0 and out.read_text() == ""
    assert "wrote 0 correction(s)" in result.output


def test_export_reports_a_missing_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["feedback", "export", "-o", str(tmp_path / "x.jsonl"),
                                          "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/none"])
    assert result.exit_code == 2
    assert "cannot read feedback" in result.output
