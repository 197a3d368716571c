"""data check fails on each kind of damage, and names it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from askwell.data.checks import check_dataset
from askwell.data.sources import sha256_file
from askwell.errors import InputError
from tests.conftest import DUMPS, IngestFn

pytestmark = pytest.mark.data


@pytest.fixture
def dataset(run_ingest: IngestFn, tmp_path: Path) -> Path:
    return run_ingest(DUMPS / "ai.stackexchange.com", out=tmp_path / "ds").out


def _rewrite(folder: Path, table: str, new: pa.Table) -> None:
    """Replaces a table and re-seals the manifest, as a buggy writer would."""
    path = folder / f"{table}.parquet"
    pq.write_table(new, path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"][table].update(rows=new.num_rows, sha256=sha256_file(path))
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _failures(folder: Path) -> dict[str, str]:
    report = check_dataset(folder)
    return {f"{r.name}:{r.table}": r.detail for r in report.results if r.status == "fail"}


def test_clean_dataset_passes(dataset: Path) -> None:
    report = check_dataset(dataset)
    assert report.ok and len(report.results) >= 10


def test_tampered_file_fails_its_checksum(dataset: Path) -> None:
    with (dataset / "votes.parquet").open("ab") as f:
        f.write(b"x")
    assert list(_failures(dataset)) == ["checksum:votes"]


def test_duplicate_ids(dataset: Path) -> None:
    q = pq.read_table(dataset / "questions.parquet")
    _rewrite(dataset, "questions", pa.concat_tables([q, q.slice(0, 2)]))
    failures = _failures(dataset)
    assert "2 ids appear more than once" in failures["unique (site, id):questions+answers"]


def test_unresolved_answer_parent(dataset: Path) -> None:
    a = pq.read_table(dataset / "answers.parquet")
    parent = pc.if_else(pc.equal(pa.array(range(a.num_rows)), 0), 99_999_999, a["parent_id"])
    _rewrite(
        dataset, "answers", a.set_column(a.schema.get_field_index("parent_id"), "parent_id", parent)
    )
    assert "→99999999" in _failures(dataset)["answer parents:answers"]


def test_negative_counts_and_impossible_dates(dataset: Path) -> None:
    q = pq.read_table(dataset / "questions.parquet")
    idx = q.schema.get_field_index
    views = pc.if_else(pc.equal(pa.array(range(q.num_rows)), 3), -5, q["view_count"])
    q = q.set_column(idx("view_count"), "view_count", views)
    early = pa.scalar(0, pa.timestamp("ms", tz="UTC"))
    dates = pc.if_else(pc.equal(pa.array(range(q.num_rows)), 4), early, q["creation_date"])
    q = q.set_column(idx("creation_date"), "creation_date", dates)
    _rewrite(dataset, "questions", q)
    detail = _failures(dataset)["values:questions"]
    assert "view_count: 1 rows fail greater_than_or_equal_to(0) (e.g. -5)" in detail
    assert "creation_date: 1 rows fail in_range" in detail


def test_wrong_schema(dataset: Path) -> None:
    c = pq.read_table(dataset / "comments.parquet")
    _rewrite(dataset, "comments", c.drop_columns(["score"]))
    assert "missing: ['score']" in _failures(dataset)["schema:comments"]


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an askwell dataset"):
        check_dataset(tmp_path)
    shutil.rmtree(tmp_path)
    with pytest.raises(InputError, match="no such dataset folder"):
        check_dataset(tmp_path)
