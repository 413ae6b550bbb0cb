"""Exactly-once: resumable readers, writers that drop uncommitted bytes, and a real ``kill -9`` mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.relabel.conftest import assert_same_rows, corpus_rows, read_jsonl, write_jsonl
from ticketguard.relabel.engine_local import LocalEngine
from ticketguard.relabel.readers import Columns, Position, Source, read_records
from ticketguard.relabel.runner import RunPaths, relabel_file
from ticketguard.relabel.writers import AppendWriter, PartsWriter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_reading_from_a_saved_position_gives_the_rest(tmp_path: Path, fmt: str) -> None:
    rows = corpus_rows(30)
    path = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        write_jsonl(path, rows)
    elif fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            import csv

            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
    everything = list(read_records(path, fmt, Columns()))  # type: ignore[arg-type]
    cut = everything[12]
    rest = list(read_records(path, fmt, Columns(), Position(cut.row, cut.end)))  # type: ignore[arg-type]
    assert [(r.row, r.data) for r in rest] == [(r.row, r.data) for r in everything[13:]]
    assert [str(r.data["id"]) for r in rest] == [str(i) for i in range(13, 30)]  # type: ignore[index]


def test_append_writer_truncates_what_was_never_checkpointed(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    writer = AppendWriter(path, "jsonl")
    state = writer.write([{"id": 1}, {"id": 2}])
    writer.write([{"id": 3}])  # written, then "killed" before its checkpoint
    writer.close()
    resumed = AppendWriter(path, "jsonl", state)
    resumed.write([{"id": 3}, {"id": 4}])
    resumed.close()
    assert read_jsonl(path) == [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]


def test_parts_writer_drops_parts_past_the_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    writer = PartsWriter(out)
    state = writer.write([{"id": 1, "label": "abuse"}])
    writer.write([{"id": 2, "label": "neutral"}])  # renamed into place but never checkpointed
    (out / ".part-000002.parquet.tmp").write_bytes(b"half a file")
    resumed = PartsWriter(out, state)
    assert sorted(p.name for p in out.iterdir()) == ["part-000000.parquet"]
    resumed.write([{"id": 2, "label": "neutral"}])
    assert pq.read_table(out).column("id").to_pylist() == [1, 2]


#: a bound on waiting, not a speed check: a loaded 2-core machine needs minutes to start two workers
PROGRESS_TIMEOUT_S = 300


def _wait_for_progress(checkpoint: Path, process: subprocess.Popen[bytes], min_row: int) -> int:
    deadline = time.monotonic() + PROGRESS_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run finished before it could be killed; use more rows"
        try:
            row = json.loads(checkpoint.read_text())["row"]
        except (OSError, json.JSONDecodeError, KeyError):
            row = 0
        if row >= min_row:
            return int(row)
        time.sleep(0.02)
    raise AssertionError(f"no progress within {PROGRESS_TIMEOUT_S} s")


def test_kill_9_then_resume_writes_every_row_exactly_once(tmp_path: Path, tiny_artifact: Path,
                                                          engine: LocalEngine) -> None:
    rows = corpus_rows(1000)
    rows[700]["text"] = ""  # one reject, to check the rejects file is exactly-once too
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "ticketguard.cli.main", "relabel", str(src), "-o", str(out), "--model", str(tiny_artifact),
               "--workers", "2", "--chunk-rows", "40"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed_after = _wait_for_progress(RunPaths.for_output(out).checkpoint, process, 200)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert killed_after < 1000
    assert json.loads(RunPaths.for_output(out).checkpoint.read_text())["done"] is False

    resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]

    written = read_jsonl(out)
    ids = [r["id"] for r in written]
    assert len(ids) == len(set(ids)) == 999
    assert sorted(ids) == [i for i in range(1000) if i != 700]
    # byte-identical to an uninterrupted run with the same chunking
    reference = tmp_path / "reference.jsonl"
    relabel_file(Source(src, "jsonl", chunk_rows=40), reference, engine)
    assert_same_rows([json.loads(x) for x in out.read_text().splitlines()],
                     [json.loads(x) for x in reference.read_text().splitlines()])
    assert read_jsonl(RunPaths.for_output(out).rejects) == [{"row": 701, "id": 700, "reason": "empty text"}]
    summary = json.loads(RunPaths.for_output(out).summary.read_text())
    assert summary == json.loads(RunPaths.for_output(reference).summary.read_text())
    assert (summary["labelled"], summary["rejected"]) == (999, 1)
