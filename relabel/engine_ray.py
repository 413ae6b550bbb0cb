"""Classify through Ray Data: a read of the archive, ``map_batches`` on an actor pool, ordered results.

* **Read.** :class:`RecordDatasource` runs the same readers as the local engine inside Ray read
  tasks (one per Parquet row group, one streaming task for JSONL/CSV), so validation, rejects,
  row numbers and resume positions are identical, and a resumed run starts reading at the
  checkpoint instead of recomputing the committed prefix.
* **Classify.** :class:`RelabelPredictor` is a callable class: it loads the :class:`Classifier`
  once in ``__init__`` and labels a batch in ``__call__``; an actor pool of ``workers`` actors
  (``compute=ActorPoolStrategy(size=workers)``, the successor of the deprecated ``concurrency=``) runs it.
* **Commit.** The driver iterates the results in input order (``preserve_order``) and hands them
  to the same writers and checkpoint as the local engine, which makes the two outputs identical.

On a cluster, pass ``address`` (or set ``RAY_ADDRESS``); the model directory and the input must
be readable at the same path on every node (shared storage), and TicketGuard installed there.
"""

from __future__ import annotations

import functools
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ticketguard.models.artifact import read_manifest
from ticketguard.models.classifier import Classifier
from ticketguard.models.defaults import DEFAULT_BATCH_SIZE
from ticketguard.relabel.engine_local import Labelled, available_cores, default_workers, threads_per_worker
from ticketguard.relabel.readers import Columns, Position, Record, Source, parquet_row_groups

logger = logging.getLogger(__name__)

#: one Ray row per chunk: the chunk is the unit of work *and* of commit, and Ray can never split
#: it, so every forward pass sees exactly the batches a local run sees (a batch's composition,
#: through padding, moves scores in the last decimal place)
_SCHEMA = pa.schema([("chunk", pa.binary())])


def _block(records: list[Record]) -> pa.Table:
    """One chunk as a one-row Arrow block; records travel pickled so any column types survive."""
    return pa.Table.from_pydict({"chunk": [pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)]},
                                schema=_SCHEMA)


def _read_stream(source: Source, start: Position) -> Iterator[pa.Table]:
    for chunk in source.chunks(start):
        yield _block(chunk)


def _read_row_group(source: Source, plan: tuple[int, int, int]) -> Iterator[pa.Table]:
    for chunk in source.row_group_chunks(plan):
        yield _block(chunk)


def _plans(source: Source, start: Position) -> list[tuple[int, int, int]] | None:
    return parquet_row_groups(source.path, start.row) if source.fmt == "parquet" else None


def _datasource(source: Source, start: Position) -> Any:
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class RecordDatasource(Datasource):
        """Records of one archive from ``start``, as Ray read tasks."""

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[ReadTask]:
            meta = BlockMetadata(num_rows=None, size_bytes=None, input_files=(str(source.path),), exec_stats=None)
            plans = _plans(source, start)
            if plans is not None:
                return [ReadTask(functools.partial(_read_row_group, source, plan), meta, schema=_SCHEMA)
                        for plan in plans]
            return [ReadTask(functools.partial(_read_stream, source, start), meta, schema=_SCHEMA)]

    return RecordDatasource()


class RelabelPredictor:
    """Ray Data callable class: the :class:`Classifier` loaded once per actor.

    ``__call__`` takes a batch of chunks and returns, per chunk, its records paired with their
    results, pickled in a ``labelled`` column.
    """

    def __init__(self, model_path: str, columns: Columns, batch_size: int = DEFAULT_BATCH_SIZE, threads: int = 1) -> None:
        self.classifier = Classifier.load(model_path, batch_size=batch_size, threads=threads)
        self.columns = columns

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = []
        for payload in batch.column("chunk").to_pylist():
            records: list[Record] = pickle.loads(payload)
            results = self.classifier.predict([r.text(self.columns) for r in records])
            labelled = list(zip(records, results, strict=True))
            out.append(pickle.dumps(labelled, protocol=pickle.HIGHEST_PROTOCOL))
        return pa.table({"labelled": pa.array(out, pa.binary())})


class RayEngine:
    """Run the classifier on a Ray actor pool; same output as :class:`~relabel.engine_local.LocalEngine`.

    Args:
        model_path: artifact directory (same path on every node).
        workers: actors (``None``: :func:`~ticketguard.relabel.engine_local.default_workers` of the cores, as the
            local engine).
        batch_size: messages per forward pass.
        address: Ray cluster address; ``None`` starts a private local Ray (never joins another
            process's local cluster, which may run other code).
        cores: CPUs of a local Ray (``None``: all available).
    """

    def __init__(self, model_path: str | Path, *, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 address: str | None = None, cores: int | None = None) -> None:
        import ray

        cores = cores or available_cores()
        self.workers = workers or default_workers(cores)
        self.threads = threads_per_worker(self.workers, cores)
        self.model_path = str(Path(model_path).resolve())
        self.batch_size = batch_size
        self.model_version = read_manifest(Path(model_path)).model_version
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": address or "local", "include_dashboard": False, "log_to_driver": False}
            if address is None:
                # one logical CPU more than the actors reserve, for the light read and re-blocking
                # tasks: with every CPU held by an actor they would never be scheduled
                kwargs["num_cpus"] = self.workers * self.threads + 1
            ray.init(**kwargs)
            self._started = True
        logger.info("ray engine: %d actor(s) x %d thread(s)", self.workers, self.threads)

    def run(self, source: Source, start: Position = Position()) -> Iterator[Labelled]:
        import ray.data
        from ray.data import ActorPoolStrategy

        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # the checkpoint needs input order
        context.enable_progress_bars = False
        dataset = (
            ray.data.read_datasource(_datasource(source, start), num_cpus=0)
            # one chunk per block, so the actors share the chunks instead of one actor taking a merged block
            .repartition(target_num_rows_per_block=1)
            .map_batches(
                RelabelPredictor,
                fn_constructor_kwargs={"model_path": self.model_path, "columns": source.columns,
                                       "batch_size": self.batch_size, "threads": self.threads},
                batch_size=1, batch_format="pyarrow", compute=ActorPoolStrategy(size=self.workers),
                num_cpus=float(self.threads),
            )
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            for payload in batch.column("labelled").to_pylist():
                yield pickle.loads(payload)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
