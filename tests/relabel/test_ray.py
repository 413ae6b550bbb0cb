"""The Ray engine (local Ray, actor pool) writes exactly what the local engine writes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.relabel.conftest import assert_same_rows, corpus_rows, write_jsonl
from ticketguard.relabel.engine_local import LocalEngine
from ticketguard.relabel.engine_ray import RayEngine
from ticketguard.relabel.readers import Source
from ticketguard.relabel.runner import RunPaths, relabel_file


def test_ray_output_equals_local_output(tmp_path: Path, tiny_artifact: Path, engine: LocalEngine) -> None:
    rows = corpus_rows(150)
    rows[40]["text"] = "   "
    jsonl = write_jsonl(tmp_path / "in.jsonl", rows)
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=64)

    local_jsonl, local_parquet = tmp_path / "local.jsonl", tmp_path / "local.parquet"
    relabel_file(Source(jsonl, "jsonl", chunk_rows=32), local_jsonl, engine)
    relabel_file(Source(parquet, "parquet", chunk_rows=32), local_parquet, engine)

    # one engine (one Ray instance) per file, as the CLI runs it: a second dataset on the same
    # instance can wait for the first actor pool's CPUs on a loaded machine
    ray_jsonl, ray_parquet = tmp_path / "ray.jsonl", tmp_path / "ray.parquet"
    for source, output in ((Source(jsonl, "jsonl", chunk_rows=32), ray_jsonl),
                           (Source(parquet, "parquet", chunk_rows=32), ray_parquet)):
        ray_engine = RayEngine(tiny_artifact, workers=2, cores=2)
        try:
            relabel_file(source, output, ray_engine)
        finally:
            ray_engine.close()

    # same rows, labels and flags; scores may differ in the last digit because the engines run
    # torch with different thread counts (1 per actor vs 2 in-process)
    assert_same_rows([json.loads(x) for x in ray_jsonl.read_text().splitlines()],
                     [json.loads(x) for x in local_jsonl.read_text().splitlines()])
    assert RunPaths.for_output(ray_jsonl).rejects.read_bytes() == RunPaths.for_output(local_jsonl).rejects.read_bytes()
    assert RunPaths.for_output(ray_jsonl).summary.read_bytes() == RunPaths.for_output(local_jsonl).summary.read_bytes()
    assert_same_rows(pq.read_table(ray_parquet).to_pylist(), pq.read_table(local_parquet).to_pylist())
    assert sorted(p.name for p in ray_parquet.iterdir()) == sorted(p.name for p in local_parquet.iterdir())

