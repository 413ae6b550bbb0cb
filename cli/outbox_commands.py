"""``outbox list`` and ``outbox retry``: inspect the helpdesk write-backs and move dead letters back to the outbox."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from ticketguard.cli.database import DatabaseOption, database_session

console = Console(stderr=True)
app = typer.Typer(help="Write-backs of ticket labels to the helpdesks.", no_args_is_help=True)


@app.command("list")
def list_outbox(
    status: Annotated[str | None, typer.Option(help="pending, done or superseded; dead: the dead letters")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="list the dead letters (same as --status dead)")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    database_url: DatabaseOption = None,
) -> None:
    """Print the newest write-backs (or dead letters) as JSON lines (stdout): id, ticket, label, band, status,
    tries, last error."""
    from ticketguard.service import outbox

    with database_session(database_url, doing="read the outbox of") as session:
        if dead or status == outbox.DEAD:
            for letter in outbox.list_dead(session=session, limit=limit):
                typer.echo(json.dumps({
                    "id": letter.id, "provider": letter.provider, "account": letter.account,
                    "ticket_id": letter.ticket_id, "label": letter.label, "band": letter.band,
                    "status": outbox.DEAD, "attempts": letter.attempts, "died_at": letter.died_at.isoformat(),
                    "last_error": letter.last_error}))
            return
        for item in outbox.list_items(session=session, status=status, limit=limit):
            typer.echo(json.dumps({
                "id": item.id, "provider": item.provider, "account": item.account, "ticket_id": item.ticket_id,
                "label": item.label, "band": item.band, "status": item.status, "attempts": item.attempts,
                "next_attempt_at": item.next_attempt_at.isoformat(), "last_error": item.last_error}))


@app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="dead letters to move back (default: all)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Move dead letters back to the outbox with a fresh number of tries; a running service sends them."""
    from ticketguard.service import outbox

    with database_session(database_url, doing="update the outbox of") as session:
        count = outbox.requeue(session=session, ids=ids or None)
    console.print(f"[green]queued[/] {count} write-back(s) again")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="outbox")
