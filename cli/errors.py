"""How every command fails: the message on stderr and exit code 2."""

from __future__ import annotations

import typer
from rich.console import Console

err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """The exit to raise after printing ``message`` as an error (``raise fail(...) from err``)."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)
