"""``--db``: messages re-labelled in place, previous labels kept in label_history, idempotent on re-runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from tests.relabel.conftest import corpus_rows
from tests.tolerances import SCORE_ATOL
from ticketguard.relabel.db import relabel_database
from ticketguard.relabel.engine_local import LocalEngine
from ticketguard.service.db import make_engine, upgrade_database
from ticketguard.service.orm import LabelHistory, Message

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tg.db'}"
        engine = make_engine(url)
        upgrade_database(engine)
        yield engine
        engine.dispose()
        return
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema = f"tg_relabel_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def _seed(engine: Engine, n: int) -> None:
    rows = corpus_rows(n)
    now = datetime.now(UTC)
    values = [{"source": "generic", "external_id": f"ext-{r['id']}", "text": r["text"], "text_chars": len(r["text"]),
               "lang": r["lang"], "label": r["label"], "scores": {r["label"]: 1.0}, "flags": [],
               "model_version": "old-model", "received_at": now} for r in rows]
    values[5]["text"] = None  # stored with store_text off: cannot be re-labelled
    with engine.begin() as connection:
        connection.execute(insert(Message.__table__), values)


def test_relabel_database_updates_labels_and_keeps_history(database: Engine, engine: LocalEngine) -> None:
    _seed(database, 45)
    rejects: list[dict] = []
    summary = relabel_database(database, engine, chunk_rows=10, rejects=rejects.extend)

    with database.connect() as connection:
        messages = connection.execute(select(Message.__table__).order_by(Message.__table__.c.id)).mappings().all()
        history = connection.execute(select(LabelHistory.__table__)
                                     .order_by(LabelHistory.__table__.c.message_id)).mappings().all()
    texts = [m["text"] for m in messages if m["text"] is not None]
    predictions = [p for _, ps in engine.classify([(None, texts)]) for p in ps]
    relabelled = [m for m in messages if m["text"] is not None]
    assert [m["label"] for m in relabelled] == [p.label for p in predictions]
    for message, prediction in zip(relabelled, predictions, strict=False):
        assert message["scores"] == pytest.approx(prediction.scores, abs=SCORE_ATOL)
    assert {m["model_version"] for m in relabelled} == {"tiny-test-0"}
    untouched = [m for m in messages if m["text"] is None]
    assert [(m["id"], m["label"], m["model_version"]) for m in untouched] == [(6, corpus_rows(6)[5]["label"],
                                                                               "old-model")]
    assert rejects == [{"row": 6, "id": 6, "reason": "no stored text"}]

    originals = {r["id"] + 1: r["label"] for r in corpus_rows(45)}
    assert len(history) == 44
    assert all(h["label"] == originals[h["message_id"]] and h["model_version"] == "old-model"
               and h["new_model_version"] == "tiny-test-0" and h["scores"] == {h["label"]: 1.0} for h in history)
    assert [h["new_label"] for h in history] == [m["label"] for m in relabelled]
    assert summary.to_dict()["label_shift"] == {
        old: {new: n for new, n in sorted(row.items())}
        for old, row in sorted(_shift(history).items())}
    assert (summary.labelled, summary.rejected) == (44, 1)

    # a second run (e.g. after a crash) finds nothing left to do and writes no second history row
    again = relabel_database(database, engine, chunk_rows=10)
    with database.connect() as connection:
        count = len(connection.execute(select(LabelHistory.__table__.c.id)).all())
    assert (again.labelled, count) == (0, 44)


def test_interrupted_database_run_resumes_without_duplicates(database: Engine, engine: LocalEngine) -> None:
    _seed(database, 30)

    class Stop(Exception):
        pass

    calls = []

    def stop_after_two_chunks(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise Stop

    with pytest.raises(Stop):
        relabel_database(database, engine, chunk_rows=8, progress=stop_after_two_chunks)
    with database.connect() as connection:
        assert len(connection.execute(select(LabelHistory.__table__.c.id)).all()) == 15  # 2 pages of 8, one without text
    resumed = relabel_database(database, engine, chunk_rows=8)
    with database.connect() as connection:
        ids = [row.message_id for row in connection.execute(select(LabelHistory.__table__.c.message_id))]
        versions = {row.model_version for row in connection.execute(select(Message.__table__.c.model_version))}
    assert resumed.labelled == 29 - 15
    assert sorted(ids) == [i for i in range(1, 31) if i != 6]
    assert versions == {"tiny-test-0", "old-model"}  # only the text-less message keeps the old model


def _shift(history: list) -> dict[str, dict[str, int]]:  # type: ignore[type-arg]
    out: dict[str, dict[str, int]] = {}
    for h in history:
        out.setdefault(h["label"], {}).setdefault(h["new_label"], 0)
        out[h["label"]][h["new_label"]] += 1
    return out
