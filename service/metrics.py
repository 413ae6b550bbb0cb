"""Prometheus metrics of one app instance, kept in the app's own registry (no global state)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from ticketguard.models.labels import LABELS

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Counters and histograms of the HTTP layer, the micro-batcher and the predictions.

    Example:
        >>> m = Metrics()
        >>> m.batch_size.observe(8)
        >>> b"ticketguard_batch_size_count 1.0" in m.render()
        True
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter("ticketguard_http_requests", "HTTP requests by route and status",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("ticketguard_http_request_duration_seconds", "HTTP request latency by route",
                                 ("method", "route"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("ticketguard_batch_size", "messages per Classifier.predict call",
                                    buckets=BATCH_BUCKETS, registry=self.registry)
        self.batch_latency = Histogram("ticketguard_batch_duration_seconds", "duration of one predict call",
                                       buckets=LATENCY_BUCKETS, registry=self.registry)
        self.queue_depth = Gauge("ticketguard_queue_depth", "messages waiting for the classifier",
                                 registry=self.registry)
        self.accepted = Counter("ticketguard_queue_accepted", "messages accepted into the inference queue",
                                registry=self.registry)
        self.rejected = Counter("ticketguard_queue_rejected", "messages refused because the queue was full",
                                registry=self.registry)
        self.predictions = Counter("ticketguard_predictions", "predicted labels by language",
                                   ("label", "lang"), registry=self.registry)
        self.model = Info("ticketguard_model", "the served model", registry=self.registry)

    def set_model(self, version: str) -> None:
        self.model.info({"version": version, "labels": ",".join(LABELS)})

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """One sample's current value (tests and the readiness report read metrics through this)."""
        return self.registry.get_sample_value(name, labels or {})
