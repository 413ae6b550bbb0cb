"""A row the database refuses is set aside as failed, with its error, and the rows behind it are classified;
``ticketguard inbox retry`` puts it back once the cause is gone."""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.service.conftest import drain
from ticketguard.cli.main import app as cli
from ticketguard.models.classifier import Classifier
from ticketguard.service import inbox
from ticketguard.service.app import create_app
from ticketguard.service.db import make_engine
from ticketguard.service.orm import InboxItem
from ticketguard.service.settings import Settings

#: a real database refusal: a trigger aborts the insert of the message stored for this one inbox row
#: (the statements that create it, per dialect; then the one that drops it)
REFUSE_POISON = {
    "sqlite": ["""CREATE TRIGGER refuse_poison BEFORE INSERT ON messages WHEN NEW.external_id = 'poison'
                  BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"""],
    "postgresql": ["""CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                      IF NEW.external_id = 'poison' THEN
                        RAISE EXCEPTION 'refused by the test trigger' USING ERRCODE = 'check_violation';
                      END IF; RETURN NEW; END $$""",
                   """CREATE TRIGGER refuse_poison BEFORE INSERT ON messages
                      FOR EACH ROW EXECUTE FUNCTION refuse_poison()"""],
}
ALLOW_POISON = {"sqlite": "DROP TRIGGER refuse_poison", "postgresql": "DROP TRIGGER refuse_poison ON messages"}
KEYS = ["before", "poison", "after-1", "after-2"]
runner = CliRunner()


def _statuses(client: TestClient) -> dict[str, tuple[str, str | None]]:
    with client.app.state.session_factory() as session:
        rows = session.scalars(sqlalchemy.select(InboxItem).order_by(InboxItem.id))
        return {row.external_id: (row.status, row.error) for row in rows}


def test_a_refused_row_is_set_aside_and_the_rest_are_classified_then_retried(
        make_settings: Callable[..., Settings], make_client: Callable[..., TestClient], classifier: Classifier,
        database_url: str) -> None:
    settings = make_settings(database_url=database_url)
    with TestClient(create_app(settings, classifier=classifier)):
        pass  # the app's start migrates the database
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for statement in REFUSE_POISON[engine.dialect.name]:
            connection.execute(sqlalchemy.text(statement))
    with sqlalchemy.orm.Session(engine) as session:  # one batch waiting when the worker starts
        inbox.enqueue(session=session, payload={}, items=[
            inbox.NewItem("generic", "", key, f"Where is my parcel? Order {n}.", False, "en", None)
            for n, key in enumerate(KEYS)])

    client = make_client(database_url=database_url, inbox_poll_seconds=0.05)
    drain(client)
    statuses = _statuses(client)
    assert {key: status for key, (status, _) in statuses.items()} == {
        "before": "done", "poison": "failed", "after-1": "done", "after-2": "done"}
    error = statuses["poison"][1]
    assert error is not None and error.startswith("IntegrityError: (") and "refused by the test trigger" in error
    assert "Order 1" not in error  # never the statement's parameters (customer text)

    listed = runner.invoke(cli, ["inbox", "list", "--status", "failed", "--database-url", database_url])
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["external_id"] for line in listed.stdout.splitlines()] == ["poison"]

    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(ALLOW_POISON[engine.dialect.name]))
    retried = runner.invoke(cli, ["inbox", "retry", "--database-url", database_url])
    assert retried.exit_code == 0, retried.output
    assert "queued 1 inbox row(s) again" in retried.output
    drain(client)
    assert _statuses(client)["poison"] == ("done", None)
    engine.dispose()


def test_listing_an_unknown_status_is_refused(make_settings: Callable[..., Settings]) -> None:
    result = runner.invoke(cli, ["inbox", "list", "--status", "lost", "--database-url",
                                 make_settings().database_url])
    assert result.exit_code == 2 and "pending, done, failed" in result.output
