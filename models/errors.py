"""TicketGuard's own exception tree; third-party errors are translated into these at the boundary."""


class TicketGuardError(Exception):
    """Base class of every error TicketGuard raises on purpose."""


class ArtifactError(TicketGuardError):
    """A model artifact directory is missing, incomplete or inconsistent."""


class BaseModelError(TicketGuardError):
    """The offline base model could not be found, read or converted."""


class InvalidInputError(TicketGuardError):
    """Input to the classifier (or a CLI command) is not acceptable."""


class DataError(TicketGuardError):
    """A corpus file has a bad row; the message names the file and line."""
