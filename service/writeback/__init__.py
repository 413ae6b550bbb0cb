"""Write-back of ticket labels to the helpdesks' REST APIs: one module per helpdesk.

:func:`writer_for` is the one table of writers: the setting that configures each provider's
write-back (a provider without one writes nothing).
"""

from __future__ import annotations

from ticketguard.service.settings import Settings
from ticketguard.service.writeback.base import HttpCall, Writer, WriteRequest
from ticketguard.service.writeback.freshdesk import FreshdeskWriter
from ticketguard.service.writeback.front import FrontWriter
from ticketguard.service.writeback.intercom import IntercomWriter
from ticketguard.service.writeback.zendesk import ZendeskWriter

__all__ = ["HttpCall", "WriteRequest", "Writer", "write_labels", "writer_for"]


def writer_for(provider: str, settings: Settings) -> Writer | None:
    """The configured writer of ``provider`` (``None``: no write-back for it)."""
    if provider == "zendesk" and settings.zendesk_writeback is not None:
        return ZendeskWriter(settings.zendesk_writeback)
    if provider == "intercom" and settings.intercom_writeback is not None:
        return IntercomWriter(settings.intercom_writeback)
    if provider == "freshdesk" and settings.freshdesk_writeback is not None:
        return FreshdeskWriter(settings.freshdesk_writeback)
    if provider == "front" and settings.front_writeback is not None:
        return FrontWriter(settings.front_writeback)
    return None


def write_labels(provider: str, settings: Settings) -> frozenset[str] | None:
    """The ticket labels ``provider``'s write-back writes (``None``: it has none configured)."""
    config = {"zendesk": settings.zendesk_writeback, "intercom": settings.intercom_writeback,
              "freshdesk": settings.freshdesk_writeback, "front": settings.front_writeback}.get(provider)
    return None if config is None else frozenset(label.value for label in config.labels)
