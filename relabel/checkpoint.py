"""The checkpoint of a file re-labelling run: what is committed, and what it was computed with.

It is the single source of truth for resuming. It is replaced atomically (temp file, fsync,
rename) *after* the output and rejects of a chunk are durable, so on resume everything up to
``position`` is in the output exactly once and everything after it is written again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ticketguard.models.errors import InvalidInputError
from ticketguard.relabel.readers import Position
from ticketguard.relabel.writers import atomic_write_bytes

VERSION = 1
_HEAD_BYTES = 1 << 16


def fingerprint(path: Path) -> dict[str, Any]:
    """Size and hash of the first 64 KiB: enough to notice a different or modified input."""
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(_HEAD_BYTES)).hexdigest()
    return {"size": path.stat().st_size, "head_sha256": head}


@dataclass
class Checkpoint:
    """Committed progress of one run.

    Attributes:
        input: the input path and its :func:`fingerprint`.
        options: everything that changes the output (formats, columns); a resume must match.
        model_version: the model that labelled the committed rows.
        row, offset: the input :class:`Position` after the last committed row.
        output, rejects: writer states (byte sizes or part counts).
        summary: the :class:`~relabel.summary.Summary` of the committed rows.
        done: the input was read to the end.
    """

    input: dict[str, Any]
    options: dict[str, Any]
    model_version: str
    row: int = 0
    offset: int = 0
    output: dict[str, Any] = field(default_factory=dict)
    rejects: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    version: int = VERSION

    @property
    def position(self) -> Position:
        return Position(self.row, self.offset)

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            return cls(**payload)
        except (OSError, json.JSONDecodeError, TypeError) as err:
            raise InvalidInputError(f"checkpoint {path} is unreadable ({err}); re-run with --no-resume") from err

    def check_compatible(self, other: Checkpoint, path: Path) -> None:
        """Refuse to resume into output made from another input, model or options.

        Raises:
            InvalidInputError: naming what differs.
        """
        for name in ("input", "options", "model_version", "version"):
            if getattr(self, name) != getattr(other, name):
                raise InvalidInputError(
                    f"checkpoint {path} was written with a different {name} "
                    f"({getattr(self, name)!r} != {getattr(other, name)!r}); re-run with --no-resume to start over")
