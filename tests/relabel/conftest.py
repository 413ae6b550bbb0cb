"""Re-labelling fixtures: archives built from the shipped corpus, and a local engine on the tiny model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tolerances import SCORE_ATOL
from ticketguard.relabel.engine_local import LocalEngine

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"


def corpus_rows(n: int) -> list[dict[str, Any]]:
    """``n`` rows cycled from the corpus, with unique integer ids and an extra column to keep."""
    base: list[dict[str, Any]] = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        base += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"id": i, "text": base[i % len(base)]["text"], "lang": base[i % len(base)]["lang"],
             "label": base[i % len(base)]["label"], "ticket": f"T-{i:05d}", "priority": i % 3}
            for i in range(n)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def engine(tiny_artifact: Path) -> Iterator[LocalEngine]:
    """One in-process engine on the tiny model, shared by the tests (loading costs seconds)."""
    with LocalEngine(tiny_artifact, workers=1) as local:
        yield local


def assert_same_rows(got: list[dict], expected: list[dict]) -> None:
    """Same rows, labels and flags; scores may differ in the last digit between torch thread counts."""
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected, strict=False):
        assert {k: v for k, v in a.items() if k != "scores"} == {k: v for k, v in b.items() if k != "scores"}
        scores_a = json.loads(a["scores"]) if isinstance(a["scores"], str) else a["scores"]
        scores_b = json.loads(b["scores"]) if isinstance(b["scores"], str) else b["scores"]
        assert scores_a == pytest.approx(scores_b, abs=SCORE_ATOL)
