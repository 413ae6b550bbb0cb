"""Write-back of ticket labels to the helpdesks' REST APIs: one module per helpdesk.

:data:`WRITERS` is the one table of writers; a provider's write-back is configured by the setting
``<provider>_writeback`` (a provider without one writes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ticketguard.service.settings import Settings
from ticketguard.service.writeback.base import HttpCall, Writer, WriteRequest
from ticketguard.service.writeback.freshdesk import FreshdeskWriter
from ticketguard.service.writeback.front import FrontWriter
from ticketguard.service.writeback.intercom import IntercomWriter
from ticketguard.service.writeback.zendesk import ZendeskWriter

__all__ = ["WRITERS", "HttpCall", "WriteRequest", "Writer", "write_labels", "writer_for"]

#: the writer of each helpdesk, built from its ``<provider>_writeback`` setting
WRITERS: dict[str, Callable[[Any], Writer]] = {
    "zendesk": ZendeskWriter, "intercom": IntercomWriter, "freshdesk": FreshdeskWriter, "front": FrontWriter,
}


def _config(provider: str, settings: Settings) -> Any:
    """``provider``'s write-back setting (``None``: not configured, or a provider that cannot be written to)."""
    return getattr(settings, f"{provider}_writeback") if provider in WRITERS else None


def writer_for(provider: str, settings: Settings) -> Writer | None:
    """The configured writer of ``provider`` (``None``: no write-back for it)."""
    config = _config(provider, settings)
    return None if config is None else WRITERS[provider](config)


def write_labels(provider: str, settings: Settings) -> frozenset[str] | None:
    """The ticket labels ``provider``'s write-back writes (``None``: it has none configured)."""
    config = _config(provider, settings)
    return None if config is None else frozenset(label.value for label in config.labels)
