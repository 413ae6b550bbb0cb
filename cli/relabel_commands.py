"""``relabel``: re-label a message archive (JSONL, CSV, Parquet) or the service database with a new model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from ticketguard.cli.errors import fail
from ticketguard.cli.model_commands import resolve_model
from ticketguard.models.defaults import DEFAULT_BATCH_SIZE
from ticketguard.models.errors import TicketGuardError
from ticketguard.relabel.readers import Columns, Source, detect_format, input_size
from ticketguard.relabel.summary import Summary
from ticketguard.service.settings import get_settings

console = Console(stderr=True)


class RowsPerSecond(ProgressColumn):
    """Rows labelled per second in this session (resumed rows excluded)."""

    def render(self, task: Task) -> Text:
        rows = task.fields.get("rows", 0) - (task.fields.get("start_rows") or 0)
        elapsed = task.elapsed or 0.0
        rate = f"{rows / elapsed:,.0f} rows/s" if elapsed > 0 else "- rows/s"
        return Text(f"{task.fields.get('rows', 0):,} rows  {rate}", style="progress.data.speed")


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                    RowsPerSecond(), TimeRemainingColumn(), console=console, transient=False)


def relabel(
    input_path: Annotated[Path | None, typer.Argument(metavar="INPUT", help="JSONL, CSV or Parquet archive")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="output file (Parquet: a directory of "
                                                 "parts); its suffix picks the format")] = None,
    model: Annotated[Path | None, typer.Option(help="artifact (default: the default model)")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="input format: jsonl | csv | parquet "
                                            "(default: from the suffix)")] = None,
    text_col: Annotated[str, typer.Option(help="column with the message text")] = "text",
    id_col: Annotated[str, typer.Option(help="column with the message id")] = "id",
    label_col: Annotated[str, typer.Option(help="column with the previous label (label-shift table)")] = "label",
    lang_col: Annotated[str, typer.Option(help="column with the language (per-language counts)")] = "lang",
    engine: Annotated[str, typer.Option(help="local | ray")] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="processes / Ray actors "
                                                "(default: one per 4 cores, at least 1)")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="messages per forward pass")] = None,
    chunk_rows: Annotated[int | None, typer.Option(min=1, help="rows per committed chunk")] = None,
    db: Annotated[str | None, typer.Option("--db", help="re-label the service database at this SQLAlchemy URL")] = None,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="continue from the checkpoint")] = True,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (--engine ray)")] = None,
) -> None:
    """Re-label every message with a new model: exactly once, resumable, with a summary and a rejects file."""
    settings = get_settings()
    workers = workers or settings.relabel_workers
    batch = batch_size or settings.batch_size or DEFAULT_BATCH_SIZE
    chunk = chunk_rows or settings.relabel_chunk_rows
    if engine not in ("local", "ray"):
        raise fail(f"--engine must be local or ray, not {engine!r}")
    try:
        model_path = resolve_model(model)
        if db is not None:
            if engine != "local":
                raise fail("--db runs on the local engine")
            summary = _relabel_db(db, model_path, output, workers=workers, batch_size=batch, chunk_rows=chunk)
        else:
            if input_path is None or output is None:
                raise fail("give INPUT and -o OUTPUT (or --db URL)")
            fmt_ = detect_format(input_path, fmt)
            source = Source(input_path, fmt_, Columns(text=text_col, id=id_col, label=label_col or None,
                                                      lang=lang_col or None), chunk_rows=chunk)
            summary = _relabel_file(source, output, model_path, engine=engine, workers=workers, batch_size=batch,
                                    resume=resume, ray_address=ray_address)
    except (TicketGuardError, OSError) as err:
        raise fail(str(err)) from err
    summary.render(console)


def _relabel_file(source: Source, output: Path, model_path: Path, *, engine: str, workers: int | None,
                  batch_size: int, resume: bool, ray_address: str | None) -> Summary:
    from ticketguard.relabel.runner import RunPaths, relabel_file

    labeller: Any
    if engine == "ray":
        from ticketguard.relabel.engine_ray import RayEngine

        labeller = RayEngine(model_path, workers=workers, batch_size=batch_size, address=ray_address)
    else:
        from ticketguard.relabel.engine_local import LocalEngine

        labeller = LocalEngine(model_path, workers=workers, batch_size=batch_size)
    total = input_size(source.path, source.fmt)
    try:
        with _progress() as bar:
            task = bar.add_task(f"relabel {source.path.name}", total=total, rows=0, start_rows=None)

            def update(rows: int, position: int) -> None:
                if bar.tasks[task].fields["start_rows"] is None:  # first call: what a resume starts from
                    bar.reset(task, total=total, completed=position, rows=rows, start_rows=rows)
                bar.update(task, completed=position, rows=rows)

            summary = relabel_file(source, output, labeller, resume=resume, progress=update)
    finally:
        labeller.close()
    paths = RunPaths.for_output(output)
    console.print(f"[green]wrote[/] {output}  (rejects: {paths.rejects}, summary: {paths.summary})")
    return summary


def _relabel_db(url: str, model_path: Path, output: Path | None, *, workers: int | None, batch_size: int,
                chunk_rows: int) -> Summary:
    from ticketguard.relabel.db import pending_count, relabel_database
    from ticketguard.relabel.engine_local import LocalEngine
    from ticketguard.relabel.runner import RunPaths
    from ticketguard.relabel.writers import RejectsWriter
    from ticketguard.service.db import make_engine, upgrade_database

    engine = make_engine(url)
    upgrade_database(engine)  # creates label_history on databases migrated before it existed
    paths = RunPaths.for_output(output) if output is not None else None
    rejects = RejectsWriter(paths.rejects) if paths is not None else None
    try:
        with LocalEngine(model_path, workers=workers, batch_size=batch_size) as labeller, _progress() as bar:
            total = pending_count(engine, labeller.model_version)
            task = bar.add_task("relabel database", total=total, rows=0, start_rows=0)
            done = [0]

            def update(n: int) -> None:
                done[0] += n
                bar.update(task, completed=done[0], rows=done[0])

            def write(bad: list[dict[str, Any]]) -> None:
                if rejects is not None:
                    rejects.write(bad)

            summary = relabel_database(engine, labeller, chunk_rows=chunk_rows, progress=update, rejects=write)
    finally:
        if rejects is not None:
            rejects.close()
        engine.dispose()
    if paths is not None:
        summary.write(paths.summary)
        console.print(f"summary: {paths.summary}, rejects: {paths.rejects}")
    return summary


def register(app: typer.Typer) -> None:
    app.command("relabel")(relabel)

