"""Helpdesk webhook adapters: one module per provider, each verifying its own signature scheme.

:data:`PROVIDERS` is the one table of providers: the adapter of each, and the setting that holds
its secret (a provider without a secret is switched off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ticketguard.service.errors import UnknownProviderError
from ticketguard.service.settings import Settings
from ticketguard.service.webhooks.base import (
    Challenge,
    Correction,
    Delivery,
    Ignored,
    Parsed,
    Provider,
    WebhookEvent,
)
from ticketguard.service.webhooks.freshdesk import Freshdesk
from ticketguard.service.webhooks.front import Front
from ticketguard.service.webhooks.generic import Generic
from ticketguard.service.webhooks.intercom import Intercom
from ticketguard.service.webhooks.zendesk import Zendesk

__all__ = ["PROVIDERS", "Challenge", "Correction", "Delivery", "Ignored", "Parsed", "Provider", "WebhookEvent", "get_provider"]


@dataclass(frozen=True)
class ProviderSpec:
    make: Callable[[Settings], Provider]
    secret_setting: str
    #: the status an overloaded server answers, the one the helpdesk retries on
    overload_status: int = 503


PROVIDERS: dict[str, ProviderSpec] = {
    "zendesk": ProviderSpec(lambda settings: Zendesk(label_field_id=settings.zendesk_writeback.label_field_id
                                                     if settings.zendesk_writeback else None),
                            "zendesk_webhook_secret"),
    "intercom": ProviderSpec(lambda settings: Intercom(tag_ids=settings.intercom_writeback.tag_ids
                                                       if settings.intercom_writeback else None,
                                                       tolerance=settings.webhook_tolerance_seconds),
                             "intercom_client_secret", overload_status=429),
    "freshdesk": ProviderSpec(lambda settings: Freshdesk(settings.freshdesk_secret_header), "freshdesk_shared_secret"),
    "front": ProviderSpec(lambda settings: Front(), "front_app_secret"),
    "generic": ProviderSpec(lambda settings: Generic(), "generic_webhook_secret"),
}


def get_provider(name: str, settings: Settings) -> tuple[Provider, str | None]:
    """The adapter of ``name`` and its configured secret (``None`` when the provider is off).

    Raises:
        UnknownProviderError: ``name`` is not in :data:`PROVIDERS`.
    """
    spec = PROVIDERS.get(name)
    if spec is None:
        raise UnknownProviderError(f"unknown webhook provider {name!r}; expected one of {', '.join(PROVIDERS)}")
    secret = getattr(settings, spec.secret_setting)
    return spec.make(settings), secret.get_secret_value() if secret is not None else None
