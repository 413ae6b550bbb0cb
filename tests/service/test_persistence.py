"""Repository, migrations and the messages API on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction
from ticketguard.service import repository
from ticketguard.service.db import make_engine, make_session_factory, upgrade_database
from ticketguard.service.errors import NotFoundError
from ticketguard.service.orm import Base, DeadLetter, Feedback, Message, OutboxItem


def prediction(label: str = "complaint") -> Prediction:
    scores = {name: (0.6 if name == label else 0.1) for name in LABELS}
    return Prediction(label=label, scores=scores, flags=["threat"] if label == "threat" else [])


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


def save(session: Session, external_id: str, *, label: str = "complaint", lang: str | None = "en",
         source: str = "generic", text: str = "where is my parcel") -> repository.StoredMessage:
    stored = repository.insert_message(session=session, source=source, external_id=external_id, text=text,
                                       lang=lang, prediction=prediction(label), model_version="v-test")
    session.commit()
    return stored


def test_migrations_create_the_orm_schema(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert {"messages", "feedback", "label_history", "alembic_version"} <= set(inspect(engine).get_table_names())
    upgrade_database(engine)  # idempotent at head


def test_migration_0005_moves_dead_writes_to_the_dead_letters(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from ticketguard.service.db import alembic_config

    engine = make_engine(database_url)
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            connection.execute(text(
                "INSERT INTO tickets (id, provider, account, ticket_id, label, band, score, created_at, updated_at) "
                "VALUES (1, 'zendesk', '', '7', 'threat', 'high', 0.9, :at, :at)"), {"at": datetime.now(UTC)})
            for row_id, status in ((1, "dead"), (2, "done")):
                connection.execute(text(
                    "INSERT INTO outbox (id, ticket_pk, provider, account, ticket_id, label, band, status, attempts, "
                    "next_attempt_at, last_error, created_at) VALUES (:id, 1, 'zendesk', '', '7', 'threat', 'high', "
                    ":status, 8, :at, 'HTTP 500', :at)"), {"id": row_id, "status": status, "at": datetime.now(UTC)})
        upgrade_database(engine)
        with make_session_factory(engine)() as session:
            assert [(r.id, r.status) for r in session.scalars(select(OutboxItem))] == [(2, "done")]
            [letter] = session.scalars(select(DeadLetter)).all()
            assert (letter.id, letter.attempts, letter.last_error) == (1, 8, "HTTP 500")
    finally:
        engine.dispose()


def test_save_is_idempotent_and_round_trips(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        first = save(session, "t-1", label="threat")
        again = save(session, "t-1", label="neutral")  # a retry never overwrites the stored result
        other_source = save(session, "t-1", source="zendesk")
    assert first.created and not again.created and other_source.created
    assert again.message.id == first.message.id and again.message.label == "threat"
    assert first.message.flags == ["threat"] and first.message.scores["threat"] == pytest.approx(0.6)
    assert first.message.received_at.tzinfo is not None
    assert datetime.now(UTC) - first.message.received_at < timedelta(minutes=1)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_concurrent_saves_make_one_row(engine: Engine) -> None:
    factory = make_session_factory(engine)
    results: list[repository.StoredMessage] = []
    barrier = threading.Barrier(10)

    def deliver() -> None:
        barrier.wait()
        with factory() as session:
            results.append(save(session, "race-1"))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 10
    assert sum(r.created for r in results) == 1
    assert len({r.message.id for r in results}) == 1
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_list_filters_and_cursor(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        for i in range(7):
            save(session, f"m{i}", label="threat" if i % 2 else "neutral", lang="ru" if i < 3 else "en")
        all_rows = repository.list_messages(session=session, limit=100)
        assert [m.external_id for m in all_rows] == [f"m{i}" for i in reversed(range(7))]
        threats = repository.list_messages(session=session, label="threat", limit=100)
        assert [m.external_id for m in threats] == ["m5", "m3", "m1"]
        ru = repository.list_messages(session=session, lang="ru", limit=100)
        assert [m.external_id for m in ru] == ["m2", "m1", "m0"]
        page = repository.list_messages(session=session, limit=3, before_id=all_rows[2].id)
        assert [m.external_id for m in page] == ["m3", "m2", "m1"]
        future = datetime.now(UTC) + timedelta(hours=1)
        assert repository.list_messages(session=session, since=future) == []
        assert len(repository.list_messages(session=session, since=future - timedelta(hours=2), limit=100)) == 7


def test_feedback_latest_wins(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        message = save(session, "fb-1").message
        repository.add_feedback(session=session, message_id=message.id, label="abuse", agent="ann")
        repository.add_feedback(session=session, message_id=message.id, label="threat", agent="bob")
        latest = repository.latest_feedback(session=session, message_ids=[message.id])
        assert latest[message.id].label == "threat" and latest[message.id].agent == "bob"
        pairs = list(repository.iter_corrections(session=session))
        assert [(m.external_id, f.label) for m, f in pairs] == [("fb-1", "threat")]
        with pytest.raises(NotFoundError):
            repository.add_feedback(session=session, message_id=999_999, label="abuse", agent=None)
        assert session.scalar(select(func.count()).select_from(Feedback)) == 2


def test_messages_api_filters_pages_and_feedback(make_client: Callable[..., TestClient], database_url: str,
                                                 auth: dict[str, str]) -> None:
    client = make_client(database_url=database_url)
    with client.app.state.session_factory() as session:
        ids = [save(session, f"a{i}", label=("abuse", "neutral")[i % 2], lang=("en", "de")[i % 2]).message.id
               for i in range(5)]
    first = client.get("/v1/messages", params={"limit": 2}, headers=auth).json()
    assert [m["id"] for m in first["items"]] == [ids[4], ids[3]]
    second = client.get("/v1/messages", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth).json()
    assert [m["id"] for m in second["items"]] == [ids[2], ids[1]]
    last = client.get("/v1/messages", params={"limit": 2, "cursor": second["next_cursor"]}, headers=auth).json()
    assert [m["id"] for m in last["items"]] == [ids[0]] and last["next_cursor"] is None
    abuse = client.get("/v1/messages", params={"label": "abuse", "lang": "en"}, headers=auth).json()
    assert [m["external_id"] for m in abuse["items"]] == ["a4", "a2", "a0"]
    since = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert client.get("/v1/messages", params={"since": since}, headers=auth).json()["items"] == []

    created = client.post(f"/v1/messages/{ids[0]}/feedback", json={"label": "threat", "agent": "ann"}, headers=auth)
    assert created.status_code == 201
    assert created.json()["label"] == "threat" and created.json()["message_id"] == ids[0]
    assert client.get(f"/v1/messages/{ids[0]}", headers=auth).json()["feedback_label"] == "threat"

    for params, status in [({"label": "angry"}, 422), ({"limit": 0}, 422), ({"limit": 501}, 422),
                           ({"cursor": "not-a-cursor"}, 422), ({"since": "last tuesday"}, 422)]:
        response = client.get("/v1/messages", params=params, headers=auth)
        assert response.status_code == status, params
        assert "error" in response.json()
    assert client.get("/v1/messages/999999", headers=auth).status_code == 404
    assert client.get("/v1/messages/abc", headers=auth).status_code == 422
    bad = client.post(f"/v1/messages/{ids[0]}/feedback", json={"label": "angry"}, headers=auth)
    assert bad.status_code == 422 and "label" in bad.json()["error"]["message"]
    missing = client.post("/v1/messages/999999/feedback", json={"label": "threat"}, headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "message 999999 not found"
