"""Model benchmarks that print figures (targets of the foundation issue; never run as timed tests).

    python benchmarks/bench_model.py build              # fresh base conversion + default model build time
    python benchmarks/bench_model.py infer --model M    # messages/s at batch 64 on typical messages
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table

from ticketguard.models.base import build_base_model
from ticketguard.models.classifier import Classifier
from ticketguard.service.settings import get_settings
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import load_corpus
from ticketguard.training.pipeline import train

app = typer.Typer(no_args_is_help=True)
console = Console()


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


@app.command()
def infer(model: Annotated[Path, typer.Option(help="artifact to time")],
          data: Path | None = None, batch_size: int = 64, repeats: int = 5,
          threads: int = 2, max_tokens: int = 64) -> None:
    """Messages/s of Classifier.predict at ``batch_size`` on typical messages, fp32 and int8 side by side.

    Typical messages are corpus texts of at most ``max_tokens`` tokens (the corpus also holds long
    e-mails, which are timed separately as "all messages").
    """
    rows = load_corpus(data or get_settings().corpus_dir, splits=["test"])
    texts = [r.text for r in rows]
    table = Table("model", "messages", "median tokens", "batch", "threads", "median msg/s", "min", "max",
                  "labels equal to fp32", title=f"inference on {model}")
    reference: list[str] | None = None
    for quantize in (False, True):
        classifier = Classifier.load(model, batch_size=batch_size, threads=threads, quantize=quantize)
        lengths = [len(ids) for ids in classifier.backend.encode([classifier.manifest.text_prefix + t for t in texts])]
        typical = [t for t, n in zip(texts, lengths, strict=False) if n <= max_tokens]
        for name, subset, sub_lengths in (("typical", typical, [n for n in lengths if n <= max_tokens]),
                                          ("all messages", texts, lengths)):
            classifier.predict(subset[:batch_size])  # warm-up
            rates = []
            for _ in range(repeats):
                started = time.perf_counter()
                labels = [p.label for p in classifier.predict(subset)]
                rates.append(len(subset) / (time.perf_counter() - started))
            if name == "typical" and reference is None:
                reference = labels
            same = f"{np.mean([a == b for a, b in zip(labels, reference, strict=False)]):.1%}" if name == "typical" else ""
            table.add_row(f"{'int8' if quantize else 'fp32'}, {name}", str(len(subset)),
                          f"{np.median(sub_lengths):.0f}", str(batch_size), str(threads),
                          f"{statistics.median(rates):.1f}", f"{min(rates):.1f}", f"{max(rates):.1f}", same)
    console.print(table)


if __name__ == "__main__":
    app()
