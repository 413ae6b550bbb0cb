"""``inbox list`` and ``inbox retry``: inspect stored webhook messages and put failed ones back in the queue."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from ticketguard.cli.database import DatabaseOption, database_session

console = Console(stderr=True)
app = typer.Typer(help="Webhook messages waiting for, or set aside from, classification.", no_args_is_help=True)


@app.command("list")
def list_inbox(
    status: Annotated[str | None, typer.Option(help="pending, done or failed (default: all)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    database_url: DatabaseOption = None,
) -> None:
    """Print the newest inbox rows as JSON lines (stdout): id, provider, message key, status, error (never the text)."""
    from ticketguard.service import inbox

    if status is not None and status not in inbox.STATUSES:
        raise typer.BadParameter(f"{status!r}: the statuses are {', '.join(inbox.STATUSES)}", param_hint="--status")
    with database_session(database_url, doing="read the inbox of") as session:
        for item in inbox.list_items(session=session, status=status, limit=limit):
            typer.echo(json.dumps({
                "id": item.id, "provider": item.provider, "account": item.account, "ticket_id": item.ticket_id,
                "external_id": item.external_id, "status": item.status, "error": item.error,
                "received_at": item.received_at.isoformat(), "message_id": item.message_id}))


@app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="failed rows to classify again (default: all)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Put failed inbox rows back in the queue (after fixing what failed them); a running service classifies them."""
    from ticketguard.service import inbox

    with database_session(database_url, doing="update the inbox of") as session:
        count = inbox.requeue(session=session, ids=ids or None)
    console.print(f"[green]queued[/] {count} inbox row(s) again")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="inbox")
