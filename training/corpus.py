"""The corpus format: one JSON object per line, validated row by row.

Fields: ``id``, ``text``, ``label`` (one of the five labels), ``lang`` (ISO 639-1, or
``zh-Hans`` / ``zh-Hant``), ``source`` (provenance), ``split`` (train | dev | test) and optional
``tags``. A bad row raises :class:`~models.errors.DataError` naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ticketguard.data import TEXT_MAX_CHARS, TEXT_MIN_CHARS
from ticketguard.models.errors import DataError
from ticketguard.models.labels import LABELS
from ticketguard.models.languages import LANG_CODE

SPLITS = ("train", "dev", "test", "challenge")
TAGS = frozenset({
    "hard", "long", "short", "typos", "caps", "emoji", "code-switch", "translit", "sarcasm", "formal", "quote",
    "contrast", "review", "praise", "thread", "signature", "sms", "mention", "social", "masked",
})


class CorpusRow(BaseModel):
    """One labelled message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=TEXT_MIN_CHARS, max_length=TEXT_MAX_CHARS)
    label: str
    lang: str
    source: str = Field(min_length=1)
    split: Literal["train", "dev", "test", "challenge"] | None = None
    #: id of the contrastive partner: the same situation, one phrase away from another label
    pair: str | None = None
    tags: tuple[str, ...] = ()

    @field_validator("lang")
    @classmethod
    def _known_language_code(cls, value: str) -> str:
        if not LANG_CODE.match(value):
            raise ValueError(f"lang must be an ISO 639-1 code or zh-Hans/zh-Hant, got {value!r}")
        return value

    @field_validator("label")
    @classmethod
    def _known_label(cls, value: str) -> str:
        if value not in LABELS:
            raise ValueError(f"label must be one of {list(LABELS)}, got {value!r}")
        return value

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - TAGS)
        if unknown:
            raise ValueError(f"unknown tags {unknown}; allowed: {sorted(TAGS)}")
        return value

    def to_json(self) -> str:
        # rows without a contrastive partner keep the shorter, pair-less form
        return json.dumps(self.model_dump(exclude={"pair"} if self.pair is None else None), ensure_ascii=False)


def _describe(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in err.errors())


def read_rows(path: Path, *, require_split: bool = True) -> Iterator[CorpusRow]:
    """Yield validated rows of one JSONL file.

    Raises:
        DataError: on the first bad line, naming ``path`` and the line number.
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise DataError(f"{path}: cannot open: {err}") from err
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = CorpusRow.model_validate_json(line)
            except ValidationError as err:
                raise DataError(f"{path}:{lineno}: {_describe(err)}") from err
            if require_split and row.split is None:
                raise DataError(f"{path}:{lineno}: split is missing ({' | '.join(SPLITS)})")
            yield row


def corpus_files(path: Path) -> list[Path]:
    """A single JSONL file, or every ``*.jsonl`` under a directory (sorted)."""
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise DataError(f"{path}: no .jsonl files found")
        return files
    if not path.is_file():
        raise DataError(f"{path}: no such file or directory")
    return [path]


def load_corpus(path: Path, *, splits: Iterable[str] | None = None) -> list[CorpusRow]:
    """Load and validate every row under ``path``, optionally keeping only some splits."""
    wanted = set(splits) if splits is not None else None
    rows: list[CorpusRow] = []
    seen: dict[str, Path] = {}
    for file in corpus_files(path):
        for row in read_rows(file):
            if row.id in seen:
                raise DataError(f"{file}: duplicate id {row.id!r} (also in {seen[row.id]})")
            seen[row.id] = file
            if wanted is None or row.split in wanted:
                rows.append(row)
    return rows


def corpus_hash(rows: Iterable[CorpusRow]) -> str:
    """A stable sha256 of the rows' content, recorded in every model's metrics."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r.id):
        digest.update(row.to_json().encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
