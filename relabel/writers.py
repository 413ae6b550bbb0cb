"""Crash-safe output, committed chunk by chunk.

Two shapes, both exactly-once together with the checkpoint (:mod:`relabel.checkpoint`):

* **JSONL / CSV: one append-only file.** Each chunk is appended, flushed and fsynced; only then
  does the checkpoint record the new committed byte size. A run killed between the two leaves
  bytes past the committed size, which :class:`AppendWriter` truncates away on resume, so the
  chunk is written again exactly once.
* **Parquet: a directory of parts** (``part-000000.parquet``, ...; readable as one dataset by
  pyarrow, pandas, Spark or Ray). A part is written to a hidden temporary file, fsynced and
  renamed into place, then the checkpoint records the part count. Part names follow the chunk
  number, so a part renamed but not yet checkpointed is simply overwritten on resume.

State handed back by ``write`` is a small JSON-able dict stored in the checkpoint.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from ticketguard.models.prediction import Prediction
from ticketguard.relabel.readers import Format

#: columns every output row gains; an input column of the same name is kept as ``previous_<name>``
NEW_COLUMNS = ("label", "scores", "flags", "model_version")


def labelled_row(data: dict[str, Any], prediction: Prediction, model_version: str) -> dict[str, Any]:
    """The input row with the new prediction appended.

    Example:
        >>> p = Prediction("neutral", {"neutral": 1.0}, [])
        >>> labelled_row({"id": 7, "label": "abuse"}, p, "v2")["previous_label"]
        'abuse'
    """
    row = {(f"previous_{k}" if k in NEW_COLUMNS else k): v for k, v in data.items()}
    row.update(label=prediction.label, scores=dict(prediction.scores), flags=list(prediction.flags),
               model_version=model_version)
    return row


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` so a reader only ever sees the old or the new content."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class Writer(Protocol):
    def write(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Durably commit ``rows`` after those already written; return the state to checkpoint."""

    def close(self) -> None: ...


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=False)
    return "" if value is None else value


class AppendWriter:
    """JSONL or CSV rows appended to one file; ``state={"bytes": n, ...}`` resumes after n bytes."""

    def __init__(self, path: Path, fmt: Format, state: dict[str, Any] | None = None) -> None:
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"AppendWriter writes jsonl or csv, not {fmt!r}")
        self.path, self.fmt = path, fmt
        state = state or {}
        self.size: int = int(state.get("bytes", 0))
        self.fieldnames: list[str] | None = state.get("fieldnames")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("r+b" if path.exists() else "w+b")
        # drop whatever a killed run appended after its last checkpoint
        self._handle.truncate(self.size)
        self._handle.seek(self.size)

    def _encode(self, rows: Sequence[dict[str, Any]]) -> bytes:
        if self.fmt == "jsonl":
            return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode("utf-8")
        buffer = io.StringIO()
        header = self.fieldnames is None
        if self.fieldnames is None:
            self.fieldnames = list(rows[0]) if rows else []
        writer = csv.DictWriter(buffer, self.fieldnames, extrasaction="ignore", lineterminator="\n")
        if header:
            writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        return buffer.getvalue().encode("utf-8")

    def write(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if rows:
            payload = self._encode(rows)
            self._handle.write(payload)
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self.size += len(payload)
        state: dict[str, Any] = {"bytes": self.size}
        if self.fieldnames is not None:
            state["fieldnames"] = self.fieldnames
        return state

    def close(self) -> None:
        self._handle.close()


def _scores_type() -> pa.DataType:
    from ticketguard.models.labels import LABELS

    return pa.struct([(name, pa.float64()) for name in LABELS])


class PartsWriter:
    """Parquet parts in a directory; ``state={"parts": n}`` resumes with part n."""

    def __init__(self, directory: Path, state: dict[str, Any] | None = None) -> None:
        self.directory = directory
        self.parts: int = int((state or {}).get("parts", 0))
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.iterdir():  # temp files and parts a killed run never checkpointed
            if stale.name.startswith(".part-") or (stale.name.startswith("part-") and self._index(stale) >= self.parts):
                stale.unlink()
        first = directory / self._name(0)
        self.schema: pa.Schema | None = pq.read_schema(first) if self.parts and first.exists() else None

    @staticmethod
    def _name(index: int) -> str:
        return f"part-{index:06d}.parquet"

    @staticmethod
    def _index(path: Path) -> int:
        try:
            return int(path.name.split("-")[1].split(".")[0])
        except (IndexError, ValueError):
            return -1

    def _table(self, rows: Sequence[dict[str, Any]]) -> pa.Table:
        if self.schema is not None:
            return pa.Table.from_pylist(list(rows), schema=self.schema)
        table = pa.Table.from_pylist(list(rows))
        # fix types a first chunk cannot tell (all-null columns) so later parts share one schema
        fields = []
        fixed = {"label": pa.string(), "scores": _scores_type(), "flags": pa.list_(pa.string()),
                 "model_version": pa.string()}
        for field in table.schema:
            if field.name in fixed:
                field = field.with_type(fixed[field.name])
            elif pa.types.is_null(field.type):
                field = field.with_type(pa.string())
            fields.append(field.with_nullable(True))
        self.schema = pa.schema(fields)
        return table.cast(self.schema)

    def write(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if rows:
            final = self.directory / self._name(self.parts)
            tmp = self.directory / f".{final.name}.tmp"
            pq.write_table(self._table(rows), tmp)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            fsync_dir(self.directory)
            self.parts += 1
        return {"parts": self.parts}

    def close(self) -> None:
        pass


def open_writer(path: Path, fmt: Format, state: dict[str, Any] | None = None) -> Writer:
    """The writer for ``fmt`` at ``path``, resuming from a checkpointed ``state``."""
    if fmt == "parquet":
        return PartsWriter(path, state)
    return AppendWriter(path, fmt, state)


class RejectsWriter:
    """``{"row", "id", "reason"}`` lines in a JSONL file, committed like the output."""

    def __init__(self, path: Path, state: dict[str, Any] | None = None) -> None:
        self._writer = AppendWriter(path, "jsonl", state)

    def write(self, rejects: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return self._writer.write(rejects)

    def close(self) -> None:
        self._writer.close()
