"""Ingestion at its edges: what a killed run leaves behind, where a malformed row really is,
and what ``--keep-partial`` keeps and rejects. Small dumps written to tmp_path, real dumps
where the size matters."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from askwell.errors import InputError
from tests.conftest import DUMPS, IngestFn

HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'  # lines 1 and 2


def _row(i: int, body: str = "&lt;p&gt;How do I brew it?&lt;/p&gt;") -> str:
    return (
        f'  <row Id="{i}" PostTypeId="1" CreationDate="2015-01-{10 + i % 18:02d}T21:00:00.000" '
        f'Score="{i % 5}" Body="{body}" Title="How do I brew coffee number {i}?" '
        f'Tags="&lt;brewing&gt;" AnswerCount="0" />\n'
    )


def _posts(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in" / "Posts.xml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


ENTITY_ON_LINE_4 = (
    HEADER + _row(1) + _row(2, "&lt;p&gt;I &foo; it&lt;/p&gt;") + _row(3) + "</posts>\n"
)


# ----------------------------------------------------------------------------- 8: the line


def test_an_undeclared_entity_is_reported_on_its_own_line(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    path = _posts(tmp_path, ENTITY_ON_LINE_4)
    with pytest.raises(InputError) as err:
        run_ingest(path, site="coffee")
    message = str(err.value)
    column = ENTITY_ON_LINE_4.splitlines()[3].index("&foo;") + len("&foo;")
    assert message == (f"{path}: line 4, column {column}: malformed XML: Entity 'foo' not defined")


def test_the_line_is_the_files_line_in_a_later_chunk(run_ingest: IngestFn, tmp_path: Path) -> None:
    rows = [_row(i) for i in range(1, 3001)]
    rows[1996] = _row(1997, "&lt;p&gt;I &foo; it&lt;/p&gt;")  # line 2 + 1997 = 1999
    path = _posts(tmp_path, HEADER + "".join(rows) + "</posts>\n")
    with pytest.raises(InputError, match=r": line 1999, column \d+: malformed XML: Entity 'foo'"):
        run_ingest(path, site="coffee", workers=2, chunk_mb=0.05)
    report = run_ingest(path, site="coffee", workers=2, chunk_mb=0.05, keep_partial=True)
    (reject,) = pq.read_table(report.out / "rejects.parquet").to_pylist()
    assert reject["source_line"] == 1999 and "(line 1999 skipped)" in reject["reason"]
    assert report.tables["questions"] == 2999


# ----------------------------------------------------------------------------- 9: keep-partial


def _ids(out: Path) -> list[int]:
    return sorted(pq.read_table(out / "questions.parquet").column("id").to_pylist())


def test_keep_partial_rejects_the_broken_row_once_and_nothing_else(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    path = _posts(tmp_path, ENTITY_ON_LINE_4)
    report = run_ingest(path, site="coffee", keep_partial=True)
    assert report.status == "partial"
    assert _ids(report.out) == [1, 3]
    (reject,) = pq.read_table(report.out / "rejects.parquet").to_pylist()
    assert reject["category"] == "malformed XML" and reject["source_line"] == 4
    assert reject["reason"] == "malformed XML: Entity 'foo' not defined (line 4 skipped)"
    assert reject["raw"] == ENTITY_ON_LINE_4.splitlines()[3].strip()
    (entry,) = report.inputs
    assert entry.rows_read == 3 and entry.rejected == {"malformed XML": 1}


@pytest.mark.parametrize("rows_before", [0, 2])
def test_keep_partial_on_a_truncated_dump_never_rejects_the_header(
    run_ingest: IngestFn, tmp_path: Path, rows_before: int
) -> None:
    whole = HEADER + "".join(_row(i) for i in range(1, rows_before + 2))
    cut = whole[: whole.rindex("Score=") + 3]  # the last row cut off in its middle
    path = _posts(tmp_path, cut)
    line = cut.count("\n") + 1
    report = run_ingest(path, site="coffee", keep_partial=True)
    assert report.errors and report.errors[0].startswith(f"{path}: line {line}, column ")
    assert _ids(report.out) == list(range(1, rows_before + 1))
    (reject,) = pq.read_table(report.out / "rejects.parquet").to_pylist()
    assert reject["source_line"] == line and f"(line {line} skipped)" in reject["reason"]
    assert reject["raw"].startswith(f'<row Id="{rows_before + 1}"')
    assert "<posts>" not in reject["raw"] and "<?xml" not in reject["raw"]


# ----------------------------------------------------------------------------- 7: leftovers

_KILLED_MID_INGEST = """
import os, signal, sys
from pathlib import Path
from askwell.config import IngestSettings
from askwell.data.ingest import ingest

class Die:
    def start(self, label, total_bytes): pass
    def advance(self, nbytes, rows): os.kill(os.getpid(), signal.SIGKILL)
    def finish(self): pass

ingest([Path(sys.argv[1])], Path(sys.argv[2]), settings=IngestSettings(workers=1), progress=Die())
"""


def _leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


@pytest.mark.data
def test_a_run_killed_mid_ingest_leaves_nothing_after_the_next_run(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    source = DUMPS / "coffee.stackexchange.com"
    out = tmp_path / "ds"
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_INGEST, str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert any(".tmp-" in name for name in _leftovers(tmp_path, "ds"))  # what kill -9 leaves
    assert not out.exists()

    report = run_ingest(source, out=out)
    assert report.status == "complete" and (out / "manifest.json").is_file()
    assert _leftovers(tmp_path, "ds") == []


def test_only_the_temporary_folders_of_dead_runs_are_removed(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    path = _posts(tmp_path, HEADER + _row(1) + "</posts>\n")
    stale = [
        tmp_path / ".ds.tmp-0000dead",  # from a run before locks: no lock file
        tmp_path / ".ds.tmp-1111dead",  # its lock file is there, but no process holds it
        tmp_path / ".ds.old-1111dead",
    ]
    for folder in stale:
        folder.mkdir()
        (folder / "questions.parquet").write_bytes(b"half written")
    (tmp_path / ".ds.lock-1111dead").touch()
    live = tmp_path / ".ds.tmp-2222a11e"  # a run still going: its lock is held
    live.mkdir()
    other = tmp_path / ".other.tmp-3333dead"  # another dataset's: not this run's business
    other.mkdir()
    fd = os.open(tmp_path / ".ds.lock-2222a11e", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        report = run_ingest(path, out=tmp_path / "ds", site="coffee")
    finally:
        os.close(fd)
    assert report.status == "complete" and _ids(tmp_path / "ds") == [1]
    assert not any(folder.exists() for folder in stale)
    assert _leftovers(tmp_path, "ds") == [".ds.lock-2222a11e", ".ds.tmp-2222a11e"]
    assert other.is_dir()


def test_a_dataset_caught_mid_swap_is_put_back(run_ingest: IngestFn, tmp_path: Path) -> None:
    """Killed between moving the old dataset aside and moving the new one in: the old one
    comes back, and a run that then fails leaves it in place."""
    good = _posts(tmp_path, HEADER + _row(1) + "</posts>\n")
    run_ingest(good, out=tmp_path / "ds", site="coffee")
    (tmp_path / "ds").rename(tmp_path / ".ds.old-4444dead")
    broken = _posts(tmp_path, HEADER + _row(2)[:40])
    with pytest.raises(InputError):
        run_ingest(broken, out=tmp_path / "ds", site="coffee")
    assert _ids(tmp_path / "ds") == [1]
    assert _leftovers(tmp_path, "ds") == []
