"""TicketGuard: multilingual triage of customer-support messages.

The repository keeps the design card's top-level folders (``models/``, ``training/``,
``service/``, ``data/``, plus ``cli/`` and ``relabel/``); ``pyproject.toml`` maps each of them
into this one namespace (``ticketguard.models``, ``ticketguard.service``, ...), so an install adds
exactly one top-level package. This folder holds only the namespace root.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ticketguard")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
