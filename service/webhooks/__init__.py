"""Helpdesk webhook adapters: one module per provider, each verifying its own signature scheme."""

from __future__ import annotations

from ticketguard.service.errors import UnknownProviderError
from ticketguard.service.settings import WEBHOOK_PROVIDERS, Settings
from ticketguard.service.webhooks.base import Challenge, Ignored, Parsed, Provider, WebhookEvent
from ticketguard.service.webhooks.freshdesk import Freshdesk
from ticketguard.service.webhooks.front import Front
from ticketguard.service.webhooks.generic import Generic
from ticketguard.service.webhooks.intercom import Intercom
from ticketguard.service.webhooks.zendesk import Zendesk

__all__ = ["Challenge", "Ignored", "Parsed", "Provider", "WebhookEvent", "get_provider"]


def get_provider(name: str, settings: Settings) -> Provider:
    """The adapter of ``name``.

    Raises:
        UnknownProviderError: not one of ``zendesk, intercom, freshdesk, front, generic``.
    """
    providers: dict[str, Provider] = {
        "zendesk": Zendesk(), "intercom": Intercom(), "front": Front(), "generic": Generic(),
        "freshdesk": Freshdesk(settings.freshdesk_secret_header),
    }
    if name not in providers:
        raise UnknownProviderError(f"unknown webhook provider {name!r}; expected one of {', '.join(WEBHOOK_PROVIDERS)}")
    return providers[name]
