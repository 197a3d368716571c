"""The Kaggle closed-questions CSV (../shared/data/stackoverflow-closed): recognised by its
header, its counts as its README says, its Markdown read as a person reading it sees it;
and the closing columns it brings, consistent with the dumps'."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from lxml import etree

from askwell.data.checks import check_dataset
from askwell.data.dataset import Dataset
from askwell.data.profile import profile_dataset
from askwell.data.sources import sha256_file
from askwell.markdown import to_html
from tests.conftest import DUMPS, SHARED_DATA, IngestFn, ingest_dataset

pytestmark = pytest.mark.data

SAMPLE = SHARED_DATA / "stackoverflow-closed" / "train-sample.csv"
HEADER = (
    "PostId,PostCreationDate,OwnerUserId,OwnerCreationDate,ReputationAtPostCreation,"
    "OwnerUndeletedAnswerCountAtPostTime,Title,BodyMarkdown,Tag1,Tag2,Tag3,Tag4,Tag5,"
    "PostClosedDate,OpenStatus"
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return ingest_dataset(tmp_path_factory.mktemp("closed") / "ds", SAMPLE)


@pytest.fixture(scope="module")
def questions(sample: Dataset) -> pa.Table:
    return sample.table("questions")


@pytest.fixture(scope="module")
def by_id(questions: pa.Table) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in questions.to_pylist()}


def test_the_readme_counts(sample: Dataset, questions: pa.Table) -> None:
    assert questions.num_rows == 44_506 == pc.count_distinct(questions["id"]).as_py()
    assert sample.manifest["tables"]["rejects"]["rows"] == 0
    assert sample.manifest["tables"]["answers"]["rows"] == 0
    status = Counter(
        "open" if not closed else reason
        for closed, reason in zip(
            questions["closed"].to_pylist(), questions["close_reason"].to_pylist(), strict=True
        )
    )
    assert status == {
        "open": 23_454,
        "not a real question": 8_105,
        "off topic": 6_448,
        "not constructive": 4_748,
        "too localized": 1_751,
    }
    has_date = pc.is_valid(questions["closed_date"])
    assert pc.sum(has_date).as_py() == 21_052
    assert pc.all(pc.equal(has_date, questions["closed"])).as_py()  # closed ⇔ a closing date
    dates = pc.min_max(questions["creation_date"]).as_py()
    assert dates["min"].date().isoformat() == "2008-08-01"
    assert dates["max"].date().isoformat() == "2012-07-31"
    first_tags = Counter(tags[0] for tags in questions["tags"].to_pylist())
    assert len(first_tags) == 82
    assert first_tags["asp.net"] == 2_451 and first_tags["c"] == 2_301
    assert set(questions["site"].to_pylist()) == {"stackoverflow.com"}


def test_the_manifest_names_the_schema_and_what_was_not_read(sample: Dataset) -> None:
    (entry,) = sample.manifest["inputs"]
    assert entry["kind"] == "closed_questions" and entry["format"] == "csv"
    assert entry["site"] == "stackoverflow.com"
    assert entry["ignored_columns"] == ["OwnerCreationDate", "OwnerUndeletedAnswerCountAtPostTime"]
    assert entry["rows_read"] == entry["kept"]["questions"] == 44_506
    assert entry["sha256"] == sha256_file(SAMPLE)


def test_fields_land_in_the_questions_columns(by_id: dict[int, dict[str, Any]]) -> None:
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        rows = {int(r["PostId"]): r for r in csv.DictReader(f)}
    q, raw = by_id[1085], rows[1085]
    assert q["title"] == raw["Title"] == "Free OCR library"
    assert q["creation_date"] == datetime(2008, 8, 4, 8, 24, 46, tzinfo=UTC)
    assert q["closed_date"] == datetime(2012, 6, 5, 23, 22, 7, tzinfo=UTC)
    assert q["closed"] is True and q["close_reason"] == "not constructive"
    assert q["owner_user_id"] == 214 and q["owner_reputation"] == 1
    assert q["tags"] == [".net", "ocr"]
    assert q["body_markdown"] == raw["BodyMarkdown"]  # as typed, line ends and all
    assert q["body_html"] is None  # not kept unless asked (--keep-html)
    for column in ("score", "answer_count", "view_count", "accepted_answer_id"):
        assert q[column] is None  # the file does not say: unknown, not 0
    # Tags keep their order; empty Tag columns are left out.
    assert by_id[7361413]["tags"] == ["html", "css", "image", "design", "photoshop"]
    assert all(
        q["tags"] == [t for t in (rows[i][f"Tag{k}"] for k in range(1, 6)) if t]
        for i, q in list(by_id.items())[::97]
    )
    # Reputation at post time can be below 1 (a user penalised before asking).
    assert by_id[9054074]["owner_reputation"] == -1


# ---- the Markdown, as a person reading the question sees it ----


def test_indented_code_is_code_and_not_prose(by_id: dict[int, dict[str, Any]]) -> None:
    q = by_id[134]
    assert q["code_blocks"] == [
        "Dim dtDepartment As New DepartmentDataTable()\n"
        "Dim taDepartment As New DepartmentTableAdapter()\n\n"
        "taDepartment.Fill(dtDepartment)"
    ]
    assert "DepartmentTableAdapter" not in q["body_text"]
    assert q["body_text"].startswith("I have and pretty standard table setup")
    assert "I typically do something like this:\n\nHowever, at this point" in q["body_text"]
    assert q["n_paragraphs"] == 5
    # Tab-indented code: tabs are spaces to the next stop of 4, as the site showed them.
    assert by_id[1497742]["code_blocks"] == [
        'void main()\n{\n    char str[2][7] = {"1234567", "abcdefg"};\n    char** p = str;\n'
        '    printf("%d\\n", *(p+1));\n    printf("%c\\n", *(p+1));\n}',
        "1631008309\n5",
    ]
    assert by_id[1497742]["body_text"] == "The output is:\n\nI'm using VC++ 6.0."


def test_language_hints_are_not_prose_and_keep_their_code(
    by_id: dict[int, dict[str, Any]],
) -> None:
    q = by_id[7482316]  # "<!-- language: shell-lang -->", a blank line, then the code
    assert q["code_blocks"] == [
        "cat /etc/udev/rules.d/60-vboxadd.rules\n"
        'KERNEL=="vboxguest", NAME="vboxguest", OWNER="vboxadd", MODE="0660"\n'
        'KERNEL=="vboxuser", NAME="vboxuser", OWNER="vboxadd", MODE="0666"'
    ]
    assert q["inline_code"] == ["drwxr-xr-x", "drwxr-xr-x"]
    assert q["n_lists"] == 1 and q["n_list_items"] == 2
    assert q["body_text"].endswith("But rules.d file doesn't contain my user is it the reason?")
    q = by_id[10722829]  # the hint right under a line of text
    assert len(q["code_blocks"]) == 1 and q["code_blocks"][0].startswith("class myThing() {")
    assert q["code_blocks"][0].endswith("        }\n    }\n}")
    assert "I tryed something like:\n\nThis way the loop never executes" in q["body_text"]
    hinted = [r for r in by_id.values() if "<!-- language" in r["body_markdown"]]
    assert len(hinted) == 33
    for r in hinted:
        assert "<!--" not in r["body_text"] and "language:" not in r["body_text"], r["id"]


def test_reference_links_and_images(by_id: dict[int, dict[str, Any]]) -> None:
    q = by_id[5677316]  # [DataRepeater][1] and two ![enter image description here][n]
    assert q["links"] == [
        "http://blogs.msdn.com/b/vsdata/archive/2009/08/12/"
        "datarepeater-control-for-windows-forms.aspx"
    ]
    assert q["images"] == [
        "http://i.stack.imgur.com/v45Zs.jpg",
        "http://i.stack.imgur.com/u2fnz.jpg",
    ]
    assert q["body_text"] == "Is there something similar to DataRepeater Control for WPF?"
    q = by_id[8590797]  # an image first, a link whose text is its address
    assert q["images"] == ["http://i.stack.imgur.com/Llhxk.png"]
    assert q["links"] == ["http://it.rialex.sk/demonorps/"]
    assert q["body_text"].endswith("The full code can be located at http://it.rialex.sk/demonorps/")
    # A definition right under the last line of text is still a definition (as on the site).
    q = by_id[7002]
    assert q["links"] == ["http://yuiblog.com/blog/2007/06/12/module-pattern/"]
    assert q["body_text"].endswith(
        "What is/are you favorite pattern/s for maintainable JavaScript?"
    )
    assert "[1]" not in q["body_text"]


def test_bare_addresses_are_links_and_typed_html_reads_as_the_site_showed_it(
    by_id: dict[int, dict[str, Any]],
) -> None:
    q = by_id[41752]
    assert q["links"] == ["http://www.hibernate.org/365.html"]
    assert "This list below is from http://www.hibernate.org/365.html, which" in q["body_text"]
    assert q["code_blocks"][0].startswith("* Moregen Free, Open Source")  # indented: code
    assert by_id[9054074]["body_text"] == (
        "can i make this in HTML5 whith canvas?\nor using javaScript, jquery?\nThanks!"
    )  # <br> typed at the line ends


def test_quotes_holding_a_list(by_id: dict[int, dict[str, Any]]) -> None:
    q = by_id[7361413]
    assert q["inline_code"] == ["how to create web-templates using Adobe Photoshop"]
    assert q["n_blockquotes"] == 1 and q["n_lists"] == 1 and q["n_list_items"] == 3
    (quote,) = q["quotes"]
    assert quote.startswith("Will the image remain as it is and we will just put image maps on it?")
    assert quote.endswith("would work if we use the image in HTML?")
    assert "**" not in q["body_text"] and "how would the image be converted" in q["body_text"]


def test_the_body_columns_are_what_the_editor_computes(
    by_id: dict[int, dict[str, Any]],
) -> None:
    from askwell.records import Question

    for q in list(by_id.values())[::211]:
        body = Question.from_markdown(q["title"], q["body_markdown"]).body
        assert body.text == q["body_text"]
        assert list(body.code_blocks) == q["code_blocks"] and list(body.links) == q["links"]
        assert list(body.images) == q["images"] and body.n_paragraphs == q["n_paragraphs"]


def test_data_check_and_profile(sample: Dataset) -> None:
    report = check_dataset(sample.folder)
    assert report.ok, [r for r in report.results if r.status == "fail"]
    profile = profile_dataset(sample.folder)
    (site,) = profile.sites
    assert site.site == "stackoverflow.com" and site.questions == 44_506
    assert site.answered_rate is None and site.accepted_rate is None  # the file does not say


# ---- small files: bad rows, options, other sources ----


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_rows_become_rejects_naming_line_and_field(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "closed.csv",
        [
            HEADER,
            '1,08/01/2008 00:42:38,9,07/31/2008 21:35:26,16,1,Kept,"Uses `x`:\n\n    code()",'
            "c,python,,,,,open",
            "2,13/45/2008 00:00:00,9,,16,1,Bad date,body,c,,,,,,open",
            "3,08/02/2008 00:00:00,9,,16,1,Bad status,body,c,,,,,,closed",
            "4,08/03/2008 00:00:00,9,,16,1,Closed,body,c,,,,,08/04/2008 10:00:00,off topic",
            "5,08/03/2008 00:00:00,9,,16,1,No status,body,c,,,,,,",
        ],
    )
    report = run_ingest(path)
    (entry,) = report.inputs
    assert entry.site == "stackoverflow.com" and report.tables["questions"] == 2
    assert entry.rejected == {
        "unparsable PostCreationDate": 1,
        "unparsable OpenStatus": 1,
        "missing OpenStatus": 1,
    }
    rejects = {
        r["source_line"]: r for r in pq.read_table(report.out / "rejects.parquet").to_pylist()
    }
    assert set(rejects) == {5, 6, 8}  # row 1 spans lines 2-4
    assert rejects[5]["reason"] == "PostCreationDate: cannot parse '13/45/2008 00:00:00' as a date"
    assert rejects[6]["reason"].startswith("OpenStatus: cannot parse 'closed' as an open status")
    assert "not a real question, off topic, not constructive, too localized" in rejects[6]["reason"]
    assert rejects[8]["reason"] == "missing required field OpenStatus"
    assert {r["table"] for r in rejects.values()} == {"questions"}
    assert [r["row_id"] for r in rejects.values()] == ["2", "3", "5"]
    assert json.loads(rejects[6]["raw"])["OpenStatus"] == "closed"
    kept = {r["id"]: r for r in pq.read_table(report.out / "questions.parquet").to_pylist()}
    assert kept[1]["closed"] is False and kept[1]["close_reason"] is None
    assert kept[1]["source_line"] == 2 and kept[1]["code_blocks"] == ["code()"]
    assert kept[1]["tags"] == ["c", "python"] and kept[1]["inline_code"] == ["x"]
    assert kept[4]["closed"] is True and kept[4]["close_reason"] == "off topic"
    assert check_dataset(report.out).ok


def test_keep_html_keeps_the_html_the_editor_renders(run_ingest: IngestFn, tmp_path: Path) -> None:
    markdown = "See [this][1]:\n\n    x = 1\n\n  [1]: http://example.com/a"
    path = tmp_path / "closed.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER.split(","))
        writer.writerow(
            ["7", "08/01/2008 00:00:00", "", "", "", "", "T", markdown, "c"] + [""] * 5 + ["open"]
        )
    report = run_ingest(path, keep_html=True, site="so-sample")
    (q,) = pq.read_table(report.out / "questions.parquet").to_pylist()
    assert q["site"] == "so-sample"  # --site wins over the schema's site
    assert q["body_html"] == to_html(markdown)
    assert q["links"] == ["http://example.com/a"] and q["code_blocks"] == ["x = 1"]
    assert q["owner_user_id"] is None and q["owner_reputation"] is None


def test_the_header_decides_not_the_order_or_the_file_name(
    run_ingest: IngestFn, tmp_path: Path
) -> None:
    columns = list(reversed(HEADER.split(",")))
    values = dict(
        zip(HEADER.split(","), ["8", "08/01/2008 00:00:00"] + [""] * 12 + ["open"], strict=True)
    )
    values.update(Title="T", BodyMarkdown="b", Tag1="x")
    path = _write(
        tmp_path, "QueryResults.csv", [",".join(columns), ",".join(values[c] for c in columns)]
    )
    report = run_ingest(path)
    assert report.inputs[0].kind == "closed_questions" and report.tables["questions"] == 1


def test_dumps_say_closed_from_their_closed_date(run_ingest: IngestFn) -> None:
    posts = DUMPS / "beer.stackexchange.com" / "Posts.xml"
    closed_ids = {
        int(el.get("Id"))
        for _, el in etree.iterparse(str(posts), tag="row")
        if el.get("PostTypeId") == "1" and el.get("ClosedDate")
    }
    assert closed_ids
    report = run_ingest(posts)
    q = pq.read_table(
        report.out / "questions.parquet",
        columns=["id", "closed", "close_reason", "owner_reputation", "body_markdown"],
    )
    assert {i for i, c in zip(q["id"].to_pylist(), q["closed"].to_pylist(), strict=True) if c} == (
        closed_ids
    )
    assert q["closed"].null_count == 0  # a dump always says
    for column in ("close_reason", "owner_reputation", "body_markdown"):
        assert q[column].null_count == q.num_rows  # a dump does not say why, nor these


def test_an_export_without_closed_date_cannot_say(run_ingest: IngestFn) -> None:
    without = run_ingest(
        SHARED_DATA / "sede/datascience.stackexchange.com-2019-meta-only__beatwad/QueryResults.csv"
    )
    q = pq.read_table(without.out / "questions.parquet", columns=["closed"])
    assert q.num_rows and q["closed"].null_count == q.num_rows
    with_date = run_ingest(SHARED_DATA / "sede/stackoverflow-posts__alaingarcia/QueryResults.csv")
    q = pq.read_table(with_date.out / "questions.parquet", columns=["closed", "closed_date"])
    assert q["closed"].null_count == 0
    assert q["closed"].to_pylist() == pc.is_valid(q["closed_date"]).to_pylist()


def test_data_check_catches_impossible_close_reasons(run_ingest: IngestFn, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "closed.csv",
        [HEADER] + [f"{i},08/01/2008 00:00:00,9,,16,1,T{i},body,c,,,,,,open" for i in range(1, 4)],
    )
    out = run_ingest(path).out
    q = pq.read_table(out / "questions.parquet")
    reasons = pa.array([None, "rude", "off topic"], pa.string())  # open, unknown, open
    q = q.set_column(q.schema.get_field_index("close_reason"), "close_reason", reasons)
    pq.write_table(q, out / "questions.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"]["questions"]["sha256"] = sha256_file(out / "questions.parquet")
    (out / "manifest.json").write_text(json.dumps(manifest))
    (failure,) = [r for r in check_dataset(out).results if r.status == "fail"]
    assert "close_reason: 2 rows not closed" in failure.detail
    assert "close_reason: 1 rows fail isin" in failure.detail and "rude" in failure.detail
