"""Background work of the service (asyncio tasks started in the app's lifespan).

- :class:`InboxWorker` classifies stored webhook messages in arrival order through the micro-batcher's
  priority lane, and completes each batch in one transaction (message, inbox row, ticket, outbox).
- :class:`OutboxWorker` sends queued write-backs to the helpdesks.

Both keep their database work on one thread of their own, so the webhook route's inserts never
queue behind them, and both survive errors: a failed step is logged, rolled back and retried. A database
outage is waited out; an inbox batch that fails on anything else (one row the database refuses, a bug
one text triggers) is retried a row at a time, and the row that fails on its own is set aside as
failed, with its error, instead of holding up every row behind it (``ticketguard inbox retry`` puts it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ticketguard.models.explain import Explainer, Explanation
from ticketguard.models.langdetect import DetectedLanguage, LanguageDetector
from ticketguard.models.languages import UNKNOWN_LANG, normalize_lang
from ticketguard.models.prediction import Prediction, Result, Unclassifiable
from ticketguard.service import inbox, outbox, repository, tickets
from ticketguard.service.batching import MicroBatcher, cancel_task
from ticketguard.service.errors import NotReadyError
from ticketguard.service.metrics import Metrics
from ticketguard.service.orm import InboxItem, OutboxItem, utcnow
from ticketguard.service.settings import Settings
from ticketguard.service.writeback import WriteRequest, write_labels, writer_for

logger = logging.getLogger(__name__)
T = TypeVar("T")
#: pause after a failed step, so a broken database or model is not hammered
ERROR_PAUSE_SECONDS = 1.0
#: how much of an error a failed inbox row keeps (its first line: never the statement or its parameters)
ERROR_CHARS = 500
#: errors a step waits out with a warning (no traceback): the database or the model is unavailable
OUTAGE_ERRORS = (SQLAlchemyError, NotReadyError, OSError)


def is_outage(err: BaseException) -> bool:
    """Whether ``err`` says the database or the model is unavailable (wait and retry the same work), as
    opposed to a failure of the work itself: a row the database refuses, or a bug one input triggers."""
    return isinstance(err, OUTAGE_ERRORS) and not isinstance(err, DataError | IntegrityError)


class _Loop:
    """A task that runs ``step`` until it finds nothing to do, then sleeps until woken or ``poll`` passes."""

    name = "worker"

    def __init__(self, poll: float) -> None:
        self.poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ticketguard-{self.name}-db")

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"ticketguard-{self.name}")

    async def stop(self) -> None:
        await cancel_task(self._task)
        self._task = None
        self._db.shutdown(wait=True)

    async def in_db_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn)

    async def step(self) -> bool:
        """Do one unit of work; ``False`` when there was none."""
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                busy = await self.step()
            except OUTAGE_ERRORS as err:
                logger.warning("%s step failed, retrying: %s", self.name, err)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            except Exception:  # noqa: BLE001 - the worker must outlive any one bad batch; logged with traceback
                logger.exception("%s step failed, retrying", self.name)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)


class InboxWorker(_Loop):
    """Classify pending inbox rows, oldest first, and tell waiting requests when their rows are done."""

    name = "inbox"

    def __init__(self, *, session_factory: sessionmaker[Session], batcher: MicroBatcher, settings: Settings,
                 metrics: Metrics, model_version: str, detector: LanguageDetector,
                 explainer: Explainer | None = None, on_written: Callable[[], None] | None = None) -> None:
        super().__init__(settings.inbox_poll_seconds)
        self.session_factory = session_factory
        self.batcher = batcher
        self.settings = settings
        self.metrics = metrics
        self.model_version = model_version
        self.detector = detector
        self.explainer = explainer
        self.on_written = on_written
        #: unclassified rows at the last look (approximate: other replicas add and take rows too)
        self.backlog = 0
        self._waiters: dict[int, asyncio.Event] = {}
        #: steps left that claim one row at a time, after a batch failed on one of its rows
        self._one_at_a_time = 0

    def added(self, count: int) -> None:
        self.backlog += count

    async def wait_for(self, ids: Sequence[int], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until this worker has finished every row of ``ids``."""
        events = [self._waiters.setdefault(i, asyncio.Event()) for i in ids]
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            for i in ids:
                self._waiters.pop(i, None)

    async def step(self) -> bool:
        session = self.session_factory()
        items: list[InboxItem] = []
        try:
            limit = 1 if self._one_at_a_time else self.settings.inbox_batch
            items = await self.in_db_thread(lambda: inbox.claim(session=session, limit=limit))
            if not items:
                self.backlog = 0
                self._one_at_a_time = 0
                return False
            texts = [item.text or "" for item in items]
            results = await self.batcher.submit(texts, priority=True)
            languages = await self.in_db_thread(lambda: [None if item.lang else self.detector.detect(item.text or "")
                                                         for item in items])
            explanations = await self._explain(texts, results)
            writes = await self.in_db_thread(lambda: self._complete(session, items, results, languages, explanations))
            backlog = await self.in_db_thread(lambda: inbox.count_pending(session=session))
        except Exception as err:
            await self.in_db_thread(session.rollback)
            if not items or is_outage(err):
                raise
            await self._set_aside(items, err)
            return True
        except BaseException:
            await self.in_db_thread(session.rollback)
            raise
        finally:
            await self.in_db_thread(session.close)
        self._one_at_a_time = max(self._one_at_a_time - 1, 0)
        self.backlog = backlog
        self._notify(items)
        if writes and self.on_written is not None:
            self.on_written()
        return True

    async def _set_aside(self, items: list[InboxItem], err: Exception) -> None:
        """After a failure of the work itself: retry a batch's rows one at a time; mark a lone row failed."""
        if len(items) > 1:
            logger.warning("inbox batch of %d rows (ids %d-%d) failed (%s: %s); retrying them one at a time",
                           len(items), items[0].id, items[-1].id, type(err).__name__, err)
            self._one_at_a_time = len(items)
            return
        item = items[0]
        error = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"[:ERROR_CHARS]

        def mark_failed() -> None:
            with self.session_factory() as session:
                inbox.finish(session=session, item=item, status=inbox.FAILED, error=error)
                session.commit()

        await self.in_db_thread(mark_failed)
        logger.error("inbox row %d failed on its own and is set aside as failed", item.id, exc_info=err)
        self._one_at_a_time = max(self._one_at_a_time - 1, 0)
        self._notify(items)

    def _notify(self, items: Sequence[InboxItem]) -> None:
        """Wake the requests waiting for these rows."""
        for item in items:
            event = self._waiters.get(item.id)
            if event is not None:
                event.set()

    async def _explain(self, texts: list[str], results: list[Result]) -> list[Explanation | None]:
        if self.explainer is None:
            return [None] * len(texts)
        explainer = self.explainer

        def run() -> list[Explanation | None]:
            return [explainer.explain(text, [r.label, *r.flags]) if isinstance(r, Prediction) else None
                    for text, r in zip(texts, results, strict=True)]

        return await self.batcher.run_exclusive(run)

    def _complete(self, session: Session, items: list[InboxItem], results: list[Result],
                  languages: list[DetectedLanguage | None], explanations: list[Explanation | None]) -> int:
        """Store every result in one transaction; the number of write-backs queued."""
        writes = 0
        keep_text = self.settings.store_text
        for item, result, detected, explanation in zip(items, results, languages, explanations, strict=True):
            if isinstance(result, Unclassifiable):
                inbox.finish(session=session, item=item, status=inbox.FAILED, error=result.reason, keep_text=keep_text)
                logger.warning("inbox row %d not classifiable: %s", item.id, result.reason)
                continue
            lang = (normalize_lang(item.lang, item.text) or item.lang) if item.lang else (detected.lang if detected else None)
            stored = repository.insert_message(
                session=session, source=item.provider, external_id=item.external_id, text=item.text or "",
                lang=lang, prediction=result, model_version=self.model_version, store_text=keep_text,
                explanation=explanation, account=item.account, ticket_id=item.ticket_id,
                lang_confidence=detected.confidence if detected else None)
            if not inbox.finish(session=session, item=item, status=inbox.DONE, message_id=stored.message.id,
                                keep_text=keep_text):
                continue  # another worker completed it first (SQLite with several processes)
            self.metrics.predictions.labels(label=result.label, lang=lang or UNKNOWN_LANG).inc()
            if stored.created and item.ticket_id is not None:
                queued = tickets.apply_message(session=session, provider=item.provider, account=item.account,
                                               ticket_id=item.ticket_id, message=stored.message,
                                               write_labels=write_labels(item.provider, self.settings))
                writes += queued is not None
        session.commit()
        return writes


class OutboxWorker(_Loop):
    """Send due write-backs one at a time (each in its own transaction), oldest first."""

    name = "outbox"

    def __init__(self, *, session_factory: sessionmaker[Session], settings: Settings,
                 client: httpx.AsyncClient | None = None) -> None:
        super().__init__(settings.outbox_poll_seconds)
        self.session_factory = session_factory
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=settings.outbox_timeout_seconds)
        self.backoff = outbox.Backoff(settings.outbox_backoff_seconds, settings.outbox_backoff_max_seconds)

    async def stop(self) -> None:
        await super().stop()
        await self.client.aclose()

    async def step(self) -> bool:
        session = self.session_factory()
        try:
            item = await self.in_db_thread(lambda: outbox.claim_due(session=session))
            if item is None:
                return False
            await self._attempt(session, item)
            await self.in_db_thread(session.commit)
        except BaseException:
            await self.in_db_thread(session.rollback)
            raise
        finally:
            await self.in_db_thread(session.close)
        return True

    async def _attempt(self, session: Session, item: OutboxItem) -> None:
        if await self.in_db_thread(lambda: outbox.superseded(session=session, item=item)):
            await self.in_db_thread(lambda: outbox.record(session=session, item=item, status=outbox.SUPERSEDED,
                                                          attempted=False))
            return
        writer = writer_for(item.provider, self.settings)
        if writer is None:
            await self.in_db_thread(lambda: outbox.bury(session=session, item=item,
                                                        error=f"no {item.provider} write-back configured"))
            return
        request = WriteRequest(ticket_id=item.ticket_id, label=item.label, band=item.band,
                               previous_label=item.previous_label)
        try:
            await outbox.send(self.client, writer, request)
        except outbox.WriteError as err:
            status, when = outbox.schedule_after(err, attempts=item.attempts + 1,
                                                 max_attempts=self.settings.outbox_max_attempts, backoff=self.backoff)
            log = logger.error if status == outbox.DEAD else logger.warning
            error = str(err)
            log("write-back of %s ticket %s failed (try %d): %s", item.provider, item.ticket_id, item.attempts + 1,
                error, extra={"outbox_id": item.id})
            if status == outbox.DEAD:
                await self.in_db_thread(lambda: outbox.bury(session=session, item=item, error=error))
            else:
                await self.in_db_thread(lambda: outbox.record(session=session, item=item, status=status,
                                                              error=error, next_attempt_at=when))
            return
        await self.in_db_thread(lambda: outbox.record(session=session, item=item, status=outbox.DONE))
        logger.info("wrote %s to %s ticket %s", item.label, item.provider, item.ticket_id,
                    extra={"outbox_id": item.id, "at": utcnow().isoformat()})
