"""Bad input, built from real dumps: a clear one-line error, nothing valid lost, nothing
half-written presented as complete."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from askwell.data.checks import check_dataset
from askwell.data.dataset import Dataset
from askwell.errors import InputError, OutputError
from tests.conftest import DUMPS, IngestFn, run_askwell

pytestmark = pytest.mark.data

BEER = DUMPS / "beer.stackexchange.com" / "Posts.xml"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _complete_rows_before(data: bytes) -> int:
    """Questions and answers whose whole <row/> lies in ``data`` (an independent count)."""
    n = 0
    for line in data.split(b"\n"):
        line = line.strip()
        if line.startswith(b"<row") and line.endswith(b"/>"):
            n += b'PostTypeId="1"' in line or b'PostTypeId="2"' in line
    return n


@pytest.mark.parametrize("fraction", [0.0005, 0.25, 0.5, 0.9, 0.99999])
def test_truncated_dump_fails_cleanly_then_keeps_the_valid_part(
    fraction: float, run_ingest: IngestFn, tmp_path: Path
) -> None:
    raw = BEER.read_bytes()
    cut = raw[: int(len(raw) * fraction)]
    path = _write(tmp_path, "Posts.xml", cut)
    out = tmp_path / "ds"
    with pytest.raises(InputError) as err:
        run_ingest(path, out=out, workers=2, chunk_mb=0.2)
    message = str(err.value)
    line = cut.count(b"\n") + 1
    assert message.startswith(f"{path}: line {line}, column ") and "malformed XML" in message
    assert "\n" not in message
    assert not out.exists() and not list(tmp_path.glob(".ds*"))  # nothing published

    report = run_ingest(path, out=out, keep_partial=True, workers=2, chunk_mb=0.2)
    assert report.status == "partial" and report.errors == [message]
    assert (out / "_PARTIAL").is_file()
    kept = report.tables.get("questions", 0) + report.tables.get("answers", 0)
    assert kept == _complete_rows_before(cut)
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    assert [r["category"] for r in rejects] == ["malformed XML"]
    with pytest.raises(InputError, match="PARTIAL"):
        Dataset.open(out)  # a partial dataset is never read as complete by accident
    assert Dataset.open(out, allow_partial=True).partial


def test_cli_reports_one_line_and_exit_code(tmp_path: Path) -> None:
    raw = BEER.read_bytes()
    path = _write(tmp_path, "Posts.xml", raw[: len(raw) // 3])
    result = run_askwell("ingest", str(path), "--out", str(tmp_path / "ds"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "line " in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "ds").exists()

    partial = run_askwell("ingest", str(path), "--out", str(tmp_path / "ds"), "--keep-partial")
    assert partial.returncode == 2  # still a failure, though the valid part is kept
    assert "(partial)" in partial.stdout
    assert json.loads((tmp_path / "ds" / "manifest.json").read_text())["status"] == "partial"


def test_corrupt_markup_mid_file_names_the_line_and_loses_one_row(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    lines = BEER.read_bytes().split(b"\n")
    victim = lines[99]
    at = victim.index(b'Score="')
    lines[99] = victim[: at + 6] + victim[at + 7 :]  # drop the opening quote of Score
    path = _write(tmp_path, "Posts.xml", b"\n".join(lines))
    with pytest.raises(InputError, match=r"line 100, column \d+: malformed XML"):
        run_ingest(path, workers=2, chunk_mb=0.1)
    report = run_ingest(path, keep_partial=True, workers=2, chunk_mb=0.1)
    assert report.tables["questions"] + report.tables["answers"] == 663 + 1572 - 1
    (reject,) = pq.read_table(report.out / "rejects.parquet").to_pylist()
    assert reject["source_line"] == 100 and "(line 100 skipped)" in reject["reason"]
    assert reject["raw"].lstrip().startswith("<row Id=")


def test_invalid_utf8_is_replaced_counted_and_located(run_ingest: IngestFn, tmp_path: Path) -> None:
    lines = BEER.read_bytes().split(b"\n")
    for n in (50, 1500):
        lines[n - 1] = lines[n - 1].replace(b'Body="&lt;p&gt;', b'Body="&lt;p&gt;\xff\xfe', 1)
    path = _write(tmp_path, "Posts.xml", b"\n".join(lines))
    report = run_ingest(path, workers=2, chunk_mb=0.3)
    (entry,) = report.inputs
    assert report.status == "complete"
    assert entry.utf8_replacements == 4 and entry.utf8_replacement_lines == [50, 1500]
    assert report.tables["questions"] + report.tables["answers"] == 663 + 1572  # nothing lost
    texts = pq.read_table(report.out / "questions.parquet", columns=["body_text"])
    texts_a = pq.read_table(report.out / "answers.parquet", columns=["body_text"])
    joined = "".join(texts["body_text"].to_pylist() + texts_a["body_text"].to_pylist())
    assert joined.count("\ufffd\ufffd") == 2


def test_rows_missing_required_fields_or_with_bad_values_become_rejects(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    lines = BEER.read_bytes().split(b"\n")
    rows = [i for i, line in enumerate(lines) if line.strip().startswith(b"<row")]
    edits = {
        rows[3]: (b' CreationDate="', b' Created="'),  # missing CreationDate
        rows[10]: (b' Id="', b' Idx="'),  # missing Id
        rows[20]: (b' PostTypeId="', b' Kind="'),  # missing PostTypeId
        rows[30]: (b' Score="', b' Score="abc'),  # unparsable Score
        rows[40]: (b' CreationDate="', b' CreationDate="yesterday'),  # unparsable date
    }
    for i, (old, new) in edits.items():
        assert old in lines[i]
        lines[i] = lines[i].replace(old, new, 1)
    path = _write(tmp_path, "Posts.xml", b"\n".join(lines))
    report = run_ingest(path, workers=2, chunk_mb=0.2)
    assert report.status == "complete"
    assert report.tables["questions"] + report.tables["answers"] == 663 + 1572 - 5
    rejects = pq.read_table(report.out / "rejects.parquet").to_pylist()
    assert sorted(r["category"] for r in rejects) == sorted(
        [
            "missing CreationDate",
            "missing Id",
            "missing PostTypeId",
            "unparsable Score",
            "unparsable CreationDate",
        ]
    )
    by_line = {r["source_line"]: r for r in rejects}
    assert set(by_line) == {i + 1 for i in edits}
    assert "Score: cannot parse 'abc" in by_line[rows[30] + 1]["reason"]
    # The row as written in the file, for a person to inspect.
    assert by_line[rows[3] + 1]["raw"] == lines[rows[3]].strip().decode()
    assert report.inputs[0].rejected == {r["category"]: 1 for r in rejects}
    # Answers to a rejected question are accounted for; but the question that lost its Id
    # cannot be matched to its answers, and data check says so.
    lost_id = lines[rows[10]].split(b'Idx="')[1].split(b'"')[0].decode()
    failures = [r for r in check_dataset(report.out).results if r.status == "fail"]
    assert [r.name for r in failures] == ["answer parents"]
    assert f"→{lost_id}" in failures[0].detail


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf  \r\n", "the file is empty"),
        (b"just some text\n", "line 1: not an XML dump (expected a <posts> root element)"),
    ],
)
def test_empty_or_non_xml_file(
    data: bytes, expected: str, run_ingest: IngestFn, tmp_path: Path
) -> None:
    path = _write(tmp_path, "Posts.xml", data)
    with pytest.raises(InputError) as err:
        run_ingest(path)
    assert str(err.value) == f"{path}: {expected}"


def test_wrong_root_element(run_ingest: IngestFn, tmp_path: Path) -> None:
    users = (DUMPS / "ai.stackexchange.com" / "Users.xml").read_bytes()
    path = _write(tmp_path, "Posts.xml", users)
    with pytest.raises(InputError) as err:
        run_ingest(path)
    assert str(err.value) == (
        f"{path}: line 2: root element is <users>, expected <posts> (is this really Posts.xml?)"
    )


def test_folder_without_posts_xml(run_ingest: IngestFn, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "Votes.xml").write_bytes((DUMPS / "ai.stackexchange.com" / "Votes.xml").read_bytes())
    with pytest.raises(InputError) as err:
        run_ingest(folder)
    assert str(err.value) == f"{folder}: no Posts.xml in this folder (found: Votes.xml)"


def test_missing_path_and_unsupported_file(run_ingest: IngestFn, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        run_ingest(tmp_path / "nope")
    odd = _write(tmp_path, "dump.json", b"{}")
    with pytest.raises(InputError, match=r"unsupported file type '\.json'"):
        run_ingest(odd)


def test_a_bad_second_source_publishes_nothing(run_ingest: IngestFn, tmp_path: Path) -> None:
    bad = _write(tmp_path, "Posts.xml", BEER.read_bytes()[:5000])
    out = tmp_path / "ds"
    with pytest.raises(InputError):
        run_ingest(DUMPS / "coffee.stackexchange.com", bad, out=out)
    assert not out.exists()


def test_existing_dataset_survives_a_failed_rerun(run_ingest: IngestFn, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    good = run_ingest(DUMPS / "coffee.stackexchange.com", out=out)
    bad = _write(tmp_path, "Posts.xml", BEER.read_bytes()[:5000])
    with pytest.raises(InputError):
        run_ingest(bad, out=out)
    assert Dataset.open(out).fingerprint == good.fingerprint


def test_refuses_to_overwrite_a_folder_that_is_not_a_dataset(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    with pytest.raises(OutputError, match="refusing to overwrite"):
        run_ingest(DUMPS / "coffee.stackexchange.com", out=out)
    assert (out / "thesis.tex").read_text() == "do not delete"


def test_unexpected_elements_are_rejected_not_dropped(run_ingest: IngestFn, tmp_path: Path) -> None:
    lines = BEER.read_bytes().split(b"\n")
    lines.insert(5, b'  <comment Id="1" Text="not a post" />')
    path = _write(tmp_path, "Posts.xml", b"\n".join(lines))
    report = run_ingest(path)
    assert report.inputs[0].rejected == {"unexpected element": 1}
    assert report.tables["questions"] + report.tables["answers"] == 663 + 1572
    etree.fromstring(b"\n".join(lines).replace(b"\xef\xbb\xbf", b""))  # still well-formed


def test_broken_or_empty_archive(run_ingest: IngestFn, tmp_path: Path) -> None:
    import py7zr

    good = tmp_path / "site.7z"
    with py7zr.SevenZipFile(good, "w") as z:
        z.write(DUMPS / "coffee.stackexchange.com" / "Posts.xml", arcname="Posts.xml")
    cut = _write(tmp_path, "cut.7z", good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut\.7z: not a readable \.7z archive"):
        run_ingest(cut)
    other = tmp_path / "other.7z"
    with py7zr.SevenZipFile(other, "w") as z:
        z.writestr(b"hello", "readme.txt")
    with pytest.raises(InputError, match=r"no Posts\.xml, .* inside \(members: readme\.txt\)"):
        run_ingest(other)


def test_corrupt_archive_data_names_the_member(run_ingest: IngestFn, tmp_path: Path) -> None:
    import py7zr

    archive = tmp_path / "site.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(DUMPS / "coffee.stackexchange.com" / "Posts.xml", arcname="Posts.xml")
    data = bytearray(archive.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 2000):
        data[i] ^= 0x5A  # the header still lists the member; its compressed bytes are wrong
    broken = _write(tmp_path, "site.7z", bytes(data))
    out = tmp_path / "ds"
    with pytest.raises(InputError, match=r"site\.7z:Posts\.xml: cannot decompress"):
        run_ingest(broken, out=out, workers=2)
    assert not out.exists()
