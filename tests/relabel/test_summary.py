"""Summary counts per label and language, and the old x new label-shift table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.console import Console

from tests.relabel.conftest import corpus_rows, read_jsonl, write_jsonl
from ticketguard.relabel.engine_local import LocalEngine
from ticketguard.relabel.readers import Source
from ticketguard.relabel.runner import RunPaths, relabel_file
from ticketguard.relabel.summary import Summary


def test_summary_counts_and_shift_table() -> None:
    summary = Summary(model_version="v2")
    for new, lang, old in [("abuse", "en", "neutral"), ("abuse", "en", "abuse"), ("threat", "ru", "abuse"),
                           ("neutral", None, None), ("neutral", "ru", "neutral")]:
        summary.add(new=new, lang=lang, old=old)
    summary.reject("empty text")
    data = summary.to_dict()
    assert data["labels"] == {"threat": 1, "abuse": 2, "manipulation": 0, "complaint": 0, "neutral": 2}
    assert data["languages"] == {"en": 2, "ru": 2, "unknown": 1}
    assert data["label_shift"] == {"abuse": {"abuse": 1, "threat": 1}, "neutral": {"abuse": 1, "neutral": 1}}
    assert (data["rows"], data["labelled"], data["rejected"], data["changed"]) == (6, 5, 1, 2)
    assert Summary.from_dict(data).to_dict() == data
    console = Console(record=True, width=120)
    summary.render(console)
    text = console.export_text()
    assert "label shift (2 rows changed)" in text and "empty text" in text


def test_run_summary_matches_the_output(tmp_path: Path, engine: LocalEngine) -> None:
    rows = corpus_rows(60)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    relabel_file(Source(src, "jsonl", chunk_rows=16), out, engine)
    written = read_jsonl(out)
    saved = json.loads(RunPaths.for_output(out).summary.read_text())
    new = Counter(r["label"] for r in written)
    assert saved["labels"] == {name: new.get(name, 0) for name in saved["labels"]}
    assert saved["languages"] == dict(Counter(r["lang"] for r in rows).most_common())
    shift: dict[str, Counter[str]] = {}
    for r in written:
        shift.setdefault(r["previous_label"], Counter())[r["label"]] += 1
    assert saved["label_shift"] == {old: dict(sorted(c.items())) for old, c in sorted(shift.items())}
    assert saved["changed"] == sum(r["label"] != r["previous_label"] for r in written)
