"""The store: an engine for the configured URL, migrations, and the few writes and reads the
service makes.

SQLite (the default) runs in WAL mode with a busy timeout, so two server processes can write
while readers read; PostgreSQL is used as it is. Every failure to reach or write the database
is raised as ``StoreError``: the service decides what a person is told.

A write returns only once it is committed to the files that the next start will open: for
SQLite, the store checks its files (``sqlite_files``) before it uses a connection and after
each commit, and ``ping`` fails when they are gone, replaced, shrunk or not writable.

The limit: SQLite maps the log's index (``-shm``) into memory, and reading it after someone
shrank it kills the process with SIGBUS. The checks catch a shrunk index before the store
uses a connection, so requests fail with a StoreError that names it and ``ping`` says so; a
shrink between the check and the read is not caught, and SQLite still reads the index when
the last connection closes (``close``, at shutdown), so such a process dies then: ``close``
logs why first.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from askwell.store.errors import StoreError as StoreError
from askwell.store.sqlite_files import SqliteFiles
from askwell.store.tables import (
    feedback,
    monitor_runs,
    predictions,
    review_items,
    review_labels,
    revisions,
)

MIGRATIONS = Path(__file__).with_name("migrations")
SHADOW = "shadow"  # the arm of predictions scored off the request path and never shown
CHECKPOINT_S = 10.0
# Under steady writes a passive checkpoint rarely finds the log idle, and only then can the
# next writer start it over: past this many frames (64 MB of 4 kB pages) the checkpointer
# makes sure it is, waiting for the writer (one request waits for one checkpoint).
RESTART_FRAMES = 16_384
log = logging.getLogger("askwell.store")
# The files each SQLite engine checks (``make_engine`` records them; a file-less one has none).
_FILES: weakref.WeakKeyDictionary[Engine, SqliteFiles] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class PredictionRecord:
    request_id: str
    session_id: str | None
    site: str | None
    model_name: str
    model_version: str
    degraded: bool
    score: float
    band: str
    latency_ms: float
    suggestions: Sequence[str]
    features: Mapping[str, float]
    arm: str = "champion"  # champion or challenger: what the person saw; shadow: never shown
    registry_version: int | None = None  # the registry's version of the model; None: not one
    closing_risk: float | None = None  # None: no closing model
    verdict: str | None = None
    closing_version: str | None = None
    shadow_of: str | None = None  # a shadow prediction: the request it scored again


@dataclass(frozen=True)
class Previous:
    """The last prediction of an editing session."""

    request_id: str
    score: float
    suggestions: list[str]


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file, the folder is created, WAL turned on and the
    files checked whenever a connection opens them (``SqliteFiles``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    name = parsed.database or ""
    path = None
    if name and name != ":memory:" and not name.startswith("file:") and "uri" not in parsed.query:
        # Resolved once: SQLite keeps the log and its index beside the file a link names,
        # and the checks must look at the files SQLite opens.
        path = Path(name).resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {path}: {exc}") from None
        parsed = parsed.set(database=str(path))
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
    event.listen(engine, "connect", _sqlite_pragmas)
    if path is not None:
        files = SqliteFiles(path)
        event.listen(engine, "do_connect", files.before_connect)  # before SQLite opens them
        event.listen(engine, "connect", files.connected)  # after the pragmas: WAL is on
        event.listen(engine, "close", files.closed)
        event.listen(engine, "close_detached", files.closed)
        _FILES[engine] = files
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # writers do not block readers
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, a fsync per checkpoint
    cursor.execute("PRAGMA busy_timeout=10000")  # two workers: wait for the lock, don't fail
    # No checkpoint inside a request's commit: copying the log back into the database (and
    # its fsync) stalled whichever request crossed 1,000 pages by tens of milliseconds.
    # ``Store.start_checkpoints`` does it in the background instead.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA journal_size_limit={RESTART_FRAMES * 4096}")  # after a restart
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> str:
    """Brings the schema to the newest revision; returns it."""
    files = _FILES.get(engine)
    try:
        with engine.begin() as connection:
            if files is not None:
                files.verify()  # a pooled connection: its files must not have changed
            command.upgrade(_alembic_config(connection), "head")
            return str(MigrationContext.configure(connection).get_current_revision())
    except (SQLAlchemyError, StoreError) as exc:
        raise StoreError(f"cannot migrate the database: {_one_line(exc)}") from None


def head_revision() -> str:
    """The newest schema revision this code knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


# Built once: a statement built per call (``insert(t).values(...)``) cost more than the
# write itself, on the event loop of every request.
_INSERT_PREDICTION = insert(predictions)
_INSERT_REVISION = insert(revisions)


class Store:
    """The service's reads and writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._files = _FILES.get(engine)
        self._checkpointer: tuple[threading.Event, threading.Thread] | None = None

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> Store:
        store = cls(make_engine(url))
        if migrate_schema:
            migrate(store.engine)
        return store

    @contextmanager
    def _connected(self, what: str) -> Iterator[Connection]:
        """A pooled connection whose files are the ones at the database's paths (checked
        before any statement: reading a shrunk index would kill the process); any failure is
        a StoreError that says what could not be done."""
        try:
            with self.engine.connect() as connection:
                if self._files is not None:
                    self._files.verify()
                yield connection
        except (SQLAlchemyError, StoreError) as exc:
            raise StoreError(f"cannot {what}: {_one_line(exc)}") from None

    @contextmanager
    def _writing(self, what: str) -> Iterator[Connection]:
        """A transaction that returns only once committed where the next start will read it:
        SQLite goes on committing to a database or log deleted or replaced under it."""
        with self._connected(what) as connection:
            with connection.begin():
                yield connection
            if self._files is not None:
                self._files.verify()

    def ping(self) -> None:
        """Raises StoreError unless the database answers, takes writes where the next start
        will read them, and has the newest schema. For SQLite: its files are the ones open and
        a new connection could write them, and this one can take the write lock."""
        if self._files is not None:
            self._files.check()
        with self._connected("use the database") as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
            if self._files is not None:
                # Reading proves nothing about writing (a log opened read-only still reads);
                # taking the write lock needs the log and its index writable.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                connection.rollback()
        if current != head_revision():
            raise StoreError(f"database schema is at {current}, not {head_revision()}")

    def record_prediction(self, record: PredictionRecord) -> None:
        with self._writing("log the prediction") as connection:
            connection.execute(
                _INSERT_PREDICTION,
                {
                    "request_id": record.request_id,
                    "created_at": _now(),
                    "session_id": record.session_id,
                    "site": record.site,
                    "model_name": record.model_name,
                    "model_version": record.model_version,
                    "degraded": record.degraded,
                    "score": record.score,
                    "band": record.band,
                    "latency_ms": record.latency_ms,
                    "suggestions": list(record.suggestions),
                    "features": dict(record.features),
                    "arm": record.arm,
                    "registry_version": record.registry_version,
                    "closing_risk": record.closing_risk,
                    "verdict": record.verdict,
                    "closing_version": record.closing_version,
                    "shadow_of": record.shadow_of,
                },
            )

    def previous_in_session(self, session_id: str) -> Previous | None:
        """The session's latest prediction, or None for a new session."""
        query = (
            select(predictions.c.request_id, predictions.c.score, predictions.c.suggestions)
            .where(predictions.c.session_id == session_id, predictions.c.arm != SHADOW)
            .order_by(predictions.c.id.desc())
            .limit(1)
        )
        with self._connected("read the session") as connection:
            row = connection.execute(query).first()
        return None if row is None else Previous(row[0], float(row[1]), list(row[2]))

    def record_revision(
        self,
        session_id: str,
        request_id: str,
        previous: Previous,
        score_after: float,
        followed: Sequence[str],
    ) -> None:
        with self._writing("log the revision") as connection:
            connection.execute(
                _INSERT_REVISION,
                {
                    "session_id": session_id,
                    "request_id": request_id,
                    "previous_request_id": previous.request_id,
                    "score_before": previous.score,
                    "score_after": score_after,
                    "followed": list(followed),
                    "created_at": _now(),
                },
            )

    def has_prediction(self, request_id: str) -> bool:
        query = select(func.count()).where(predictions.c.request_id == request_id)
        with self._connected("look up the request") as connection:
            return bool(connection.execute(query).scalar_one())

    def shown_suggestions(self, request_id: str) -> list[str] | None:
        """The ids of the suggestions that the score ``request_id`` showed, best first; None
        when no such score was logged."""
        query = (
            select(predictions.c.suggestions)
            .where(predictions.c.request_id == request_id, predictions.c.arm != SHADOW)
            .limit(1)
        )
        with self._connected("look up the request") as connection:
            row = connection.execute(query).first()
        return None if row is None else [str(s) for s in row[0]]

    def record_feedback(
        self,
        request_id: str,
        suggestion_id: str | None,
        helpful: bool,
        comment: str | None,
        ignored: bool = False,
    ) -> int:
        """Stores one feedback; its id. ``ignored``: "ignore this once" on a suggestion (stored
        as not helpful)."""
        with self._writing("store the feedback") as connection:
            result = connection.execute(
                insert(feedback)
                .values(
                    request_id=request_id,
                    suggestion_id=suggestion_id,
                    helpful=helpful and not ignored,
                    comment=comment,
                    ignored=ignored,
                    created_at=_now(),
                )
                .returning(feedback.c.id)
            )
            return int(result.scalar_one())

    def record_monitor_run(self, run_at: datetime, windows: Sequence[Mapping[str, Any]]) -> None:
        """Stores the windows of one monitoring run, in one transaction."""
        rows = [
            {
                "run_at": run_at,
                "window_start": datetime.fromisoformat(w["start"]),
                "window_end": datetime.fromisoformat(w["end"]),
                "n": int(w["n"]),
                "alerts": len(w["alerts"]),
                "result": dict(w),
            }
            for w in windows
        ]
        if not rows:
            return
        with self._writing("store the monitoring results") as connection:
            connection.execute(insert(monitor_runs), rows)

    def latest_monitor_run(self) -> list[dict[str, Any]]:
        """The windows of the latest monitoring run, oldest first ([] before the first)."""
        latest = select(func.max(monitor_runs.c.run_at)).scalar_subquery()
        query = (
            select(monitor_runs.c.result)
            .where(monitor_runs.c.run_at == latest)
            .order_by(monitor_runs.c.window_start)
        )
        with self._connected("read the monitoring results") as connection:
            return [dict(r[0]) for r in connection.execute(query)]

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table``, oldest first (for tests, reports and exports)."""
        tables = {
            "predictions": predictions,
            "feedback": feedback,
            "revisions": revisions,
            "monitor_runs": monitor_runs,
            "review_items": review_items,
            "review_labels": review_labels,
        }
        chosen = tables[table]
        with self._connected(f"read the {table}") as connection:
            result = connection.execute(select(chosen).order_by(chosen.c.id))
            return [dict(r._mapping) for r in result]

    def start_checkpoints(
        self, every_s: float = CHECKPOINT_S, restart_frames: int = RESTART_FRAMES
    ) -> None:
        """For SQLite: copy the write-ahead log back into the database every ``every_s``
        seconds in a thread of its own (a passive checkpoint waits for no one), so the log
        stays small without a request paying for it; past ``restart_frames`` frames, a
        checkpoint that waits for the writer so that the log starts over. Nothing to do for
        PostgreSQL."""
        if self.engine.dialect.name != "sqlite" or self._checkpointer is not None:
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every_s):
                if self._checkpoint("PASSIVE") > restart_frames:
                    self._checkpoint("RESTART")

        self._checkpointer = (
            stop,
            threading.Thread(target=run, name="wal-checkpoint", daemon=True),
        )
        self._checkpointer[1].start()

    def _checkpoint(self, mode: str) -> int:
        """The log's length in frames before this checkpoint (0 if it failed)."""
        try:
            with self._connected("checkpoint the log") as connection:
                row = connection.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        except StoreError as exc:
            log.warning("WAL checkpoint failed: %s", exc)
            return 0
        return int(row[1])

    def close(self) -> None:
        if self._checkpointer is not None:
            stop, thread = self._checkpointer
            stop.set()
            thread.join(timeout=5)
            self._checkpointer = None
            self._checkpoint("TRUNCATE")  # leave the database file whole
        if self._files is not None:
            try:
                self._files.verify()
            except StoreError as exc:  # e.g. a shrunk index: SQLite may crash as it closes
                log.error("closing the store: %s", exc)
        self.engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def _one_line(exc: BaseException) -> str:
    """The driver's message, first line: SQLAlchemy appends SQL and a link to its docs."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
