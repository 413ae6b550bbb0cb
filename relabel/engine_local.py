"""Classify chunks on this machine: one process, or N worker processes with cores/N torch threads each.

Length bucketing comes from :meth:`Classifier.predict`: it sorts a chunk's texts by token length
and cuts batches of ``batch_size``, so a chunk of a few thousand rows gives tightly packed batches.

With several workers, chunks are submitted to a process pool through a bounded window (twice
the worker count) and collected in submission order, so memory stays flat and output keeps the
input order. Workers are started with ``spawn`` (torch and fork do not mix) and exit on their own
if the parent dies, e.g. after ``kill -9``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from ticketguard.models.artifact import read_manifest
from ticketguard.models.classifier import Classifier
from ticketguard.models.defaults import DEFAULT_BATCH_SIZE
from ticketguard.models.prediction import Result
from ticketguard.relabel.readers import Position, Record, Source

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: one chunk: each record with the classifier's result for it
Labelled = list[tuple[Record, Result]]

#: upper bound of the default worker count: each worker holds its own copy of the model
MAX_DEFAULT_WORKERS = 8


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity masks and container cpusets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: torch threads per worker process in the default layout
THREADS_PER_DEFAULT_WORKER = 4


def default_workers(cores: int) -> int:
    """One worker process per 4 cores (at least 1, at most :data:`MAX_DEFAULT_WORKERS`).

    Measured with the default model on 2 cores (``benchmarks/bench_relabel.py``, 3,000 rows):
    1 process x 2 threads 50.7 rows/s, 2 processes x 1 thread 44.8 rows/s (88%). Model compute
    dominates, so on small machines one multi-threaded process wins; torch's intra-op threads
    stop scaling at a few threads, so bigger machines get several 4-thread processes.
    ``--workers N`` (or ``TICKETGUARD_RELABEL_WORKERS``) overrides the choice.
    """
    return max(1, min(cores // THREADS_PER_DEFAULT_WORKER, MAX_DEFAULT_WORKERS))


def threads_per_worker(workers: int, cores: int) -> int:
    """Split ``cores`` evenly: each of ``workers`` processes gets ``cores // workers`` torch threads."""
    return max(1, cores // workers)


# --- worker process side -------------------------------------------------------------------------
# A process pool calls plain functions, so each worker keeps its classifier in this module-level
# slot, set once by the initializer; the parent process never touches it.
_WORKER: Classifier | None = None


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)  # orphaned (the parent was killed): never outlive it


def _init_worker(model_path: str, batch_size: int, threads: int, parent: int) -> None:
    global _WORKER
    import torch

    torch.set_num_interop_threads(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _WORKER = Classifier.load(model_path, batch_size=batch_size, threads=threads)


def _predict(texts: list[object]) -> list[Result]:
    assert _WORKER is not None, "worker used before its initializer ran"
    return _WORKER.predict(texts)


# --- parent side ---------------------------------------------------------------------------------
class LocalEngine:
    """Classify with the same :class:`Classifier` in this process or in worker processes.

    Args:
        model_path: artifact directory.
        workers: worker processes (``None``: :func:`default_workers`); 1 runs in this process.
        batch_size: messages per forward pass.
        cores: CPU cores to share among workers (``None``: all available).

    Example:
        >>> engine = LocalEngine("artifacts/default", workers=2)
        >>> [p.label for (ps,) in engine.classify([(None, ["hello"])]) for p in ps]  # doctest: +SKIP
    """

    def __init__(self, model_path: str | Path, *, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 cores: int | None = None) -> None:
        cores = cores or available_cores()
        self.workers = workers or default_workers(cores)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self.threads = threads_per_worker(self.workers, cores)
        self.model_path = str(model_path)
        self._classifier: Classifier | None = None
        self._pool: ProcessPoolExecutor | None = None
        if self.workers == 1:
            self._classifier = Classifier.load(model_path, batch_size=batch_size, threads=self.threads)
            self.model_version = self._classifier.model_version
        else:
            self.model_version = read_manifest(Path(model_path)).model_version
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                initargs=(self.model_path, batch_size, self.threads, os.getpid()))
        logger.info("local engine: %d process(es) x %d thread(s)", self.workers, self.threads)

    def classify(self, items: Iterable[tuple[T, list[object]]]) -> Iterator[tuple[T, list[Result]]]:
        """Results for each ``(tag, texts)`` item, yielded in input order with its tag."""
        if self._pool is None:
            assert self._classifier is not None
            for tag, texts in items:
                yield tag, self._classifier.predict(texts)
            return
        window: deque[tuple[T, Future[list[Result]]]] = deque()
        for tag, texts in items:
            window.append((tag, self._pool.submit(_predict, texts)))
            if len(window) >= 2 * self.workers:
                done_tag, future = window.popleft()
                yield done_tag, future.result()
        while window:
            done_tag, future = window.popleft()
            yield done_tag, future.result()

    def run(self, source: Source, start: Position = Position()) -> Iterator[Labelled]:
        """Read ``source`` from ``start`` and yield each chunk's records with their results."""
        items = ((chunk, [r.text(source.columns) for r in chunk]) for chunk in source.chunks(start))
        for chunk, results in self.classify(items):
            yield list(zip(chunk, results, strict=True))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
