"""Predictions, feedback and revisions persist in SQLite and in PostgreSQL: written through
the API, read back by a new connection after the app is gone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from askwell.store.db import Store, head_revision
from tests.serving.conftest import client_for
from tests.serving.test_api import BETTER, MESSY


def _round_trip(url: str) -> None:
    client = client_for(url)
    first = client.post("/v1/score", json={**MESSY, "session_id": "s-1"}).json()
    second = client.post("/v1/score", json={**BETTER, "session_id": "s-1"}).json()
    assert first["logged"] and second["logged"]
    feedback = client.post(
        "/v1/feedback",
        json={"request_id": second["request_id"], "helpful": True, "comment": "clear ✓"},
    )
    assert feedback.status_code == 201
    client.app.state.service.store.close()  # type: ignore[attr-defined]

    store = Store.open(url)  # a new connection: what was committed, not what was cached
    store.ping()
    predictions = {p["request_id"]: p for p in store.rows("predictions")}
    assert {first["request_id"], second["request_id"]} <= set(predictions)
    kept = predictions[second["request_id"]]
    assert kept["session_id"] == "s-1" and kept["score"] == pytest.approx(second["score"])
    assert kept["features"]["title_is_question"] == 1.0
    assert kept["created_at"] is not None
    (revision,) = [r for r in store.rows("revisions") if r["session_id"] == "s-1"]
    assert revision["previous_request_id"] == first["request_id"]
    assert "calm-punctuation" in revision["followed"]
    (row,) = [f for f in store.rows("feedback") if f["request_id"] == second["request_id"]]
    assert row["helpful"] is True and row["comment"] == "clear ✓"
    store.close()


def test_sqlite_keeps_everything(sqlite_url: str) -> None:
    _round_trip(sqlite_url)


@pytest.mark.postgres
def test_postgresql_keeps_everything(postgres_url: str) -> None:
    _round_trip(postgres_url)


@pytest.mark.postgres
def test_postgresql_schema_is_migrated_once_and_stays_at_head(postgres_url: str) -> None:
    for _ in range(2):  # a second start must find the schema at head and change nothing
        store = Store.open(postgres_url)
        store.ping()
        store.close()
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert version == head_revision()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    from sqlalchemy import text

    store = Store.open(sqlite_url)
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    store.close()


def _wal_after_writes(folder: Path, background: bool) -> int:
    """The write-ahead log's size after 300 predictions, with or without the background
    checkpoints (started over past 50 frames: under steady writes a passive checkpoint
    alone seldom lets the log start over)."""
    from askwell.store.db import PredictionRecord

    store = Store.open(f"sqlite:///{folder / 'a.db'}")
    if background:
        store.start_checkpoints(every_s=0.01, restart_frames=50)
    features = {f"f{i}": float(i) for i in range(34)}
    for i in range(300):
        store.record_prediction(
            PredictionRecord(f"{i:036d}", None, None, "m", "v", False, 0.5, "b", 1.0, [], features)
        )
        time.sleep(0.001)  # as requests come: the checkpointer gets its turns
    size = (folder / "a.db-wal").stat().st_size
    store.close()
    return size


def test_sqlite_checkpoints_in_the_background_not_in_requests(tmp_path: Path) -> None:
    from sqlalchemy import text

    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as connection:  # no request pays for a checkpoint
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 0
    store.close()
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    # Without checkpoints the log only grows; with them, writers start it over.
    assert _wal_after_writes(tmp_path / "on", True) * 4 < _wal_after_writes(tmp_path / "off", False)
    kept = Store.open(f"sqlite:///{tmp_path / 'on' / 'a.db'}")
    assert len(kept.rows("predictions")) == 300
    assert (tmp_path / "on" / "a.db-wal").stat().st_size == 0  # closed: the log truncated
