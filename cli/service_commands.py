"""``serve`` and ``feedback export``: run the HTTP service, and turn agent corrections into training data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from ticketguard.cli.database import DatabaseOption, database_session
from ticketguard.cli.errors import fail
from ticketguard.cli.model_commands import PRECISION_OPTION, resolve_model
from ticketguard.models.errors import TicketGuardError
from ticketguard.service.settings import get_settings

console = Console(stderr=True)
feedback_app = typer.Typer(help="Agent corrections.", no_args_is_help=True)


def serve(
    model: Annotated[Path | None, typer.Option(help="artifact (default: the embedded default model, built if missing)")] = None,
    host: Annotated[str | None, typer.Option(help="bind address (default: TICKETGUARD_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: TICKETGUARD_PORT or 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default: TICKETGUARD_WORKERS or 1)")] = None,
    precision: Annotated[str | None, PRECISION_OPTION] = None,
) -> None:
    """Serve the classification API, helpdesk webhooks, /metrics and /docs with uvicorn."""
    import uvicorn

    from ticketguard.service.app import create_app
    from ticketguard.service.db import make_engine, upgrade_database
    from ticketguard.service.log import configure_logging

    base = get_settings()
    try:
        model_path = resolve_model(model, build=True)  # builds the default model when missing, progress in the log
        settings = base.model_copy(update={"model_path": model_path, "precision": precision or base.precision})
        configure_logging(log_format=settings.log_format, level=settings.log_level)
        engine = make_engine(settings.database_url)
        upgrade_database(engine)  # once here, so several workers never race on the schema
        engine.dispose()
    except (TicketGuardError, OSError, SQLAlchemyError) as err:
        raise fail(str(err)) from err
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
        return
    # worker processes are spawned fresh and build their settings from the environment, so the resolved
    # model and precision travel to them that way, and they leave the schema upgraded above alone
    workers_settings = settings.model_copy(update={"migrate_on_start": False})
    os.environ.update(workers_settings.environment("model_path", "precision", "migrate_on_start"))
    uvicorn.run("ticketguard.service.app:create_worker_app", factory=True, host=host, port=port, workers=workers,
                timeout_worker_healthcheck=settings.worker_healthcheck_seconds, log_config=None, access_log=False)


@feedback_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write (corpus format)")],
    database_url: DatabaseOption = None,
) -> None:
    """Write agent corrections as corpus-format JSONL (split=train, source=feedback:<agent>)."""
    from ticketguard.service.export import ExportReport, correction_rows
    from ticketguard.training.corpus import CorpusRow

    report = ExportReport()
    with database_session(database_url, doing="read feedback from") as session:
        rows = [CorpusRow.model_validate(row) for row in correction_rows(session=session, report=report)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row.model_dump(), ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    console.print(f"[green]wrote[/] {report.written} correction(s) to {out}")
    for reason, count in sorted(report.skipped.items()):
        console.print(f"[yellow]skipped[/] {count}: {reason}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(feedback_app, name="feedback")
