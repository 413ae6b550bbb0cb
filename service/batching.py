"""Micro-batching: concurrent requests share one ``Classifier.predict`` call.

Requests put *jobs* (a list of texts and a future) on a bounded queue. One worker task takes the
first waiting job, keeps collecting jobs for at most ``max_wait_ms`` or until ``max_batch_size``
messages are gathered, then runs a single ``predict`` in a one-thread executor, so the event loop
stays free and torch's intra-op threads are not oversubscribed. While a batch runs, new requests
queue up and form the next batch, so under load batches fill without waiting.

Two lanes: jobs submitted with ``priority=True`` (the webhook inbox worker) are taken before any
bulk job (``/v1/classify``), so a saturating bulk load delays webhook classification by at most
the batch being classified.

When the queue already holds ``queue_size`` messages, :meth:`MicroBatcher.submit` raises
:class:`~service.errors.OverloadedError` (a 503 with ``Retry-After``) instead of letting it grow.
Priority jobs are not refused: their producer (the inbox worker) bounds them itself.
With batching disabled every job runs on its own (same queue and limits; the benchmark baseline).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ticketguard.models.prediction import Result
from ticketguard.service.errors import NotReadyError, OverloadedError
from ticketguard.service.metrics import Metrics

logger = logging.getLogger(__name__)

PredictFn = Callable[[Sequence[str]], list[Result]]
T = TypeVar("T")


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[list[Result]]


class MicroBatcher:
    """Merge concurrent ``submit`` calls into batched ``predict`` calls.

    Args:
        predict: the batch function, normally ``Classifier.predict``.
        max_batch_size: a batch closes once it holds this many messages.
        max_wait_ms: how long the first job of a batch waits for company.
        queue_size: messages allowed to wait; more raise ``OverloadedError``.
        enabled: ``False`` runs each job alone (no merging).
        retry_after: seconds advertised in the 503's ``Retry-After``.
        metrics: where batch sizes, durations and queue depth are recorded.

    Example:
        >>> batcher = MicroBatcher(classifier.predict, max_batch_size=64, max_wait_ms=5, queue_size=1024)
        >>> await batcher.start()
        >>> (await batcher.submit(["where is my parcel?"]))[0].label
        'complaint'
    """

    def __init__(self, predict: PredictFn, *, max_batch_size: int, max_wait_ms: float, queue_size: int,
                 enabled: bool = True, retry_after: int = 1, metrics: Metrics | None = None) -> None:
        if max_batch_size < 1 or queue_size < 1 or max_wait_ms < 0:
            raise ValueError(f"bad batcher limits: max_batch_size={max_batch_size}, queue_size={queue_size}, "
                             f"max_wait_ms={max_wait_ms}")
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        self.queue_size = queue_size
        self.enabled = enabled
        self.retry_after = retry_after
        self.metrics = metrics or Metrics()
        self._queue: asyncio.PriorityQueue[tuple[int, int, _Job]] | None = None
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._depth = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def depth(self) -> int:
        """Messages waiting in the queue (not counting the batch being classified)."""
        return self._depth

    async def start(self) -> None:
        if self.running:
            return
        self._queue = asyncio.PriorityQueue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ticketguard-inference")
        self._task = asyncio.create_task(self._run(), name="ticketguard-microbatcher")

    async def stop(self) -> None:
        """Stop the worker; jobs still queued fail with ``NotReadyError``."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue is not None:
            while not self._queue.empty():
                _, _, job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(NotReadyError("the service is shutting down"))
        self._set_depth(0)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, texts: Sequence[str], *, priority: bool = False) -> list[Result]:
        """Classify ``texts`` (in order) as part of the next batch; one result per text.

        ``priority`` jobs go before every waiting bulk job and are never refused for a full queue.

        Raises:
            OverloadedError: the queue is full (bulk jobs only).
            NotReadyError: the batcher is not running.
        """
        if not texts:
            return []
        if not self.running or self._queue is None:
            raise NotReadyError("the classifier is not running")
        if not priority and self._depth + len(texts) > self.queue_size:
            self.metrics.rejected.inc(len(texts))
            raise OverloadedError(f"inference queue is full ({self._depth} messages waiting); retry later",
                                  retry_after=self.retry_after)
        job = _Job(list(texts), asyncio.get_running_loop().create_future())
        self.metrics.accepted.inc(len(job.texts))
        self._set_depth(self._depth + len(job.texts))
        self._queue.put_nowait((0 if priority else 1, next(self._order), job))
        return await job.future

    async def run_exclusive(self, fn: Callable[[], T]) -> T:
        """Run other model work (explanations) on the inference thread, between batches.

        The model's tokenizer must not be used by two threads at once, and on CPU a second thread
        would only compete with the batches for the same cores.

        Raises:
            NotReadyError: the batcher is not running.
        """
        if not self.running or self._executor is None:
            raise NotReadyError("the classifier is not running")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _set_depth(self, value: int) -> None:
        self._depth = value
        self.metrics.queue_depth.set(value)

    async def _collect(self) -> list[_Job]:
        """The next batch: the first waiting job plus whatever joins within ``max_wait``."""
        assert self._queue is not None
        jobs = [(await self._queue.get())[2]]
        size = len(jobs[0].texts)
        if self.enabled:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.max_wait
            while size < self.max_batch_size:
                try:
                    _, _, job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        _, _, job = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                jobs.append(job)
                size += len(job.texts)
        self._set_depth(self._depth - size)
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            jobs = [job for job in jobs if not job.future.done()]  # clients that went away
            if jobs:
                await self._execute(jobs)

    async def _execute(self, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            predictions = await loop.run_in_executor(self._executor, self._predict, texts)
        except Exception as err:  # noqa: BLE001 - handed to every waiting request, which re-raises it
            logger.exception("predict failed on a batch of %d messages", len(texts))
            for job in jobs:
                _resolve(job, error=err)
            return
        self.metrics.batch_size.observe(len(texts))
        self.metrics.batch_latency.observe(time.perf_counter() - started)
        offset = 0
        for job in jobs:
            _resolve(job, result=predictions[offset:offset + len(job.texts)])
            offset += len(job.texts)


def _resolve(job: _Job, *, result: list[Result] | None = None, error: BaseException | None = None) -> None:
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result or [])
