"""Cost of an explanation against one classification of the same message (issue 12's target: <= 10x).

    python benchmarks/bench_explain.py --model M                 # ~30-token test messages, 2 threads
    python benchmarks/bench_explain.py --model M --tokens 20 40  # another length band

Each message is classified alone (``Classifier.predict([text])``, what one API call without
``explain`` costs) and explained alone (``Explainer.explain`` for its label and flags, which runs its
own forward passes); both are timed ``repeats`` times and the medians compared.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console
from rich.table import Table

from ticketguard.models.classifier import Classifier
from ticketguard.models.explain import Explainer
from ticketguard.models.prediction import Prediction
from ticketguard.service.settings import get_settings
from ticketguard.training.corpus import load_corpus

console = Console()


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(model: Annotated[Path, typer.Option(help="artifact to time")],
         data: Path | None = None,
         tokens: Annotated[tuple[int, int], typer.Option(help="token band of the messages (with prefix)")] = (26, 34),
         per_language: int = 3, repeats: int = 7, threads: int = 2) -> None:
    """Median explanation / classification time ratio on test messages of about 30 tokens."""
    torch.set_num_threads(threads)
    classifier = Classifier.load(model, batch_size=64)
    explainer = Explainer(classifier)
    rows = [r for r in load_corpus(data or get_settings().corpus_dir) if r.split == "test"]
    picked: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        n = len(classifier.backend.encode([classifier.prepare(row.text)])[0])
        if tokens[0] <= n <= tokens[1] and len(picked[row.lang]) < per_language:
            picked[row.lang].append(row.text)
    table = Table("lang", "messages", "classify ms", "explain ms", "ratio", "units",
                  title=f"{classifier.model_version}: explanation vs classification, {threads} threads, "
                        f"{tokens[0]}-{tokens[1]} tokens")
    ratios: list[float] = []
    for lang, texts in sorted(picked.items()):
        classify, explain, units = [], [], []
        for text in texts:
            prediction = classifier.predict([text])[0]
            assert isinstance(prediction, Prediction)
            labels = [prediction.label, *prediction.flags]
            explainer.explain(text, labels)  # warm up this shape
            # interleaved, so a change in machine load hits both alike
            pairs = [(_timed(partial(classifier.predict, [text])), _timed(partial(explainer.explain, text, labels)))
                     for _ in range(repeats)]
            classify.append(statistics.median(c for c, _ in pairs))
            explain.append(statistics.median(e for _, e in pairs))
            units.append(len(explainer.units(text).ranges))
            ratios.append(explain[-1] / classify[-1])
        table.add_row(lang, str(len(texts)), f"{1000 * statistics.mean(classify):.1f}",
                      f"{1000 * statistics.mean(explain):.1f}",
                      f"{statistics.mean(e / c for e, c in zip(explain, classify, strict=True)):.1f}x",
                      f"{statistics.mean(units):.1f}")
    console.print(table)
    console.print(f"median ratio over {len(ratios)} messages: {statistics.median(ratios):.1f}x "
                  f"(max {max(ratios):.1f}x; target <= 10x)")


if __name__ == "__main__":
    typer.run(main)
