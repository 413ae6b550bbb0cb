"""Micro-batching: concurrent requests share one ``Classifier.predict`` call.

Each request's texts are encoded (tokenised) once as it arrives, by the classifier's own
``encode``: on the event loop for a short request, in a worker thread for a long one. The request
then puts a *job* (its encodings, their token count and a future) on a bounded queue. One worker
task takes the first waiting job and keeps collecting jobs for at most ``max_wait_ms``, until the
next job would take the batch past ``max_batch_size`` messages or ``max_batch_tokens`` tokens (a
job over either limit on its own runs alone); it then runs a single ``predict`` on the encodings
in a one-thread executor, so the event loop stays free and torch's intra-op threads are not
oversubscribed. While a batch runs, new requests queue up and form the next batch, so under load
batches fill without waiting, and a burst of long e-mails cannot make a chat line wait for all of
them.

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

from starlette.concurrency import run_in_threadpool

from ticketguard.models.classifier import Encoded, token_count
from ticketguard.models.prediction import Result
from ticketguard.service.errors import NotReadyError, OverloadedError
from ticketguard.service.metrics import Metrics

logger = logging.getLogger(__name__)

EncodeFn = Callable[[Sequence[str]], list[Encoded]]
PredictFn = Callable[[Sequence[Encoded]], list[Result]]
T = TypeVar("T")
#: requests with more characters than this are tokenised off the event loop (a thread hop costs
#: less than blocking every other request while a long e-mail is tokenised)
INLINE_ENCODE_CHARS = 4096


@dataclass
class _Job:
    items: list[Encoded]
    tokens: int
    future: asyncio.Future[list[Result]]


class MicroBatcher:
    """Merge concurrent ``submit`` calls into batched ``predict`` calls.

    Args:
        encode: the encoding function, normally ``Classifier.encode``.
        predict: the batch function on encodings, normally ``Classifier.predict_encoded``.
        max_batch_size: a batch holds at most this many messages (unless one request has more).
        max_batch_tokens: a batch holds at most this many tokens (unless one request has more).
        max_wait_ms: how long the first job of a batch waits for company.
        queue_size: messages allowed to wait; more raise ``OverloadedError``.
        enabled: ``False`` runs each job alone (no merging).
        retry_after: seconds advertised in the 503's ``Retry-After``.
        metrics: where batch sizes, durations and queue depth are recorded.

    Example:
        >>> batcher = MicroBatcher(classifier.encode, classifier.predict_encoded, max_batch_size=64,
        ...                        max_batch_tokens=4096, max_wait_ms=5, queue_size=1024)
        >>> await batcher.start()
        >>> (await batcher.submit(["where is my parcel?"]))[0].label
        'complaint'
    """

    def __init__(self, encode: EncodeFn, predict: PredictFn, *, max_batch_size: int, max_batch_tokens: int,
                 max_wait_ms: float, queue_size: int, enabled: bool = True, retry_after: int = 1,
                 metrics: Metrics | None = None) -> None:
        if max_batch_size < 1 or max_batch_tokens < 1 or queue_size < 1 or max_wait_ms < 0:
            raise ValueError(f"bad batcher limits: max_batch_size={max_batch_size}, max_batch_tokens={max_batch_tokens}, "
                             f"queue_size={queue_size}, max_wait_ms={max_wait_ms}")
        self._encode = encode
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000
        self.queue_size = queue_size
        self.enabled = enabled
        self.retry_after = retry_after
        self.metrics = metrics or Metrics()
        self._queue: asyncio.PriorityQueue[tuple[int, int, _Job]] | None = None
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        #: a job taken from the queue that did not fit the previous batch: it opens the next one
        self._carried: _Job | None = None
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
        await cancel_task(self._task)
        self._task = None
        waiting = [self._carried] if self._carried is not None else []
        self._carried = None
        if self._queue is not None:
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait()[2])
        for job in waiting:
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
        if sum(len(t) for t in texts) <= INLINE_ENCODE_CHARS:
            items = self._encode(texts)
        else:
            items = await run_in_threadpool(self._encode, texts)
            if not self.running:  # stopped while this request was being tokenised
                raise NotReadyError("the service is shutting down")
        job = _Job(items, sum(token_count(item) for item in items), asyncio.get_running_loop().create_future())
        self.metrics.accepted.inc(len(items))
        self._set_depth(self._depth + len(items))
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

    async def _next_job(self, timeout: float | None) -> _Job | None:
        """The carried-over job, else the next queued one, waiting at most ``timeout`` seconds."""
        assert self._queue is not None
        if self._carried is not None:
            job, self._carried = self._carried, None
            return job
        try:
            return self._queue.get_nowait()[2]
        except asyncio.QueueEmpty:
            if timeout is not None and timeout <= 0:
                return None
        try:
            return (await asyncio.wait_for(self._queue.get(), timeout))[2]
        except TimeoutError:
            return None

    async def _collect(self) -> list[_Job]:
        """The next batch: the first waiting job plus whatever fits and joins within ``max_wait``."""
        first = await self._next_job(None)
        assert first is not None
        jobs = [first]
        size, tokens = len(first.items), first.tokens
        if self.enabled:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.max_wait
            while size < self.max_batch_size and tokens < self.max_batch_tokens:
                job = await self._next_job(deadline - loop.time())
                if job is None:
                    break
                if size + len(job.items) > self.max_batch_size or tokens + job.tokens > self.max_batch_tokens:
                    self._carried = job  # too big to join: it opens the next batch
                    break
                jobs.append(job)
                size += len(job.items)
                tokens += job.tokens
        self._set_depth(self._depth - size)
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            jobs = [job for job in jobs if not job.future.done()]  # clients that went away
            if jobs:
                await self._execute(jobs)

    async def _execute(self, jobs: list[_Job]) -> None:
        items = [item for job in jobs for item in job.items]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            predictions = await loop.run_in_executor(self._executor, self._predict, items)
        except Exception as err:  # noqa: BLE001 - handed to every waiting request, which re-raises it
            logger.exception("predict failed on a batch of %d messages", len(items))
            for job in jobs:
                _resolve(job, error=err)
            return
        self.metrics.batch_size.observe(len(items))
        self.metrics.batch_latency.observe(time.perf_counter() - started)
        offset = 0
        for job in jobs:
            _resolve(job, result=predictions[offset:offset + len(job.items)])
            offset += len(job.items)


async def cancel_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task (if any) and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _resolve(job: _Job, *, result: list[Result] | None = None, error: BaseException | None = None) -> None:
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result or [])
