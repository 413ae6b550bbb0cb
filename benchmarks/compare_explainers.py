"""Occlusion against integrated gradients: ERASER faithfulness and cost on the same units (issue 12).

    python benchmarks/compare_explainers.py --model M --data data/corpus --split test --limit 12
    python benchmarks/compare_explainers.py --model M --data labelled.jsonl --split "" --limit 40

Both methods choose the same number of units per message (the explainer's rationale length) from
the same units, and are scored by :mod:`ticketguard.training.faithfulness`; integrated gradients
attribute the label's calibrated probability to the input embeddings (baseline: the padding
token's embedding; ``--steps`` Riemann midpoints in one batch) and sum token attributions per unit.
The product uses occlusion; this script is how that choice was made.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table

from ticketguard.models.classifier import Classifier
from ticketguard.models.explain import Explainer, Units
from ticketguard.models.labels import LABEL2ID
from ticketguard.models.prediction import Prediction
from ticketguard.training.evaluate import read_labelled
from ticketguard.training.faithfulness import Faithfulness, Rationale, measure_faithfulness, occlusion_rationale

console = Console()


def integrated_gradients(explainer: Explainer, steps: int) -> Rationale:
    """Top units by integrated gradients of the label's calibrated probability (transformer artifacts)."""
    clf = explainer.classifier
    backend: Any = clf.backend
    model = backend.model
    embeddings = model.base_model.get_input_embeddings()
    pad = backend.tokenizer.pad_token_id
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps

    def choose(text: str, label: str) -> tuple[Units, list[int]]:
        units = explainer.units(text)
        if not units.ranges:
            return units, []
        prepared = clf.prepare(units.normalized.text)
        encoding = backend.tokenizer(prepared, truncation=True, max_length=backend.max_length,
                                     return_offsets_mapping=True, return_special_tokens_mask=True)
        ids = torch.tensor([encoding["input_ids"]])
        special = torch.tensor(encoding["special_tokens_mask"], dtype=torch.bool)
        with torch.no_grad():
            real = embeddings(ids)[0]
            base = embeddings(torch.tensor([[pad]]))[0, 0].expand_as(real).clone()
            base[special] = real[special]  # keep [CLS]/[SEP]: the path moves the words only
        path = (base + alphas[:, None, None] * (real - base)).requires_grad_(True)

        def swap(_module: torch.nn.Module, _inputs: Any, _output: torch.Tensor) -> torch.Tensor:
            return path

        handle = embeddings.register_forward_hook(swap)
        try:
            with torch.enable_grad():
                logits = model(input_ids=ids.expand(steps, -1), attention_mask=torch.ones(steps, ids.shape[1],
                                                                                          dtype=torch.long))
                logits = logits if isinstance(logits, torch.Tensor) else logits.logits
                order = [clf.labels.index(name) for name in LABEL2ID]
                probs = torch.softmax(logits[:, order] / clf.calibration.temperature, dim=-1)[:, LABEL2ID[label]]
                (grad,) = torch.autograd.grad(probs.sum(), path)
        finally:
            handle.remove()
        token_scores = ((real - base) * grad.mean(dim=0)).sum(dim=-1).numpy()
        shift = len(clf.manifest.text_prefix)
        scores = np.zeros(len(units.ranges))
        for (a, b), score in zip(encoding["offset_mapping"], token_scores, strict=True):
            a, b = a - shift, b - shift
            for i, (start, end) in enumerate(units.ranges):
                if a < end and start < b:
                    scores[i] += score
        keep = explainer.rationale_size(units)
        return units, sorted(int(i) for i in np.argsort(-scores, kind="stable")[:keep] if scores[i] > 0)

    return choose


def main(model: Annotated[Path, typer.Option(help="transformer artifact")],
         data: Annotated[Path, typer.Option(help="labelled JSONL file or directory")] = Path("data/corpus"),
         split: Annotated[str, typer.Option(help="keep this split (\"\": every row)")] = "test",
         limit: Annotated[int, typer.Option(help="first N rows per language")] = 40,
         steps: int = 16, threads: int = 2) -> None:
    """Faithfulness (overall) and median seconds per explanation of both methods."""
    torch.set_num_threads(threads)
    classifier = Classifier.load(model)
    explainer = Explainer(classifier)
    rows, seen = [], {}
    for row in read_labelled(data, split=split or None):
        seen[row.lang] = seen.get(row.lang, 0) + 1
        if seen[row.lang] <= limit:
            rows.append(row)
    texts = [r.text for r in rows]
    predicted = [p.label for p in classifier.predict(texts) if isinstance(p, Prediction)]
    langs = [r.lang for r in rows]
    methods: dict[str, Rationale | None] = {"occlusion": None, f"integrated gradients ({steps} steps)":
                                            integrated_gradients(explainer, steps)}
    table = Table("method", "messages", "comprehensiveness (random)", "sufficiency (random)", "ms / message",
                  title=f"{classifier.model_version} on {data.name} [{split}], {threads} threads")
    for name, rationale in methods.items():
        choose = rationale or occlusion_rationale(explainer)
        times = []
        for text, label in zip(texts[:30], predicted[:30], strict=True):
            started = time.perf_counter()
            choose(text, label)
            times.append(time.perf_counter() - started)
        figures: dict[str, Faithfulness] = measure_faithfulness(explainer, texts, predicted, langs, rationale=rationale)
        f = figures["all"]
        table.add_row(name, str(f.n), f"{f.comprehensiveness:.3f} ({f.random_comprehensiveness:.3f})",
                      f"{f.sufficiency:.3f} ({f.random_sufficiency:.3f})", f"{1000 * statistics.median(times):.0f}")
        for lang, g in figures.items():
            if lang != "all":
                console.print(f"{name} {lang}: comp {g.comprehensiveness:.3f} ({g.random_comprehensiveness:.3f}) "
                              f"suff {g.sufficiency:.3f} ({g.random_sufficiency:.3f})")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
