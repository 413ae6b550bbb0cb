"""``base``, ``train``, ``evaluate`` and ``predict``: the model life cycle on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ticketguard.models.base import EMBEDDED_BASE, build_base_model
from ticketguard.models.classifier import Classifier
from ticketguard.models.errors import TicketGuardError
from ticketguard.service.settings import get_settings
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import load_corpus
from ticketguard.training.default_model import ensure_default_model
from ticketguard.training.evaluate import evaluate
from ticketguard.training.pipeline import train

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def _default_model() -> Path:
    """The default model directory, trained from the configured corpus first if missing."""
    settings = get_settings()
    return ensure_default_model(settings.default_model_dir, settings.corpus_dir, settings.cache_dir,
                                threads=settings.threads)


def resolve_model(model: Path | None) -> Path:
    """The given artifact, or the default model (built on first use)."""
    if model is not None:
        return model
    return get_settings().model_path or _default_model()


def base() -> None:
    """Convert (or verify) the embedded multilingual-e5-small base model and print its path."""
    try:
        path = build_base_model(get_settings().cache_dir, log=lambda m: err_console.print(m))
    except TicketGuardError as err:
        raise fail(str(err)) from err
    console.print(str(path))


def build() -> None:
    """Build the default model (base conversion + fine-tuning on data/corpus) if missing; print its path."""
    try:
        path = _default_model()
    except TicketGuardError as err:
        raise fail(str(err)) from err
    console.print(str(path))


def train_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="artifact directory to write")],
    data: Annotated[Path | None, typer.Option(help="corpus file or directory (default: data/corpus)")] = None,
    arch: Annotated[str, typer.Option(help="transformer | tfidf")] = "transformer",
    base_model: Annotated[str, typer.Option(help="HF id, local checkpoint, or the embedded base")] = EMBEDDED_BASE,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 8e-5,
    max_length: int = 256,
    max_steps: Annotated[int | None, typer.Option(help="stop after this many steps (smoke runs)")] = None,
    seed: int = 13,
    threads: int | None = None,
    freeze_layers: Annotated[int, typer.Option(help="keep the bottom N encoder layers frozen")] = 3,
    unfreeze_embeddings: bool = False,
    overwrite: bool = False,
) -> None:
    """Fine-tune (or fit the TF-IDF baseline), calibrate on dev, evaluate, and write an artifact."""
    settings = get_settings()
    try:
        config = TrainConfig(arch=arch, base_model=base_model, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, max_length=max_length, max_steps=max_steps, seed=seed,
                             threads=threads or settings.threads, freeze_embeddings=not unfreeze_embeddings,
                             freeze_layers=freeze_layers)
        metrics = train(config, data or settings.corpus_dir, out, cache_dir=settings.cache_dir, overwrite=overwrite)
    except (TicketGuardError, ValueError, FileExistsError) as err:
        raise fail(str(err)) from err
    test = metrics["test"] or metrics["dev"]
    console.print(f"[green]wrote[/] {out}  ({metrics['model_version']}, {metrics['training_seconds']:.0f}s)")
    console.print(f"macro-F1 {'test' if metrics['test'] else 'dev'}: {test['macro_f1']:.3f}  accuracy {test['accuracy']:.3f}")


def evaluate_command(
    model: Annotated[Path, typer.Option(help="artifact to evaluate")],
    data: Annotated[Path, typer.Option(help="labelled JSONL file or directory")],
    out: Annotated[Path, typer.Option("--out", "-o", help="report directory")] = Path("reports/eval"),
    compare: Annotated[Path | None, typer.Option(help="second artifact, evaluated on the same rows")] = None,
    split: Annotated[str | None, typer.Option(help="only rows of this split (e.g. test)")] = None,
    threads: int | None = None,
) -> None:
    """Write metrics.json, report.md and a confusion-matrix PNG for one model (or two, side by side)."""
    try:
        rows = load_corpus(data, splits=[split] if split else None)
        if not rows:
            raise fail(f"no rows in {data}" + (f" for split {split!r}" if split else ""))
        results = evaluate(model, rows, out, compare=compare, data_name=f"{data}" + (f" [{split}]" if split else ""),
                           threads=threads)
    except TicketGuardError as err:
        raise fail(str(err)) from err
    for path, m in results.items():
        langs = "  ".join(f"{k} {v['macro_f1']:.3f}" for k, v in m["per_language"].items())
        console.print(f"[bold]{Path(path).name}[/]: macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}  "
                      f"ECE {m['ece']:.3f}\n  {langs}")
    console.print(f"report: {out / 'report.md'}")


def _read_texts(file: Path) -> list[str]:
    """Texts from a .jsonl file (``text`` field) or a plain file (one message per line)."""
    lines = [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if file.suffix != ".jsonl":
        return lines
    texts = []
    for lineno, line in enumerate(lines, start=1):
        try:
            texts.append(json.loads(line)["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise fail(f"{file}:{lineno}: expected a JSON object with a 'text' field") from err
    return texts


def predict(
    text: Annotated[str | None, typer.Argument(help="a message to classify")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help=".jsonl (text field) or .txt (one per line)")] = None,
    model: Annotated[Path | None, typer.Option(help="artifact (default: the embedded default model)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Classify a message, or every message of a file."""
    if (text is None) == (file is None):
        raise fail("give either a TEXT argument or --file")
    try:
        texts = [text] if text is not None else _read_texts(file)  # type: ignore[arg-type]
        settings = get_settings()
        classifier = Classifier.load(resolve_model(model), threads=settings.threads, quantize=settings.quantize)
        predictions = classifier.predict(texts)
    except (TicketGuardError, OSError) as err:
        raise fail(str(err)) from err
    if as_json:
        for t, p in zip(texts, predictions):
            sys.stdout.write(json.dumps({"text": t, **p.to_dict(), "model_version": classifier.model_version},
                                        ensure_ascii=False) + "\n")
        return
    table = Table("label", "score", "flags", "text", title=f"model {classifier.model_version}")
    for t, p in zip(texts, predictions):
        table.add_row(p.label, f"{p.scores[p.label]:.2f}", ",".join(p.flags), t if len(t) < 90 else t[:87] + "...")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("base")(base)
    app.command("build")(build)
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("predict")(predict)
