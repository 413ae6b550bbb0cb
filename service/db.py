"""Engine, sessions and migrations. Nothing is created at import: :func:`make_engine` is called
from the app's lifespan or the CLI with the URL from :class:`~service.settings.Settings`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ticketguard.service.errors import NotReadyError

logger = logging.getLogger(__name__)

SERVICE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = SERVICE_DIR / "alembic.ini"
MIGRATIONS_DIR = SERVICE_DIR / "migrations"


RowT = TypeVar("RowT", bound=tuple[Any, ...])


def claim_rows(query: Select[RowT], *, session: Session) -> Select[RowT]:
    """``query`` locking the rows it returns until commit, skipping rows other workers hold, on
    PostgreSQL (several replicas); unchanged on SQLite (one node, where a claim is guarded by status)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets a busy timeout and WAL so concurrent writers wait, not fail.

    Its errors never carry a statement's parameters (customer text), so they can be logged and stored.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Any:
    """Alembic's config for the migrations shipped in ``service/migrations``."""
    from alembic.config import Config  # imported on use: alembic logs plugin set-up at import

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade_database(engine: Engine) -> None:
    """Run ``alembic upgrade head`` on ``engine``'s database (idempotent)."""
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    logger.info("database schema is at head", extra={"database": engine.url.render_as_string()})


def check_database(engine: Engine) -> None:
    """Raise ``NotReadyError`` unless the database answers."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        logger.warning("database check failed: %s", type(err).__name__)
        raise NotReadyError(f"database unreachable ({type(err).__name__})") from err
