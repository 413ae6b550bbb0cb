"""Entry point of the ``ticketguard`` command: sub-commands are registered from their modules."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler

from ticketguard.cli import (
    data_commands,
    inbox_commands,
    model_commands,
    outbox_commands,
    relabel_commands,
    service_commands,
)

app = typer.Typer(
    name="ticketguard",
    help="Label customer-support messages as threat, abuse, manipulation, complaint or neutral.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        # logs go to stderr: stdout carries results (predict --json, relabel summaries)
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)],
    )
    for noisy in ("httpx", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


model_commands.register(app)
app.add_typer(data_commands.app, name="data")
service_commands.register(app)
relabel_commands.register(app)
inbox_commands.register(app)
outbox_commands.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
