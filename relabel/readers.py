"""Stream JSONL, CSV or Parquet archives as validated records, resumable from a saved position.

Every reader yields :class:`Record`s in file order. A record carries all of its columns (so the
writer can keep them), its 1-based row number, the reason it is rejected (or ``None``) and
``end``: the position just *after* it, which a checkpoint stores so a later run starts there
without re-reading the committed prefix. Positions are byte offsets for JSONL and CSV and row
indices for Parquet.

Row numbers are the line number for JSONL (blank lines are skipped but counted), the record
number after the header for CSV, and the row index + 1 for Parquet.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from ticketguard.models.errors import InvalidInputError
from ticketguard.models.text import EMPTY_TEXT

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
_SUFFIXES: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
                                ".parquet": "parquet", ".pq": "parquet"}

# reasons written to the rejects file (the classifier adds its own, e.g. EMPTY_TEXT)
UNDECODABLE = "undecodable bytes"
INVALID_JSON = "invalid JSON"
NOT_AN_OBJECT = "not a JSON object"
TOO_MANY_FIELDS = "more fields than the header"


def missing_column(name: str) -> str:
    return f"missing column {name!r}"


def not_a_string(name: str, value: Any) -> str:
    return f"column {name!r} is {type(value).__name__}, expected a string"


@dataclass(frozen=True)
class Columns:
    """Which input columns hold the message text, its id, its previous label and its language."""

    text: str = "text"
    id: str = "id"
    label: str | None = "label"
    lang: str | None = "lang"


@dataclass(frozen=True)
class Position:
    """Where to (re)start reading: rows consumed so far and the matching byte offset / row index."""

    row: int = 0
    offset: int = 0


@dataclass(frozen=True)
class Record:
    """One input row: ``data`` holds every column; ``reason`` is set when the row is rejected."""

    row: int
    end: int
    data: dict[str, Any] | None
    reason: str | None = None

    def text(self, columns: Columns) -> object:
        """The message text of an accepted record (the classifier judges it); ``None`` for a rejected one."""
        if self.data is None or self.reason is not None:
            return None
        return self.data[columns.text]


def detect_format(path: Path, fmt: str | None = None) -> Format:
    """The format named by ``fmt``, else guessed from the file suffix.

    Raises:
        InvalidInputError: unknown format or suffix.
    """
    if fmt:
        if fmt not in FORMATS:
            raise InvalidInputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        return fmt
    guessed = _SUFFIXES.get(path.suffix.lower())
    if guessed is None:
        raise InvalidInputError(f"cannot tell the format of {path} from its suffix; pass --format")
    return guessed


def validate(data: dict[str, Any], columns: Columns) -> str | None:
    """The reason a decoded row is unusable (missing columns, undecodable text), or ``None``.

    Whether the text itself can be classified is the classifier's decision, made per item.

    Example:
        >>> validate({"id": 1, "text": None}, Columns())
        'empty text'
    """
    for name in (columns.text, columns.id):
        if name not in data:
            return missing_column(name)
    value = data[columns.id]
    if value is None or value == "":
        return missing_column(columns.id)
    text = data[columns.text]
    if text is None:  # a null cell is an empty message
        return EMPTY_TEXT
    if isinstance(text, bytes):
        try:
            text = data[columns.text] = text.decode("utf-8")
        except UnicodeDecodeError:
            return UNDECODABLE
    if not isinstance(text, str):
        return not_a_string(columns.text, text)
    if _has_surrogates(text):
        return UNDECODABLE
    return None


def _has_surrogates(text: str) -> bool:
    # surrogateescape smuggles undecodable bytes in as lone surrogates U+DC80..U+DCFF
    return any("\udc80" <= ch <= "\udcff" for ch in text)


@dataclass(frozen=True)
class Source:
    """An input file, its format and columns, and how many rows make one committed chunk."""

    path: Path
    fmt: Format
    columns: Columns = Columns()
    chunk_rows: int = 2048

    def records(self, start: Position = Position()) -> Iterator[Record]:
        return read_records(self.path, self.fmt, self.columns, start)

    def chunks(self, start: Position = Position()) -> Iterator[list[Record]]:
        """Chunks of ``chunk_rows`` records; Parquet chunks never cross a row group, so a Ray read
        task per row group cuts exactly the same chunks (and batches) as a local run."""
        if self.fmt != "parquet":
            yield from chunked(self.records(start), self.chunk_rows)
            return
        for plan in parquet_row_groups(self.path, start.row):
            yield from self.row_group_chunks(plan)

    def row_group_chunks(self, plan: tuple[int, int, int]) -> Iterator[list[Record]]:
        return chunked(read_parquet(self.path, self.columns, row_groups=[plan]), self.chunk_rows)


def read_records(path: Path, fmt: Format, columns: Columns, start: Position = Position()) -> Iterator[Record]:
    """Records of ``path`` from ``start`` on, in file order.

    Raises:
        InvalidInputError: the file is missing, or a CSV header / Parquet schema lacks the text or
            id column (a file-level problem, not a bad row).
    """
    if not path.is_file():
        raise InvalidInputError(f"input file {path} does not exist")
    if fmt == "jsonl":
        return _read_jsonl(path, columns, start)
    if fmt == "csv":
        return _read_csv(path, columns, start)
    return read_parquet(path, columns, start)


def input_size(path: Path, fmt: Format) -> int:
    """Total of the position unit: bytes for JSONL/CSV, rows for Parquet (drives the progress bar)."""
    if fmt == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    return path.stat().st_size


def _read_jsonl(path: Path, columns: Columns, start: Position) -> Iterator[Record]:
    with path.open("rb") as handle:
        handle.seek(start.offset)
        offset, row = start.offset, start.row
        for raw in handle:
            offset += len(raw)
            row += 1
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Record(row, offset, None, UNDECODABLE)
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                yield Record(row, offset, None, INVALID_JSON)
                continue
            if not isinstance(data, dict):
                yield Record(row, offset, None, NOT_AN_OBJECT)
                continue
            yield Record(row, offset, data, validate(data, columns))


class _TrackedLines:
    """Binary lines decoded with ``surrogateescape``, remembering the byte offset consumed so far.

    ``csv.reader`` pulls physical lines lazily, so once it returns a record ``offset`` is exactly
    the end of that record (quoted fields spanning lines included).
    """

    def __init__(self, handle: Any, offset: int) -> None:
        self.handle = handle
        self.offset = offset
        self._decode = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        raw = self.handle.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        return self._decode(raw)


def _read_csv(path: Path, columns: Columns, start: Position) -> Iterator[Record]:
    with path.open("rb") as handle:
        lines = _TrackedLines(handle, 0)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            return
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        for name in (columns.text, columns.id):
            if name not in header:
                raise InvalidInputError(f"{path}: the header has no {name!r} column (columns: {', '.join(header)})")
        if start.offset > lines.offset:
            handle.seek(start.offset)
            lines.offset = start.offset
        row = start.row
        for fields in reader:
            row += 1
            if not fields:
                continue
            if len(fields) > len(header):
                yield Record(row, lines.offset, None, TOO_MANY_FIELDS)
                continue
            data: dict[str, Any] = dict(zip(header, fields, strict=False))
            if any(_has_surrogates(v) for v in fields):
                yield Record(row, lines.offset, None, UNDECODABLE)
                continue
            yield Record(row, lines.offset, data, validate(data, columns))


def parquet_row_groups(path: Path, start_row: int = 0) -> list[tuple[int, int, int]]:
    """``(row_group, first_row, skip)`` for every row group holding rows at or after ``start_row``."""
    metadata = pq.ParquetFile(path).metadata
    plan, first = [], 0
    for index in range(metadata.num_row_groups):
        count = metadata.row_group(index).num_rows
        if first + count > start_row:
            plan.append((index, first, max(0, start_row - first)))
        first += count
    return plan


def read_parquet(path: Path, columns: Columns, start: Position = Position(), *,
                 row_groups: Iterable[tuple[int, int, int]] | None = None, batch_rows: int = 4096
                 ) -> Iterator[Record]:
    """Parquet records from ``start.row`` on (or only from the given row groups, for Ray read tasks)."""
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    for name in (columns.text, columns.id):
        if name not in names:
            raise InvalidInputError(f"{path}: no {name!r} column (columns: {', '.join(names)})")
    for group, first, skip in (row_groups if row_groups is not None else parquet_row_groups(path, start.row)):
        row, begin = first, first + skip
        for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group], use_pandas_metadata=False):
            if row + batch.num_rows <= begin:  # wholly committed already: skip without decoding
                row += batch.num_rows
                continue
            cut = max(0, begin - row)
            row += cut
            for data in _batch_rows(batch.slice(cut)):
                row += 1
                yield Record(row, row, data, validate(data, columns))


def _batch_rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    return batch.to_pylist()


def chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of ``size`` records (the last may be shorter)."""
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
