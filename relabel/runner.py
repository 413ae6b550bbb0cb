"""Drive a file re-labelling run: engine -> output / rejects writers -> checkpoint -> summary.

Both engines yield the same thing (chunks of records with their predictions, in input order), so
committing, resuming and summarising live here once.

Files written next to ``OUTPUT``: ``OUTPUT.rejects.jsonl``, ``OUTPUT.summary.json`` and
``OUTPUT.checkpoint.json`` (kept after a finished run, so running it again is a no-op).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ticketguard.models.errors import InvalidInputError
from ticketguard.models.langdetect import LanguageDetector
from ticketguard.models.prediction import Unclassifiable
from ticketguard.relabel.checkpoint import Checkpoint, fingerprint
from ticketguard.relabel.engine_local import Labelled
from ticketguard.relabel.readers import Format, Position, Source, detect_format
from ticketguard.relabel.summary import Summary
from ticketguard.relabel.writers import RejectsWriter, labelled_row, open_writer

logger = logging.getLogger(__name__)

#: called after each committed chunk with (rows done, input position) for progress bars
Progress = Callable[[int, int], None]


class Engine(Protocol):
    model_version: str

    def run(self, source: Source, start: Position = Position()) -> Iterator[Labelled]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RunPaths:
    """The output and the files that travel with it."""

    output: Path
    rejects: Path
    summary: Path
    checkpoint: Path

    @classmethod
    def for_output(cls, output: Path) -> RunPaths:
        def beside(suffix: str) -> Path:
            return output.with_name(output.name + suffix)

        return cls(output, beside(".rejects.jsonl"), beside(".summary.json"), beside(".checkpoint.json"))

    def remove_all(self) -> None:
        if self.output.is_dir():
            shutil.rmtree(self.output)
        for path in (self.output, self.rejects, self.summary, self.checkpoint):
            path.unlink(missing_ok=True)


def output_format(output: Path, input_fmt: Format) -> Format:
    """The output format from the output's suffix, else the input's format."""
    try:
        return detect_format(output)
    except InvalidInputError:
        return input_fmt


def _start(source: Source, paths: RunPaths, model_version: str, out_fmt: Format, resume: bool) -> Checkpoint:
    fresh = Checkpoint(
        input={"path": str(source.path.resolve()), **fingerprint(source.path)},
        options={"format": source.fmt, "output_format": out_fmt, "text_col": source.columns.text,
                 "id_col": source.columns.id, "label_col": source.columns.label, "lang_col": source.columns.lang},
        model_version=model_version,
    )
    if resume and paths.checkpoint.exists():
        saved = Checkpoint.load(paths.checkpoint)
        saved.check_compatible(fresh, paths.checkpoint)
        logger.info("resuming %s after row %d", paths.output, saved.row)
        return saved
    if resume and paths.output.exists():
        raise InvalidInputError(f"{paths.output} exists but has no checkpoint; pass --no-resume to overwrite it")
    paths.remove_all()
    paths.output.parent.mkdir(parents=True, exist_ok=True)
    fresh.summary = Summary(model_version=model_version).to_dict()
    # the checkpoint exists before any output does, so output is never found without one
    fresh.save(paths.checkpoint)
    return fresh


def relabel_file(source: Source, output: Path, engine: Engine, *, resume: bool = True,
                 progress: Progress | None = None, detector: LanguageDetector | None = None) -> Summary:
    """Re-label every row of ``source`` into ``output``, exactly once, resuming a previous run.

    Args:
        source: input file, format and columns.
        output: output file (JSONL/CSV) or parts directory (Parquet); its suffix picks the format.
        engine: a :class:`~relabel.engine_local.LocalEngine` or :class:`~relabel.engine_ray.RayEngine`.
        resume: continue from ``OUTPUT.checkpoint.json``; ``False`` starts over.
        progress: called after each committed chunk.
        detector: detects the language of rows without one, for the summary (default: a new one).

    Returns:
        The summary of the whole run (resumed parts included); also written to ``OUTPUT.summary.json``.

    Raises:
        InvalidInputError: unreadable input, or a checkpoint from another input, model or options.
    """
    paths = RunPaths.for_output(output)
    out_fmt = output_format(output, source.fmt)
    checkpoint = _start(source, paths, engine.model_version, out_fmt, resume)
    summary = Summary.from_dict(checkpoint.summary)
    summary.model_version = engine.model_version
    detector = detector or LanguageDetector()
    if progress:
        progress(summary.rows, checkpoint.offset)
    if not checkpoint.done:
        writer = open_writer(output, out_fmt, checkpoint.output)
        rejects = RejectsWriter(paths.rejects, checkpoint.rejects)
        try:
            for chunk in engine.run(source, checkpoint.position):
                rows, bad = _shape(chunk, source, engine.model_version, summary, detector)
                checkpoint.output = writer.write(rows)
                checkpoint.rejects = rejects.write(bad)
                last = chunk[-1][0]
                checkpoint.row, checkpoint.offset = last.row, last.end
                checkpoint.summary = summary.to_dict()
                checkpoint.save(paths.checkpoint)
                if progress:
                    progress(summary.rows, checkpoint.offset)
            checkpoint.done = True
            checkpoint.save(paths.checkpoint)
        finally:
            writer.close()
            rejects.close()
    summary.write(paths.summary)
    return summary


def _shape(chunk: Labelled, source: Source, model_version: str, summary: Summary, detector: LanguageDetector
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Output rows and reject lines of one chunk; counts them into ``summary`` (rows without a language
    under their detected one)."""
    columns = source.columns
    rows, bad = [], []
    for record, prediction in chunk:
        data = record.data or {}
        if isinstance(prediction, Unclassifiable):
            reason = record.reason or prediction.reason  # the reader's reason comes first
            bad.append({"row": record.row, "id": data.get(columns.id), "reason": reason})
            summary.reject(reason)
            continue
        lang = data.get(columns.lang) if columns.lang else None
        if lang in (None, "") and isinstance(data.get(columns.text), str):
            detected = detector.detect(data[columns.text])
            lang = detected.lang if detected else None
        summary.add(new=prediction.label, lang=lang, old=data.get(columns.label) if columns.label else None)
        rows.append(labelled_row(data, prediction, model_version))
    return rows, bad
