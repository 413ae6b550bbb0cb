"""``ticketguard data``: corpus checks and split assignment."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ticketguard.models.errors import TicketGuardError
from ticketguard.models.labels import LABELS
from ticketguard.service.settings import get_settings
from ticketguard.training.agreement import agreement, blind_sample, read_second_pass
from ticketguard.training.corpus import corpus_files, load_corpus, read_rows
from ticketguard.training.datacheck import CORPUS_TARGETS, check_corpus
from ticketguard.training.splits import assign_splits

app = typer.Typer(help="Corpus tools.", no_args_is_help=True)
console = Console()


@app.command("check")
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="corpus files or directories (default: the shipped "
                                                           "corpus and every evaluation-only split)")] = None,
    targets: Annotated[bool, typer.Option(help="enforce the shipped corpus's per-language minimums")] = True,
    threshold: Annotated[float, typer.Option(help="near-duplicate Jaccard threshold")] = 0.8,
) -> None:
    """Validate schema, labels, languages, lengths, duplicates and split leakage; print counts."""
    settings = get_settings()
    if not paths:
        paths = [settings.corpus_dir] + [d for d in settings.evaluation_dirs() if d.is_dir()]
    report = check_corpus(paths, threshold=threshold, min_per_label=CORPUS_TARGETS if targets else None)
    counts = report.counts()
    evaluation = report.evaluation_sets()
    table = Table("lang", *LABELS, "total", "hard", "test", *(escape(path.name) for path in evaluation),
                  title=escape(f"{', '.join(map(str, paths))}: {len(report.rows)} rows"))
    for lang in sorted(counts):
        rows = [r for r in report.rows if r.lang == lang]
        table.add_row(lang, *(str(counts[lang][label]) for label in LABELS), str(len(rows)),
                      str(sum("hard" in r.tags for r in rows)), str(sum(r.split == "test" for r in rows)),
                      *(str(per_lang[lang]) for per_lang in evaluation.values()))
    totals = Counter(r.label for r in report.rows)
    table.add_row("all", *(str(totals[label]) for label in LABELS), str(len(report.rows)),
                  str(sum("hard" in r.tags for r in report.rows)), str(sum(r.split == "test" for r in report.rows)),
                  *(str(per_lang.total()) for per_lang in evaluation.values()))
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    for error in report.errors:
        console.print(f"[bold red]error:[/] {error}")
    if not report.ok:
        raise typer.Exit(code=1)
    console.print("[green]corpus OK[/]")


@app.command("split")
def split(
    path: Annotated[Path | None, typer.Argument(help="corpus directory (default: data/corpus)")] = None,
    seed: int = 13,
) -> None:
    """Give rows without a split one (stratified by language x label); existing splits never move."""
    path = path or get_settings().corpus_dir
    try:
        for file in corpus_files(path):
            rows = list(read_rows(file, require_split=False))
            assigned = assign_splits(rows, seed=seed)
            changed = sum(a.split != r.split for a, r in zip(assigned, rows, strict=False))
            if changed:
                file.write_text("".join(row.to_json() + "\n" for row in assigned), encoding="utf-8")
            console.print(f"{file}: {changed} row(s) assigned, {len(rows)} total")
    except TicketGuardError as err:
        console.print(f"[bold red]error:[/] {err}")
        raise typer.Exit(code=2) from err


@app.command("sample-agreement")
def sample_agreement(
    out: Annotated[Path, typer.Option("--out", "-o", help="blind sample to label (id, lang, text)")],
    path: Annotated[Path | None, typer.Argument(help="corpus directory (default: data/corpus)")] = None,
    fraction: float = 0.1,
    seed: int = 7,
) -> None:
    """Draw a random sample of each language, without labels, for an independent second labelling pass."""
    rows = load_corpus(path or get_settings().corpus_dir)
    sample = blind_sample(rows, fraction=fraction, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in sample), encoding="utf-8")
    console.print(f"{out}: {len(sample)} rows")


@app.command("agreement")
def agreement_command(
    second_pass: Annotated[Path, typer.Argument(help="JSONL of {id, label} from the second pass")],
    path: Annotated[Path | None, typer.Option(help="corpus directory (default: data/corpus)")] = None,
) -> None:
    """Cohen's kappa per language between the corpus labels and a second, independent pass."""
    try:
        result = agreement(load_corpus(path or get_settings().corpus_dir), read_second_pass(second_pass))
    except TicketGuardError as err:
        console.print(f"[bold red]error:[/] {err}")
        raise typer.Exit(code=2) from err
    table = Table("lang", "rows", "agreement", "Cohen's kappa", title="second-pass agreement")
    for lang, m in result.items():
        table.add_row(lang, str(m["n"]), f"{m['agreement']:.1%}", f"{m['kappa']:.3f}")
    console.print(table)
