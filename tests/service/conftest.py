"""Service fixtures: one real tiny classifier for the session, apps on SQLite or PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.service.fake_helpdesk import FakeHelpdesk
from ticketguard.models.classifier import Classifier
from ticketguard.service.app import create_app
from ticketguard.service.settings import Settings

API_KEY = "test-api-key-0123456789abcdef"
SECRETS = {
    "zendesk_webhook_secret": "zendesk-signing-secret-0123456789",
    "intercom_client_secret": "intercom-client-secret-0123456789",
    "front_app_secret": "front-app-secret-0123456789abcdef",
    "freshdesk_shared_secret": "freshdesk-shared-secret-0123456789",
    "generic_webhook_secret": "generic-webhook-secret-0123456789",
}
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def helpdesk() -> Iterator[FakeHelpdesk]:
    """A local HTTP server that stands in for the helpdesks' REST APIs and checks each request's shape."""
    fake = FakeHelpdesk().start()
    yield fake
    fake.stop()


def drain(client: TestClient, *, timeout: float = 60.0) -> None:
    """Wait until the app's inbox worker has classified every stored webhook message."""
    from ticketguard.service.inbox import count_pending

    deadline = time.monotonic() + timeout
    while True:
        with client.app.state.session_factory() as session:
            if count_pending(session=session) == 0:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"the inbox still has pending rows after {timeout}s")
        time.sleep(0.02)


def inbox_message(client: TestClient, inbox_id: int) -> dict[str, Any]:
    """The classified message of an inbox row, as GET /v1/messages/{id} shows it (after :func:`drain`)."""
    from ticketguard.service.orm import InboxItem

    with client.app.state.session_factory() as session:
        row = session.get(InboxItem, inbox_id)
        assert row is not None and row.status == "done", row and row.status
        message_id = row.message_id
    response = client.get(f"/v1/messages/{message_id}", headers={"X-API-Key": API_KEY})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="session")
def classifier(tiny_artifact: Path) -> Classifier:
    """The tiny random BERT, loaded once (loading costs seconds; predicting costs milliseconds)."""
    return Classifier.load(tiny_artifact)


@pytest.fixture
def make_settings(tmp_path: Path, tiny_artifact: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "model_path": tiny_artifact, "cache_dir": tmp_path / "cache",
            "database_url": f"sqlite:///{tmp_path / 'ticketguard.db'}", "api_keys": API_KEY,
            "microbatch_max_wait_ms": 2.0, **SECRETS,
        }
        values.update(overrides)
        # _env_file=None: a developer's .env must not leak into tests
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
def make_client(make_settings: Callable[..., Settings], classifier: Classifier) -> Iterator[Callable[..., TestClient]]:
    """Start an app with the given settings overrides; every app started here is shut down after the test."""
    stack: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides), classifier=classifier))
        client.__enter__()
        stack.append(client)
        return client

    yield start
    for client in reversed(stack):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database URL whose connections live in a fresh schema of the local PostgreSQL (dropped after)."""
    psycopg = pytest.importorskip("psycopg")
    schema = f"tg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432/test is unreachable: {err}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each persistence test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'repo.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def serve(make_settings: Callable[..., Settings], classifier: Classifier) -> Iterator[Callable[..., str]]:
    """Serve an app over real HTTP (uvicorn on a free local port, in a thread); returns its base URL.

    Pass ``app=`` to serve an app built by the test, or settings overrides to build one.
    """
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI | None = None, **overrides: Any) -> str:
        app = app or create_app(make_settings(**overrides), classifier=classifier)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", timeout_keep_alive=30))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread in reversed(servers):
        server.should_exit = True
        thread.join(timeout=30)
