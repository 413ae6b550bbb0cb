"""The service's use of the classifier: limits, micro-batched prediction and explanations."""

from __future__ import annotations

from collections.abc import Sequence

from ticketguard.models.errors import InvalidInputError
from ticketguard.models.explain import Explainer, Explanation
from ticketguard.models.languages import UNKNOWN_LANG, normalize_lang
from ticketguard.models.prediction import Prediction, Unclassifiable
from ticketguard.service.batching import MicroBatcher
from ticketguard.service.errors import LimitError
from ticketguard.service.metrics import Metrics
from ticketguard.service.schemas import TicketIn
from ticketguard.service.settings import Settings


def enforce_limits(tickets: Sequence[TicketIn], settings: Settings) -> None:
    """Apply the configured limits (the schema holds only the hard ceilings).

    Raises:
        LimitError: too many items, or a text over ``max_text_chars``.
    """
    if len(tickets) > settings.max_batch_items:
        raise LimitError(f"items: {len(tickets)} messages in one request; the limit is {settings.max_batch_items}")
    for i, ticket in enumerate(tickets):
        if len(ticket.text) > settings.max_text_chars:
            where = f"items.{i}.text" if len(tickets) > 1 else "text"
            raise LimitError(f"{where}: {len(ticket.text)} characters; the limit is {settings.max_text_chars}")


async def predict(tickets: Sequence[TicketIn], *, batcher: MicroBatcher, metrics: Metrics,
                  langs: Sequence[str | None] | None = None) -> list[Prediction]:
    """Classify through the micro-batcher and count labels per language (``langs``: detected ones,
    default: the tickets' own).

    Raises:
        InvalidInputError: the classifier could not classify an item (the request schema applies the
            same rule first, so this only guards a schema that was bypassed).
    """
    results = await batcher.submit([t.text for t in tickets])
    predictions = []
    for i, result in enumerate(results):
        if isinstance(result, Unclassifiable):
            where = f"items.{i}.text" if len(tickets) > 1 else "text"
            raise InvalidInputError(f"{where}: {result.reason}")
        predictions.append(result)
    for ticket, lang, prediction in zip(tickets, langs or [t.lang for t in tickets], predictions, strict=True):
        counted = normalize_lang(lang, ticket.text) or lang or UNKNOWN_LANG
        metrics.predictions.labels(label=prediction.label, lang=counted).inc()
    return predictions


async def explain(texts: Sequence[str], predictions: Sequence[Prediction], *, explainer: Explainer,
                  batcher: MicroBatcher) -> list[Explanation]:
    """The spans that raised each prediction's label and flags, computed on the inference thread."""
    def run() -> list[Explanation]:
        return [explainer.explain(text, [p.label, *p.flags]) for text, p in zip(texts, predictions, strict=True)]

    return await batcher.run_exclusive(run)
