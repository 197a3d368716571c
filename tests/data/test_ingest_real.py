"""Every real dump and export ingests, matches MANIFEST.json's counts, and passes data check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import py7zr
import pyarrow.parquet as pq
import pytest

from askwell.data.checks import check_dataset
from askwell.data.dataset import Dataset
from tests.conftest import DUMPS, SHARED_DATA, IngestFn

pytestmark = pytest.mark.data


def _post_files() -> list[dict[str, Any]]:
    manifest = json.loads((SHARED_DATA / "MANIFEST.json").read_text(encoding="utf-8"))
    return [e for e in manifest if e["questions"] is not None]


@pytest.mark.parametrize("entry", _post_files(), ids=lambda e: e["path"])
def test_each_file_ingests_with_manifest_counts(
    entry: dict[str, Any], run_ingest: IngestFn
) -> None:
    report = run_ingest(SHARED_DATA / entry["path"])
    (source,) = report.inputs
    # A repeated Id is kept once; the repeats are rejects, counted, never silently dropped.
    repeats = source.rejected.get("duplicate Id", 0)
    kept = (report.tables.get("questions", 0), report.tables.get("answers", 0))
    assert sum(kept) + repeats == entry["questions"] + entry["answers"]
    if "SanduniTharaka" in entry["path"]:
        assert repeats == 1664  # the export repeats 1,660 rows whole, and 4 ids with changes
        assert kept[0] == entry["questions"] - repeats
    else:
        assert kept == (entry["questions"], entry["answers"])
        assert repeats == 0
    assert report.status == "complete"
    check = check_dataset(report.out)
    assert check.ok, [r for r in check.results if r.status == "fail"]


def test_all_sources_together_make_one_checked_dataset(run_ingest: IngestFn) -> None:
    sources = [p for p in sorted(DUMPS.iterdir()) if p.is_dir()]
    sources += sorted((SHARED_DATA / "sede").glob("*/*.csv"))
    report = run_ingest(*sources, workers=2)
    entries = _post_files()
    expected_q = sum(e["questions"] for e in entries if not e["path"].startswith("book/"))
    expected_a = sum(e["answers"] for e in entries if not e["path"].startswith("book/"))
    repeats = sum(i.rejected.get("duplicate Id", 0) for i in report.inputs)
    assert report.tables["questions"] + repeats == expected_q
    assert report.tables["answers"] == expected_a
    # Folders bring their other dump files along.
    assert {"votes", "comments", "post_history"} <= set(report.tables)
    sites = set(Dataset.open(report.out).table("questions", ["site"])["site"].to_pylist())
    assert "beer.stackexchange.com" in sites
    assert "english.stackexchange.com-meta-only__noah-kg" in sites  # from the folder name
    assert check_dataset(report.out).ok


def test_same_input_same_fingerprint_and_identical_tables(run_ingest: IngestFn) -> None:
    src = DUMPS / "ai.stackexchange.com"
    first = run_ingest(src, workers=2, chunk_mb=0.25)
    again = run_ingest(src, workers=2, chunk_mb=0.25)
    other = run_ingest(src, workers=1, chunk_mb=0.05)  # other chunking, in-process
    assert first.fingerprint == again.fingerprint == other.fingerprint
    m1 = json.loads((first.out / "manifest.json").read_text())
    m2 = json.loads((again.out / "manifest.json").read_text())
    assert m1["tables"] == m2["tables"]  # byte-identical files: same checksums
    for table in first.tables:
        a = pq.read_table(first.out / f"{table}.parquet")
        b = pq.read_table(other.out / f"{table}.parquet")
        assert a.equals(b), table  # same rows in the same order, whatever the chunking


def test_rerun_into_the_same_folder_replaces_it(run_ingest: IngestFn, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    run_ingest(DUMPS / "beer.stackexchange.com", out=out)
    report = run_ingest(DUMPS / "coffee.stackexchange.com", out=out)
    assert report.tables["questions"] == 225
    assert not list(tmp_path.glob(".ds.*"))  # no temporary or old folders left behind


def test_7z_archive_streams_like_the_folder(run_ingest: IngestFn, tmp_path: Path) -> None:
    folder = DUMPS / "conlang.meta.stackexchange.com"
    archive = tmp_path / "conlang.meta.stackexchange.com.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        for name in ("Posts.xml", "Votes.xml", "Comments.xml", "PostHistory.xml", "Users.xml"):
            z.write(folder / name, arcname=name)
    from_archive = run_ingest(archive, workers=2)
    from_folder = run_ingest(folder)
    assert from_archive.tables == from_folder.tables
    q_archive = pq.read_table(from_archive.out / "questions.parquet")
    q_folder = pq.read_table(from_folder.out / "questions.parquet")
    assert q_archive.drop_columns(["source"]).equals(q_folder.drop_columns(["source"]))
    inputs = json.loads((from_archive.out / "manifest.json").read_text())["inputs"]
    assert inputs[0]["site"] == "conlang.meta.stackexchange.com"
    assert inputs[0]["archive_sha256"] and inputs[0]["sha256"] == from_folder.inputs[0].sha256


def test_manifest_describes_the_dataset(run_ingest: IngestFn) -> None:
    report = run_ingest(DUMPS / "beer.stackexchange.com")
    manifest = json.loads((report.out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["schema_version"] >= 1 and manifest["code_version"]
    assert len(manifest["fingerprint"]) == 64
    (entry,) = manifest["inputs"]
    assert entry["sha256"] == next(
        e["sha256"]
        for e in json.loads((SHARED_DATA / "MANIFEST.json").read_text())
        if e["path"] == "stackexchange/beer.stackexchange.com/Posts.xml"
    )
    assert manifest["tables"]["questions"]["rows"] == 663


def test_text_columns_are_extracted(run_ingest: IngestFn) -> None:
    report = run_ingest(DUMPS / "stackoverflow.com-2008-08-slice")
    q = pq.read_table(report.out / "questions.parquet").to_pylist()
    row = next(r for r in q if r["id"] == 4)  # "When setting a form's opacity…"
    assert row["title"] and row["tags"] and isinstance(row["tags"], list)
    assert row["n_code_blocks"] >= 1 and row["code_chars"] > 0
    assert "<" not in row["body_text"] or "&lt;" not in row["body_text"]
    assert str(row["creation_date"].tzinfo) == "UTC"
    with_code = sum(1 for r in q if r["n_code_blocks"] or r["n_inline_code"])
    assert with_code > len(q) // 2  # Stack Overflow: code is common, and kept


def test_raw_html_is_kept_only_on_request(run_ingest: IngestFn, tmp_path: Path) -> None:
    src = DUMPS / "coffee.stackexchange.com"
    lean = run_ingest(src)
    full = run_ingest(src, keep_html=True)
    lean_q = pq.read_table(lean.out / "questions.parquet")
    full_q = pq.read_table(full.out / "questions.parquet")
    assert lean_q["body_html"].null_count == lean_q.num_rows
    assert full_q["body_html"].null_count == 0
    assert full_q["body_html"][0].as_py().startswith("<p>")
    assert lean_q.drop_columns(["body_html"]).equals(full_q.drop_columns(["body_html"]))
    assert lean.fingerprint != full.fingerprint  # the tables differ, so does the fingerprint
    manifest = json.loads((full.out / "manifest.json").read_text())
    assert manifest["options"] == {"keep_html": True}
