"""JSONL, CSV and Parquet round trips: columns kept, predictions appended, bad rows rejected with reasons."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.relabel.conftest import corpus_rows, read_jsonl, write_jsonl
from tests.tolerances import SCORE_ATOL
from ticketguard.models.errors import InvalidInputError
from ticketguard.relabel.engine_local import LocalEngine
from ticketguard.relabel.readers import Columns, Source
from ticketguard.relabel.runner import RunPaths, relabel_file


def expected(engine: LocalEngine, texts: list[str]) -> list[dict]:
    return [p.to_dict() for _, ps in engine.classify([(None, texts)]) for p in ps]


def test_jsonl_round_trip_keeps_columns_and_rejects_bad_rows(tmp_path: Path, engine: LocalEngine) -> None:
    rows = corpus_rows(40)
    src = tmp_path / "in.jsonl"
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows[:20]]
    lines += [
        b'{"id": 100, "text": "   "}',                   # row 21: empty text
        b'{"id": 101, "text": "caf\xe9 \xff broken"}',    # row 22: undecodable bytes
        b'{"id": 102, "body": "no text column"}',         # row 23: missing column
        b'{"id": 103, "text": "unterminated',             # row 24: invalid JSON
        b"",                                              # row 25: blank line, skipped silently
        b'{"text": "no id here"}',                        # row 26: missing id
        b'["not", "an", "object"]',                       # row 27
        b'{"id": 104, "text": 42}',                       # row 28: not a string
        b'{"id": 105, "text": "\\u0000\\u0001"}',        # row 29: only control characters
    ]
    lines += [json.dumps(r, ensure_ascii=False).encode() for r in rows[20:]]
    src.write_bytes(b"\n".join(lines) + b"\n")

    out = tmp_path / "out.jsonl"
    summary = relabel_file(Source(src, "jsonl", chunk_rows=7), out, engine)

    written = read_jsonl(out)
    assert [r["id"] for r in written] == [r["id"] for r in rows]
    preds = expected(engine, [r["text"] for r in rows])
    for row, original, pred in zip(written, rows, preds, strict=False):
        assert row["ticket"] == original["ticket"] and row["priority"] == original["priority"]
        assert row["previous_label"] == original["label"]
        # batches differ from this one-shot reference (padding), which moves the 6th decimal at most
        assert (row["label"], row["flags"]) == (pred["label"], pred["flags"])
        assert row["scores"] == pytest.approx(pred["scores"], abs=SCORE_ATOL)
        assert row["model_version"] == "tiny-test-0"
    assert read_jsonl(RunPaths.for_output(out).rejects) == [
        {"row": 21, "id": 100, "reason": "empty text"},
        {"row": 22, "id": None, "reason": "undecodable bytes"},
        {"row": 23, "id": 102, "reason": "missing column 'text'"},
        {"row": 24, "id": None, "reason": "invalid JSON"},
        {"row": 26, "id": None, "reason": "missing column 'id'"},
        {"row": 27, "id": None, "reason": "not a JSON object"},
        {"row": 28, "id": 104, "reason": "column 'text' is int, expected a string"},
        {"row": 29, "id": 105, "reason": "empty text"},
    ]
    assert (summary.rows, summary.labelled, summary.rejected) == (48, 40, 8)
    assert json.loads(RunPaths.for_output(out).summary.read_text())["rejects"] == {
        "column 'text' is int, expected a string": 1, "empty text": 2, "invalid JSON": 1,
        "missing column 'id'": 1, "missing column 'text'": 1, "not a JSON object": 1, "undecodable bytes": 1}


def test_csv_round_trip_with_quoted_newlines_and_bad_rows(tmp_path: Path, engine: LocalEngine) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"msg_id,body,lang,channel\n"
        b"a1,\"Refund me, now.\nSecond line of the same message.\",en,email\n"
        b"a2,,en,chat\n"                       # empty text
        b"a3,\"Bonjour, ma commande \xff\",fr,chat\n"  # undecodable
        b"a4\n"                                # missing columns
        b"a5,\"Wo ist mein Paket?\",de,email\n"
        b"a6,x,en,chat,surplus\n"              # too many fields
    )
    out = tmp_path / "out.csv"
    summary = relabel_file(Source(src, "csv", Columns(text="body", id="msg_id"), chunk_rows=2), out, engine)

    with out.open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    texts = ["Refund me, now.\nSecond line of the same message.", "Wo ist mein Paket?"]
    preds = expected(engine, texts)
    assert [r["msg_id"] for r in written] == ["a1", "a5"]
    assert [r["body"] for r in written] == texts
    assert [r["channel"] for r in written] == ["email", "email"]
    assert [r["label"] for r in written] == [p["label"] for p in preds]
    for row, pred in zip(written, preds, strict=False):
        assert json.loads(row["scores"]) == pytest.approx(pred["scores"], abs=SCORE_ATOL)
    assert read_jsonl(RunPaths.for_output(out).rejects) == [
        {"row": 2, "id": "a2", "reason": "empty text"},
        {"row": 3, "id": None, "reason": "undecodable bytes"},
        {"row": 4, "id": "a4", "reason": "missing column 'body'"},
        {"row": 6, "id": None, "reason": "more fields than the header"},
    ]
    assert summary.languages == {"en": 1, "de": 1}


def test_csv_without_the_text_column_fails_fast(tmp_path: Path, engine: LocalEngine) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,message\n1,hello\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no 'text' column"):
        relabel_file(Source(src, "csv"), tmp_path / "out.csv", engine)


def test_parquet_round_trip_over_row_groups(tmp_path: Path, engine: LocalEngine) -> None:
    rows = corpus_rows(50)
    rows[10]["text"] = ""
    rows[33]["text"] = None
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src, row_group_size=16)

    out = tmp_path / "out.parquet"
    relabel_file(Source(src, "parquet", chunk_rows=5), out, engine)

    # 16+16+16+2 rows, chunks of 5 within row groups
    assert sorted(p.name for p in out.iterdir()) == [f"part-{i:06d}.parquet" for i in range(13)]
    table = pq.read_table(out)
    good = [r for r in rows if r["text"]]
    assert table.column("id").to_pylist() == [r["id"] for r in good]
    assert table.column("priority").to_pylist() == [r["priority"] for r in good]
    assert table.column("previous_label").to_pylist() == [r["label"] for r in good]
    preds = expected(engine, [r["text"] for r in good])
    assert table.column("label").to_pylist() == [p["label"] for p in preds]
    for scores, pred in zip(table.column("scores").to_pylist(), preds, strict=False):
        assert scores == pytest.approx(pred["scores"], abs=SCORE_ATOL)
    assert read_jsonl(RunPaths.for_output(out).rejects) == [
        {"row": 11, "id": 10, "reason": "empty text"}, {"row": 34, "id": 33, "reason": "empty text"}]


def test_existing_output_without_checkpoint_is_not_overwritten(tmp_path: Path, engine: LocalEngine) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", corpus_rows(3))
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    with pytest.raises(InvalidInputError, match="no checkpoint"):
        relabel_file(Source(src, "jsonl"), out, engine)
    assert out.read_text() == "precious\n"
    relabel_file(Source(src, "jsonl"), out, engine, resume=False)
    assert [r["id"] for r in read_jsonl(out)] == [0, 1, 2]
