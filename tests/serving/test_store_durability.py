"""The SQLite store under faults in its files: what it acknowledges is where the next start
will read it, ``ping`` (and so ``/readyz``) tells when writes cannot land there, and broken
files are a ``StoreError`` that names them, not a silent loss or a crash (SIGBUS).

Each case changes real files under a running store: a deleted folder, a replaced database, a
deleted log, read-only log or index, a truncated index. Read-only files stop no one running
as root, so those cases run in a forked child that drops to an unprivileged user; the cases
that could kill the process run in a forked child too."""

from __future__ import annotations

import os
import pickle
import pwd
import select
import shutil
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from askwell.store.db import PredictionRecord, Store, StoreError
from tests.serving.conftest import client_for
from tests.serving.test_api import MESSY

CHILD_TIMEOUT_S = 60.0


def _record(request_id: str) -> PredictionRecord:
    return PredictionRecord(request_id, None, None, "m", "v", False, 0.5, "b", 1.0, [], {})


def _outcome(call: Callable[[], object]) -> str:
    """'ok', or the StoreError's message (any other exception is a failure of the test)."""
    try:
        call()
    except StoreError as exc:
        return f"StoreError: {exc}"
    return "ok"


def _url(folder: Path) -> str:
    return f"sqlite:///{folder / 'askwell.db'}"


# -- 1. the folder, the database or its log deleted or replaced under a running store


def test_feedback_is_refused_and_not_ready_when_the_database_folder_is_deleted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    url = _url(folder)
    client = client_for(url)
    scored = client.post("/v1/score", json=MESSY).json()
    assert scored["logged"] and client.get("/readyz").status_code == 200

    shutil.rmtree(folder)
    answers = [
        client.post("/v1/feedback", json={"request_id": scored["request_id"], "helpful": True})
        for _ in range(4)
    ]
    # Nothing is acknowledged that the next start would not find.
    assert [a.status_code for a in answers] == [503] * 4, [a.text for a in answers]
    assert "is gone" in answers[0].json()["detail"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "is gone" in ready.json()["database"], ready.json()
    assert client.post("/v1/score", json=MESSY).json()["logged"] is False
    client.app.state.service.store.close()  # type: ignore[attr-defined]

    restarted = Store.open(url)  # the next start: a new, empty database, and no feedback lost
    restarted.ping()
    assert restarted.rows("feedback") == [] and restarted.rows("predictions") == []
    restarted.close()


def test_a_write_is_not_acknowledged_when_the_folder_goes_during_its_commit(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    store = Store.open(_url(folder))
    store.record_prediction(_record("a"))

    def remove_folder(*_: Any) -> None:  # after the checks before the write, before its commit
        shutil.rmtree(folder)

    event.listen(store.engine, "commit", remove_folder)
    with pytest.raises(StoreError, match="is gone"):
        store.record_feedback("a", None, True, None)
    event.remove(store.engine, "commit", remove_folder)
    with pytest.raises(StoreError, match="is gone"):
        store.ping()
    store.close()


def test_a_replaced_database_file_fails_writes_and_ping(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    store.record_prediction(_record("a"))
    other = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    other.close()
    (tmp_path / "other.db").replace(tmp_path / "askwell.db")  # e.g. a backup restored

    with pytest.raises(StoreError, match="was replaced"):
        store.ping()
    with pytest.raises(StoreError, match="was replaced"):
        store.record_feedback("a", None, True, None)
    store.engine.dispose()
    with pytest.raises(StoreError, match="was replaced"):  # new connections too
        store.has_prediction("a")
    store.close()


def test_a_deleted_write_ahead_log_fails_writes_and_ping(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    store.record_prediction(_record("a"))
    (tmp_path / "askwell.db-wal").unlink()  # commits would go to a file no start will read

    with pytest.raises(StoreError, match=r"askwell\.db-wal"):
        store.record_prediction(_record("b"))
    with pytest.raises(StoreError, match=r"askwell\.db-wal"):
        store.ping()
    store.close()


def test_a_file_where_the_log_belongs_is_named_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "askwell.db-wal").mkdir()  # e.g. a volume mounted on the wrong path
    with pytest.raises(StoreError, match=r"askwell\.db-wal is not a regular file"):
        Store.open(_url(tmp_path))


def test_a_healthy_store_survives_its_checks(tmp_path: Path) -> None:
    """The checks do not get in the way: new connections, a restart, the log truncated by the
    background checkpoints and started over by SQLite."""
    url = _url(tmp_path)
    for round_ in range(2):
        store = Store.open(url)
        store.start_checkpoints(every_s=0.01, restart_frames=5)
        for i in range(50):
            store.record_prediction(_record(f"{round_}-{i}"))
            store.ping()
        store.close()
    final = Store.open(url)
    final.ping()
    assert len(final.rows("predictions")) == 100
    final.close()


# -- 2 and 3. read-only and truncated log and index, in a child process


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def unprivileged_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder that an unprivileged user owns (as root: one in the temporary directory, where
    that user can reach it; pytest's own folders are root's alone)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="askwell-store-"))
    os.chown(folder, *_nobody())
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _CannotDropError(Exception):
    pass


def _child(scenario: Callable[[Path], dict[str, str]], folder: Path, unprivileged: bool) -> Any:
    try:
        if unprivileged and os.geteuid() == 0:
            uid, gid = _nobody()
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            except OSError as exc:
                raise _CannotDropError(str(exc)) from None
        return {"result": scenario(folder)}
    except _CannotDropError as exc:
        return {"skip": str(exc)}
    except BaseException:
        return {"error": traceback.format_exc()}


def _in_child(
    scenario: Callable[[Path], dict[str, str]], folder: Path, *, unprivileged: bool = False
) -> dict[str, str]:
    """``scenario(folder)`` in a forked child (``unprivileged``, as root: as a user for whom
    file modes count); its result. The test fails if the child dies of a signal (SIGBUS)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                pickle.dump(_child(scenario, folder, unprivileged), out)
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    try:
        while chunk := _read(read, pid):
            data += chunk
    finally:
        os.close(read)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        pytest.fail(f"the store's process died of {name}, without a word")
    message = pickle.loads(data)
    if "skip" in message:
        pytest.skip(
            f"running as root and cannot switch to an unprivileged user ({message['skip']}): "
            "file modes do not stop root, so this case cannot be set up here"
        )
    if "error" in message:
        pytest.fail(f"the child failed:\n{message['error']}")
    return dict(message["result"])


def _read(fd: int, pid: int) -> bytes:
    """The child's next bytes (none: it is done); a child that hangs is killed."""
    if not select.select([fd], [], [], CHILD_TIMEOUT_S)[0]:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f"the child did not finish in {CHILD_TIMEOUT_S:.0f} s")
    return os.read(fd, 65536)


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Everything a store imports is loaded before a child forks: an unprivileged child may
    not be allowed to read the interpreter's own folders."""
    store = Store.open(_url(tmp_path_factory.mktemp("warm")))
    store.record_prediction(_record("w"))
    store.ping()
    store.close()


def _read_only(suffix: str) -> Callable[[Path], dict[str, str]]:
    def scenario(folder: Path) -> dict[str, str]:
        url = _url(folder)
        store = Store.open(url)
        store.record_prediction(_record("a"))  # the log and its index exist now
        (folder / f"askwell.db{suffix}").chmod(0o444)
        outcome = {"ping": _outcome(store.ping)}
        # A second server process, or this one restarted, opening the database now.
        outcome["open"] = _outcome(lambda: Store.open(url))
        return outcome

    return scenario


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_a_read_only_log_or_index_makes_ping_fail_and_is_named_at_open(
    unprivileged_folder: Path, suffix: str
) -> None:
    outcome = _in_child(_read_only(suffix), unprivileged_folder, unprivileged=True)
    for step in ("ping", "open"):
        assert outcome[step].startswith("StoreError:"), outcome
        assert f"askwell.db{suffix} is not readable and writable" in outcome[step], outcome


def _truncated_index(folder: Path) -> dict[str, str]:
    """Not closed at the end: SQLite reads the index as the last connection closes, and that
    a shrunk index still kills the process then is the documented limit (see db.py)."""
    store = Store.open(_url(folder))
    for i in range(20):
        store.record_prediction(_record(str(i)))
    os.truncate(folder / "askwell.db-shm", 0)  # SQLite has it mapped: reading it is a SIGBUS
    return {
        "ping": _outcome(store.ping),
        "write": _outcome(lambda: store.record_feedback("1", None, True, None)),
        "read": _outcome(lambda: store.has_prediction("1")),
    }


def test_a_truncated_index_is_a_store_error_not_a_crash(tmp_path: Path) -> None:
    outcome = _in_child(_truncated_index, tmp_path)
    for step in ("ping", "write", "read"):
        assert "askwell.db-shm shrank" in outcome[step], outcome
