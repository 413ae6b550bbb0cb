"""Stratified train/dev/test assignment that never moves a row once it has a split."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence

from ticketguard.training.corpus import CorpusRow

DEFAULT_FRACTIONS = {"train": 0.8, "dev": 0.1, "test": 0.1}


def assign_splits(rows: Sequence[CorpusRow], *, seed: int = 13, fractions: dict[str, float] | None = None) -> list[CorpusRow]:
    """Give every row without a split one, stratified by language x label.

    Rows that already have a split keep it (the test split is frozen once written). New rows of
    each (lang, label) cell are shuffled with ``seed`` and dealt so that every cell's totals,
    old rows included, come as close as possible to ``fractions``.

    Returns:
        The rows in their original order, each with a split.
    """
    fractions = fractions or DEFAULT_FRACTIONS
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        cells[(row.lang, row.label)].append(i)
    rng = random.Random(seed)
    out = list(rows)
    for key in sorted(cells):
        members = cells[key]
        counts = {name: sum(1 for i in members if rows[i].split == name) for name in fractions}
        pending = [i for i in members if rows[i].split is None]
        rng.shuffle(pending)
        total = len(members)
        for i in pending:
            # deal to the split furthest below its target share of the cell
            name = max(fractions, key=lambda s: fractions[s] * total - counts[s])
            counts[name] += 1
            out[i] = rows[i].model_copy(update={"split": name})
    return out


def split_dev(rows: Sequence[CorpusRow], share: float) -> tuple[list[CorpusRow], list[CorpusRow]]:
    """Cut the dev split into (selection, calibration) parts, stratified by language x label.

    Checkpoint selection (early stopping) uses the first part; temperature, flag and review
    thresholds are fitted on the second, so calibration never sees the rows that chose the model.
    The cut is a stable function of the row ids: within each cell rows are ordered by a hash of
    their id, and the cells' rows are then dealt in turn, so each part gets ``share`` of every
    cell (and of the whole split, even when cells hold a single row).
    """
    cells: dict[tuple[str, str], list[CorpusRow]] = defaultdict(list)
    for row in rows:
        cells[(row.lang, row.label)].append(row)
    selection: list[CorpusRow] = []
    calibration: list[CorpusRow] = []
    dealt = 0
    for key in sorted(cells):
        for row in sorted(cells[key], key=lambda r: hashlib.sha256(r.id.encode("utf-8")).hexdigest()):
            # the calibration part grows whenever share x rows dealt crosses the next integer
            if int(share * (dealt + 1)) > int(share * dealt):
                calibration.append(row)
            else:
                selection.append(row)
            dealt += 1
    return selection, calibration
