"""``POST /v1/classify``: one message or a batch, micro-batched with concurrent requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool

from ticketguard.models.explain import Explainer
from ticketguard.service.classify import enforce_limits, explain, predict
from ticketguard.service.deps import (
    ApiKeyDep,
    BatcherDep,
    ClassifierDep,
    JsonBodyDep,
    LanguageDetectorDep,
    MetricsDep,
    SettingsDep,
)
from ticketguard.service.openapi import error_responses
from ticketguard.service.schemas import BatchIn, BatchOut, ClassificationOut, ClassifyRequest, ExplanationOut

router = APIRouter(prefix="/v1", tags=["classify"], dependencies=[ApiKeyDep])

_EXAMPLES = {
    "single": {"summary": "one message", "value": {"text": "Refund me by Friday or I call my lawyer.", "lang": "en"}},
    "batch": {"summary": "a batch", "value": {"items": [{"id": "a1", "text": "Where is my parcel?"},
                                                        {"id": "a2", "text": "You are useless idiots."}]}},
}


@router.post("/classify", response_model=ClassificationOut | BatchOut, dependencies=[JsonBodyDep],
             responses=error_responses(400, 401, 413, 415, 422, 500, 503))
async def classify(request: Annotated[ClassifyRequest, Body(openapi_examples=_EXAMPLES)], settings: SettingsDep,
                   batcher: BatcherDep, metrics: MetricsDep, classifier: ClassifierDep,
                   detector: LanguageDetectorDep) -> ClassificationOut | BatchOut:
    """Label, calibrated scores of all five labels, flags and model version of each message; with
    ``explain``, also the spans of the text that raised the label and each flag most (about 10x slower).
    A message sent without ``lang`` gets its detected language and the detector's confidence."""
    tickets = request.items if isinstance(request, BatchIn) else [request]
    enforce_limits(tickets, settings)
    detected = await run_in_threadpool(lambda: [None if t.lang else detector.detect(t.text) for t in tickets])
    langs = [t.lang or (d.lang if d else None) for t, d in zip(tickets, detected, strict=True)]
    predictions = await predict(tickets, batcher=batcher, metrics=metrics, langs=langs)
    explanations: list[ExplanationOut | None] = [None] * len(tickets)
    if request.explain:
        found = await explain([t.text for t in tickets], predictions, explainer=Explainer(classifier), batcher=batcher)
        explanations = [ExplanationOut.model_validate(e.to_dict()) for e in found]
    results = [ClassificationOut(id=t.id, lang=lang, lang_confidence=d.confidence if d else None, label=p.label,
                                 scores=p.scores, flags=p.flags, review=p.review,
                                 model_version=classifier.model_version, explanation=e)
               for t, lang, d, p, e in zip(tickets, langs, detected, predictions, explanations, strict=True)]
    if isinstance(request, BatchIn):
        return BatchOut(items=results, model_version=classifier.model_version)
    return results[0]
