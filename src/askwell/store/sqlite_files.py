"""The files of a SQLite database in WAL mode, and the checks that keep the store honest about
them.

SQLite keeps a database in three files: the database, its write-ahead log (``-wal``, where a
commit lands first) and the log's index (``-shm``, which every connection maps into memory).
Deleted, replaced or truncated under a running process, they do not stop SQLite: commits land
in a file that no start will open again, and reading a shrunk index kills the process with
SIGBUS. File modes count only when a file is opened: a log made read-only still takes the
writes of the connections that opened it before. So the store checks the paths before it
opens or uses a connection and after each commit, and ``Store.ping`` checks them as a new
connection would find them.

While any connection has the database open, SQLite never deletes, replaces or shrinks these
files itself (it deletes the log and the index when the last connection closes, and a
checkpoint truncates the log, not the index): a change seen then was made by someone else.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from askwell.store.errors import StoreError

FileId = tuple[int, int]  # (st_dev, st_ino): the file, whatever its name


class SqliteFiles:
    """The files of one database and what the connections of one engine have open.

    The database file is pinned by the first connection for the engine's life: a database
    replaced or deleted under a running server is not ready until a restart says which one it
    serves. The log and the index are known while connections are open (SQLite starts them
    afresh after the last one closes)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.wal = database.with_name(f"{database.name}-wal")
        self.shm = database.with_name(f"{database.name}-shm")
        self._lock = threading.Lock()
        self._database: FileId | None = None
        self._open = 0
        self._wal: FileId | None = None
        self._shm: FileId | None = None
        self._shm_size = 0  # at least what SQLite has mapped of the index

    # -- the engine's events

    def before_connect(self, *_: object) -> None:
        """Before SQLite opens the files for a new connection (which maps the index that the
        open connections share): the same checks as ``check``."""
        self.check()

    def connected(self, *_: object) -> None:
        """A new connection has opened the database: count it, pin the database file if it is
        the first, and learn the log and the index if they are new."""
        with self._lock:
            found = _stat(self.database)
            if self._database is None and found is not None:
                self._database = _id(found)
            self._open += 1
            self._learn(_stat(self.wal), _stat(self.shm))

    def closed(self, *_: object) -> None:
        with self._lock:
            self._open -= 1
            if self._open <= 0:  # SQLite deletes or starts over the log and the index now
                self._open, self._wal, self._shm, self._shm_size = 0, None, None, 0

    # -- the checks

    def check(self) -> None:
        """Raises StoreError unless the files are the ones in use (``verify``) and a new
        connection could read and write them (``check_usable``)."""
        self.verify()
        self.check_usable()

    def verify(self) -> None:
        """Raises StoreError unless the files at the paths are the ones this engine's
        connections have open, and the index has not shrunk under them. Cheap (three
        ``stat`` calls): done before each use of a connection and after each commit."""
        with self._lock:
            if self._database is None:
                return
            found = _stat(self.database)
            if found is None:
                folder = self.database.parent
                why = "its folder was deleted" if not folder.exists() else "deleted or moved"
                raise StoreError(
                    f"the database file {self.database} is gone ({why} while the server "
                    "ran): what is written now would be lost with this process; restore it "
                    "or restart the server"
                )
            if _id(found) != self._database:
                raise StoreError(
                    f"the database file {self.database} was replaced while the server ran: "
                    "its connections still write to the old one; restart the server"
                )
            if self._open == 0:
                return
            wal, shm = _stat(self.wal), _stat(self.shm)
            if self._wal is not None and _id(wal) != self._wal:
                raise StoreError(
                    f"the write-ahead log {self.wal} was deleted or replaced while the database "
                    "was open: commits would land in a log that no start will read; restart "
                    "the server"
                )
            if self._shm is not None and _id(shm) != self._shm:
                raise StoreError(
                    f"the WAL index {self.shm} was deleted or replaced while the database was "
                    "open: processes would no longer see each other's commits; restart the "
                    "server"
                )
            if shm is not None and shm.st_size < self._shm_size:
                raise StoreError(
                    f"the WAL index {self.shm} shrank from {self._shm_size} to "
                    f"{shm.st_size} bytes while the database was open: SQLite would crash "
                    "the process (SIGBUS) reading it; restart the server"
                )
            self._learn(wal, shm)

    def check_usable(self) -> None:
        """Raises StoreError unless SQLite could open the files for reading and writing: each
        of them that exists is a regular file this process may read and write, and the folder
        takes the ones that do not exist yet."""
        missing = False
        for path in (self.database, self.wal, self.shm):
            found = _stat(path)
            if found is None:
                missing = True
            elif not stat.S_ISREG(found.st_mode):
                raise StoreError(f"{path} is not a regular file: SQLite cannot use it")
            elif not _may(path, os.R_OK | os.W_OK):
                raise StoreError(
                    f"{path} is not readable and writable by this process (user "
                    f"{os.geteuid()}): SQLite could not write to the database; give the file "
                    "back to that user or make it writable"
                )
        folder = self.database.parent
        if missing and not _may(folder, os.W_OK | os.X_OK):
            raise StoreError(
                f"the folder {folder} is gone or not writable by this process (user "
                f"{os.geteuid()}): SQLite cannot create the database's files there"
            )

    def _learn(self, wal: os.stat_result | None, shm: os.stat_result | None) -> None:
        """Takes the log and the index as the ones open when they were not known yet (a new
        database has none until its first write); keeps the index's largest size."""
        if self._wal is None and wal is not None:
            self._wal = _id(wal)
        if self._shm is None and shm is not None:
            self._shm = _id(shm)
        if shm is not None:
            self._shm_size = max(self._shm_size, shm.st_size)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(str(path))  # noqa: PTH116 (Path.stat costs twice as much, every use)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise StoreError(f"cannot look at {path}: {exc.strerror}") from None


def _id(found: os.stat_result | None) -> FileId | None:
    return None if found is None else (found.st_dev, found.st_ino)


def _may(path: Path, mode: int) -> bool:
    """What ``open`` would allow this process: its effective user, as SQLite opens files."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)
