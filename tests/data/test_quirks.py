"""One test per quirk of the real data listed in ../shared/data/README.md."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from askwell.data.checks import check_dataset
from tests.conftest import DUMPS, SHARED_DATA, IngestFn

pytestmark = pytest.mark.data


def _rows(report_out: Path, table: str) -> list[dict[str, object]]:
    return (
        pq.read_table(report_out / f"{table}.parquet")
        .drop_columns(["source", "source_line"])
        .to_pylist()
    )


def _attrs(path: Path) -> list[dict[str, str]]:
    out = []
    for _, el in etree.iterparse(str(path), events=("end",), tag="row"):
        out.append(dict(el.attrib))
        el.clear()
    return out


def test_byte_order_mark_and_crlf_change_nothing(run_ingest: IngestFn, tmp_path: Path) -> None:
    original = DUMPS / "beer.stackexchange.com" / "Posts.xml"  # BOM and CRLF line ends
    raw = original.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw[:200]
    plain = tmp_path / "beer" / "Posts.xml"
    plain.parent.mkdir()
    plain.write_bytes(raw[3:].replace(b"\r\n", b"\n"))
    with_quirks = run_ingest(original.parent)
    without = run_ingest(plain.parent, site="beer.stackexchange.com")
    for table in ("questions", "answers"):
        assert _rows(with_quirks.out, table) == _rows(without.out, table)


def test_doctype_line_is_accepted_and_not_loaded(run_ingest: IngestFn) -> None:
    for site in ("history.meta.stackexchange.com", "music.meta.stackexchange.com"):
        head = (DUMPS / site / "Posts.xml").read_bytes()[:200]
        assert b"<!DOCTYPE posts SYSTEM 'posts.dtd'>" in head  # no posts.dtd exists anywhere
        report = run_ingest(DUMPS / site / "Posts.xml")
        rows = _attrs(DUMPS / site / "Posts.xml")
        assert report.tables["questions"] == sum(r["PostTypeId"] == "1" for r in rows)


def test_other_post_types_are_skipped_and_counted(run_ingest: IngestFn) -> None:
    path = DUMPS / "quantumcomputing.stackexchange.com" / "Posts.xml"
    expected = Counter(r["PostTypeId"] for r in _attrs(path) if r["PostTypeId"] not in "12")
    assert expected, "the dump has tag wikis and other post types"
    report = run_ingest(path)
    (entry,) = report.inputs
    assert entry.skipped_post_types == {k: v for k, v in sorted(expected.items())}
    assert entry.rows_read == report.tables["questions"] + report.tables["answers"] + sum(
        expected.values()
    )


def test_rows_out_of_id_order_keep_file_order(run_ingest: IngestFn) -> None:
    path = SHARED_DATA / "sede/english.stackexchange.com-meta-only__noah-kg/QueryResults_1.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        ids = [int(row["Id"]) for row in csv.DictReader(f)]
    assert ids != sorted(ids)  # the export is ordered by date, not by Id
    report = run_ingest(path)
    q = pq.read_table(report.out / "questions.parquet", columns=["id", "source_line"])
    assert q["id"].to_pylist() == ids  # every row, in file order
    lines = q["source_line"].to_pylist()
    assert lines == sorted(lines) and lines[0] == 2
    assert check_dataset(report.out).ok


def test_old_dumps_without_answer_and_comment_counts(run_ingest: IngestFn) -> None:
    path = DUMPS / "meta.mathoverflow.net" / "Posts.xml"
    questions = [r for r in _attrs(path) if r["PostTypeId"] == "1"]
    without = sum("AnswerCount" not in r for r in questions)
    assert without > 0
    report = run_ingest(path)
    q = pq.read_table(report.out / "questions.parquet", columns=["answer_count", "comment_count"])
    assert q["answer_count"].null_count == without  # unknown, not zero
    assert q["comment_count"].null_count == sum("CommentCount" not in r for r in questions)
    assert check_dataset(report.out).ok


def test_slice_whose_answer_counts_point_outside_the_file(run_ingest: IngestFn) -> None:
    report = run_ingest(DUMPS / "stackoverflow.com-2008-08-slice")
    q = pq.read_table(report.out / "questions.parquet", columns=["answer_count"])
    assert sum(q["answer_count"].to_pylist()) > report.tables["answers"]
    check = check_dataset(report.out)
    assert check.ok  # a slice holds part of a site: a warning, not a failure
    assert any(r.name == "accepted answers" and r.status == "warn" for r in check.results)


def test_spreadsheet_resaved_csv(run_ingest: IngestFn) -> None:
    path = SHARED_DATA / "sede" / "stackoverflow-android-2009-2011-title-only__SanduniTharaka"
    report = run_ingest(path / "QueryResults.csv")
    (entry,) = report.inputs
    assert entry.csv_encoding == "utf-8, with 62 non-UTF-8 bytes read as cp1252"
    assert entry.assumed_post_type == 1  # no PostTypeId column: titled rows are questions
    assert "Id" in entry.ignored_columns  # the second "Id" header is a user's id
    rows = pq.read_table(report.out / "questions.parquet").to_pylist()
    first = next(r for r in rows if r["id"] == 1748977)
    assert first["title"] == "Making TextView scrollable on Android"
    assert first["creation_date"] == datetime(2009, 11, 17, 13, 43, tzinfo=UTC)  # m/d/yyyy
    assert first["tags"] == ["android", "scroll", "textview"]
    titles = {r["id"]: r["title"] for r in rows}
    # Valid UTF-8 in the same file still reads as UTF-8.
    assert any("\u201cThis program cannot display" in (t or "") for t in titles.values())
    assert titles[694130] == "Gray NSTableView \u00e0 la iTunes"  # first of its two copies
    # The second copy's two bytes are not UTF-8: read as cp1252, kept in rejects as a repeat.
    repeats = pq.read_table(report.out / "rejects.parquet").to_pylist()
    assert any("NSTableView \u00ed\u00e6 la" in (r["raw"] or "") for r in repeats)
    assert check_dataset(report.out).ok


def test_truncated_csv_keeps_complete_rows_and_rejects_the_cut_one(run_ingest: IngestFn) -> None:
    cut = run_ingest(SHARED_DATA / "book/writers.csv")
    whole = run_ingest(SHARED_DATA / "book/writers.complete_rows.derived.csv")
    assert cut.tables["questions"] == whole.tables["questions"] == 162
    assert cut.inputs[0].rejected == {"malformed CSV row": 1}
    reject = pq.read_table(cut.out / "rejects.parquet").to_pylist()[0]
    assert "expected 23 fields, found 4" in reject["reason"] and reject["source_line"] > 1


def test_pandas_index_column_and_extra_columns_are_ignored(run_ingest: IngestFn) -> None:
    report = run_ingest(SHARED_DATA / "book/MiniPosts.csv")
    assert set(report.inputs[0].ignored_columns) == {"(unnamed)", "body_text"}
    manifest = json.loads((report.out / "manifest.json").read_text())
    assert manifest["inputs"][0]["ignored_columns"] == report.inputs[0].ignored_columns
    assert report.tables == {"questions": 6, "answers": 2, "rejects": 0}


def test_metadata_only_export_has_no_text(run_ingest: IngestFn) -> None:
    report = run_ingest(
        SHARED_DATA / "sede/english.stackexchange.com-meta-only__noah-kg/QueryResults_1.csv"
    )
    q = pq.read_table(report.out / "questions.parquet", columns=["title", "body_text"])
    assert q["title"].null_count == q.num_rows == 13511
    assert q["body_text"].null_count == q.num_rows  # no body is not an empty body
