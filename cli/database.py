"""The service database as the maintenance commands (inbox, outbox, feedback) open it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ticketguard.cli.errors import fail
from ticketguard.service.settings import get_settings

#: ``--database-url`` of the maintenance commands
DatabaseOption = Annotated[str | None, typer.Option(help="default: TICKETGUARD_DATABASE_URL")]


@contextmanager
def database_session(database_url: str | None, *, doing: str) -> Iterator[Session]:
    """A session on ``database_url`` (default: the service's); a database error ends the command with
    "cannot ``doing`` <url>" and the error's type (never its statement)."""
    from ticketguard.service.db import make_engine

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with Session(engine) as session:
            yield session
    except SQLAlchemyError as err:
        raise fail(f"cannot {doing} {engine.url.render_as_string()}: {type(err).__name__}") from err
    finally:
        engine.dispose()
