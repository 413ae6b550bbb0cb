"""Default model build time (a figure to print, never a timed test); inference speed is
``benchmarks/bench_inference.py``.

    python benchmarks/bench_model.py build              # fresh base conversion + default model build time
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console
from rich.table import Table

from ticketguard.models.base import build_base_model
from ticketguard.service.settings import get_settings
from ticketguard.training.config import TrainConfig
from ticketguard.training.pipeline import train

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.callback()
def _commands() -> None:
    """Model benchmarks (a callback keeps ``build`` a sub-command while it is the only one)."""


@app.command()
def build(out: Annotated[Path | None, typer.Option(help="keep the model here")] = None,
          data: Path | None = None) -> None:
    """Time a from-scratch build: base conversion in an empty cache, then default fine-tuning."""
    corpus = data or get_settings().corpus_dir
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        started = time.perf_counter()
        build_base_model(cache)
        converted = time.perf_counter() - started
        settings = get_settings()
        report = train(TrainConfig(), corpus, out or Path(tmp) / "model", cache_dir=cache, overwrite=True,
                       challenge=settings.challenge_dir)
        total = time.perf_counter() - started
    table = Table("step", "seconds", title=f"default model build on {torch.get_num_threads()} threads")
    table.add_row("base conversion", f"{converted:.0f}")
    table.add_row("fine-tuning + calibration + evaluation", f"{total - converted:.0f}")
    table.add_row("total", f"{total:.0f} ({total / 60:.1f} min; target <= 20 min)")
    console.print(table)
    assert report.test is not None and report.fit is not None
    challenge = f", challenge {report.challenge.macro_f1:.3f}" if report.challenge else ""
    console.print(f"test macro-F1 {report.test.macro_f1:.3f}{challenge}, steps {report.fit.steps}")


if __name__ == "__main__":
    app()
