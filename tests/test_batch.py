"""Batch scoring (``askwell score IN OUT``): every format in and out, bad rows named and kept,
exactly the API's score, streaming, and the command as a user runs it. Real files, the real
default model; nothing mocked."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from askwell.errors import InputError, OutputError
from askwell.explain.predictor import Predictor, Scored
from askwell.markdown import to_html
from askwell.records import Question
from askwell.serving.batch import COLUMNS, PARQUET_ROWS, score_file, score_rows
from tests.conftest import run_askwell

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "q1",
        "title": "How do I skip bad CSV lines in pandas?",
        "body": "My CSV read fails.\n\n```\ndf = pd.read_csv('a.csv')\n```\n\n"
        "How can I skip the bad lines? Thanks in advance!!!\n",
        "tags": "python,pandas",
    },
    {"id": "q2", "title": "help me!!!", "body": "pls help urgent, it does not work", "tags": ""},
    {
        "id": "q3",
        "title": "Why does my espresso taste sour?",
        "body": "I grind fine and pull 25 s shots.\nWhat should I change?",
        "tags": "espresso",
    },
]
EXTENSIONS = (".csv", ".jsonl", ".parquet")


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load()


def direct(predictor: Predictor, row: dict[str, Any], *, html: bool = False) -> Scored:
    """The API's path: ``Predictor.score`` of ``Question.from_html``."""
    tags = tuple(t for t in str(row.get("tags") or "").split(",") if t)
    body = str(row.get("body") or "")
    return predictor.score(Question.from_html(row["title"], body if html else to_html(body), tags))


def write_input(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".csv":
        names = list(dict.fromkeys(k for row in rows for k in row))
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, names)
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    """Rows as written, in one shape: None where a value is absent, suggestions as a list."""
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
    else:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            assert tuple(reader.fieldnames or ()) == COLUMNS
            rows = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
        for row in rows:
            for name in ("score", "closing_risk"):
                row[name] = None if row[name] is None else float(row[name])
            row["review"] = None if row["review"] is None else row["review"] == "true"
    for row in rows:
        assert list(row) == list(COLUMNS)
        if isinstance(row["suggestions"], str):
            row["suggestions"] = json.loads(row["suggestions"])
    return rows


def assert_scored_as(row: dict[str, Any], scored: Scored, top: int = 3) -> None:
    assert row["error"] is None
    assert row["score"] == scored.score  # exactly: the same code path, every digit written
    assert row["closing_risk"] == scored.closing_risk and row["verdict"] == scored.verdict
    assert scored.closing is not None and row["close_reason"] == scored.closing.reason
    assert row["band"] == scored.band and row["review"] == scored.review
    assert (
        row["suggestions"] == [{"id": s.id, "message": s.message} for s in scored.suggestions][:top]
    )
    assert row["model_version"] == scored.model_version


@pytest.mark.parametrize("out_ext", EXTENSIONS)
@pytest.mark.parametrize("in_ext", EXTENSIONS)
def test_every_format_in_and_out(
    tmp_path: Path, predictor: Predictor, in_ext: str, out_ext: str
) -> None:
    source = write_input(tmp_path / f"in{in_ext}", QUESTIONS)
    out = tmp_path / f"out{out_ext}"
    summary = score_file(source, out, predictor)
    assert (summary.rows, summary.scored, summary.errors) == (3, 3, 0)
    assert summary.describe() == "3 scored, 0 with errors"
    rows = read_output(out)
    assert [r["id"] for r in rows] == ["q1", "q2", "q3"]
    for row, question in zip(rows, QUESTIONS, strict=True):
        assert_scored_as(row, direct(predictor, question))
    assert any(r["suggestions"] for r in rows)  # the top suggestions are really there


def test_the_same_score_as_the_api_in_every_spelling(tmp_path: Path, predictor: Predictor) -> None:
    question = QUESTIONS[0]
    expected = direct(predictor, question)
    # Tags as the dumps and people spell them, and as a list; case-insensitive column names.
    spellings = ["python,pandas", "<python><pandas>", "|python|pandas|", "python pandas"]
    rows = [dict(question, tags=t, id=str(i)) for i, t in enumerate(spellings)]
    for ext in (".csv", ".parquet"):
        summary = score_file(
            write_input(tmp_path / f"t{ext}", rows), tmp_path / "t.jsonl", predictor
        )
        assert summary.scored == 4
        for row in read_output(tmp_path / "t.jsonl"):
            assert_scored_as(row, expected)
    listed = write_input(tmp_path / "l.jsonl", [dict(question, tags=["python", "pandas"])])
    score_file(listed, tmp_path / "l.csv", predictor)
    assert_scored_as(read_output(tmp_path / "l.csv")[0], expected)
    # A SEDE export as it comes: Title, Body in HTML, <a><b> tags.
    sede = tmp_path / "sede.csv"
    html = to_html(question["body"])
    write_input(
        sede, [{"Id": 7, "Title": question["title"], "Body": html, "Tags": "<python><pandas>"}]
    )
    score_file(sede, tmp_path / "sede.parquet", predictor, html=True, top=1)
    (row,) = read_output(tmp_path / "sede.parquet")
    assert row["id"] == "7"
    assert_scored_as(row, direct(predictor, dict(question, body=html), html=True), top=1)
    # And score_rows, for callers that have the rows in hand.
    (scored,) = score_rows(predictor, [{"Title": question["title"], "body": question["body"],
                                        "tags": ["python", "pandas"]}])  # fmt: skip
    assert scored["score"] == expected.score and scored["id"] == 1


def test_the_same_score_as_the_http_api(tmp_path: Path, predictor: Predictor) -> None:
    from fastapi.testclient import TestClient

    from askwell.config import Settings
    from askwell.serving.app import create_app
    from askwell.serving.service import ModelChoice

    settings = Settings.model_validate(
        {"serve": {"database_url": f"sqlite:///{tmp_path / 'askwell.db'}"}}
    )
    app = create_app(settings, model=ModelChoice(predictor, predictor.info.name, "test", None))
    score_file(write_input(tmp_path / "in.csv", QUESTIONS), tmp_path / "out.csv", predictor)
    batch = read_output(tmp_path / "out.csv")
    with TestClient(app, base_url="http://localhost") as client:
        for question, row in zip(QUESTIONS, batch, strict=True):
            tags = [t for t in question["tags"].split(",") if t]
            body = {"title": question["title"], "body": question["body"], "tags": tags}
            response = client.post("/v1/score", json=body)
            assert response.status_code == 200, response.text
            api = response.json()
            assert not api["degraded"]
            assert row["score"] == api["score"] and row["band"] == api["band"]
            assert (
                row["suggestions"]
                == [{"id": s["id"], "message": s["message"]} for s in api["suggestions"]][:3]
            )


def test_bad_csv_rows_are_named_kept_and_counted(tmp_path: Path, predictor: Predictor) -> None:
    source = tmp_path / "mixed.csv"
    q1, _, q3 = QUESTIONS
    with source.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "body", "tags"])  # line 1
        writer.writerow([q1["id"], q1["title"], q1["body"], q1["tags"]])  # lines 2-9
        writer.writerow(["e1", "", "a body", "python"])  # line 10
        writer.writerow(["e2", "   ", "a body", "python"])  # line 11
        f.write("e3,only a title\n")  # line 12: two fields of four
        f.write("\n")  # line 13: blank, no row
        writer.writerow(["e4", "How do I do it?", "a body", "<python"])  # line 14
        writer.writerow([q3["id"], q3["title"], q3["body"], q3["tags"]])  # line 15
    out = tmp_path / "deep" / "er" / "scores.csv"  # folders created
    summary = score_file(source, out, predictor)
    assert (summary.rows, summary.scored, summary.errors) == (6, 2, 4)
    assert summary.describe() == "2 scored, 4 with errors (first: line 10: title is empty)"
    rows = read_output(out)
    assert [r["id"] for r in rows] == ["q1", "e1", "e2", "e3", "e4", "q3"]
    assert [r["error"] for r in rows[1:5]] == [
        "line 10: title is empty",
        "line 11: title is empty",
        "line 12: 2 fields where the header has 4 (cut off or badly quoted)",
        "line 14: tags: '<' without its '>' (expected <a><b>)",
    ]
    for bad in rows[1:5]:
        assert bad["score"] is None and bad["band"] is None and bad["suggestions"] is None
    assert_scored_as(rows[0], direct(predictor, q1))
    assert_scored_as(rows[5], direct(predictor, q3))


def test_bad_jsonl_lines_are_named_kept_and_counted(tmp_path: Path, predictor: Predictor) -> None:
    lines = [
        json.dumps(QUESTIONS[0]).encode(),  # 1
        b'{"title": "unfinished",',  # 2
        b"[1, 2]",  # 3
        b'{"title": 5}',  # 4
        b'{"title": "T?", "body": ["a"]}',  # 5
        b"   ",  # 6: blank, no row
        b'{"title": "caf\xe9?"}',  # 7: Latin-1, not UTF-8
        b'{"title": "\\ud800 lone?"}',  # 8
        b'{"title": "T?", "tags": [1]}',  # 9
        b'{"body": "no title here"}',  # 10
        b'{"id": [1], "title": "T?"}',  # 11
        b'{"title": "T?", "Title": "t?"}',  # 12
        json.dumps(dict(QUESTIONS[2], id=33)).encode(),  # 13
    ]
    source = tmp_path / "mixed.ndjson"
    source.write_bytes(b"\n".join(lines) + b"\n")
    summary = score_file(source, tmp_path / "out.jsonl", predictor)
    assert (summary.rows, summary.scored, summary.errors) == (12, 2, 10)
    rows = read_output(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["q1", 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 33]
    assert [r["error"] for r in rows[1:-1]] == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes, column 24)",
        "line 3: expected a JSON object, found a list",
        "line 4: title must be text, found a number",
        "line 5: body must be text, found a list",
        "line 7: not UTF-8 text (byte 14)",
        "line 8: title is not valid Unicode text (a lone surrogate at character 0)",
        "line 9: tags must be text, found a number",
        "line 10: title is missing",
        "line 11: id must be text or a number, found a list",
        "line 12: two title fields",
    ]
    assert_scored_as(rows[0], direct(predictor, QUESTIONS[0]))
    assert_scored_as(rows[-1], direct(predictor, QUESTIONS[2]))


def test_a_damaged_parquet_row_group_costs_only_its_rows(
    tmp_path: Path, predictor: Predictor
) -> None:
    rows = [{"title": f"How do I sort list {i}?", "body": f"My list {i}. " * 20} for i in range(30)]
    rows[3]["title"] = None
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source, row_group_size=10)
    column = pq.ParquetFile(source).metadata.row_group(1).column(0)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(source.read_bytes())
    data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    source.write_bytes(bytes(data))
    summary = score_file(source, tmp_path / "out.parquet", predictor)
    assert (summary.rows, summary.scored, summary.errors) == (30, 19, 11)
    out = read_output(tmp_path / "out.parquet")
    assert [r["id"] for r in out] == list(range(1, 31))  # int64: the row numbers
    assert pq.read_schema(tmp_path / "out.parquet").field("id").type == pa.int64()
    assert out[3]["error"] == "row 4: title is missing"
    assert all(r["error"] is None for r in out[:3] + out[4:10] + out[20:])
    assert all(
        r["error"].startswith(f"row {r['id']}: cannot be read: row group 2 is damaged (")
        and "\n" not in r["error"]
        for r in out[10:20]
    )


def test_problems_with_the_files_are_one_clear_error(tmp_path: Path, predictor: Predictor) -> None:
    good = write_input(tmp_path / "in.csv", QUESTIONS[:1])
    out = tmp_path / "out.csv"

    def error(source: Path, target: Path = out) -> str:
        with pytest.raises((InputError, OutputError)) as caught:
            score_file(source, target, predictor)
        return str(caught.value)

    assert error(tmp_path / "none.csv") == f"{tmp_path / 'none.csv'}: no such file"
    assert error(tmp_path) == f"{tmp_path}: is a folder, not a file"
    (tmp_path / "in.txt").write_text("title\nT\n")
    assert error(tmp_path / "in.txt") == (
        f"{tmp_path / 'in.txt'}: unknown format ('.txt'); use .csv, .jsonl, .ndjson or .parquet"
    )
    assert error(good, tmp_path / "out") == (
        f"{tmp_path / 'out'}: unknown format (no extension); use .csv, .jsonl, .ndjson or .parquet"
    )
    assert error(good, good) == f"{good}: is the input file; write the scores to another file"
    (tmp_path / "dir.csv").mkdir()
    assert (
        error(good, tmp_path / "dir.csv")
        == f"{tmp_path / 'dir.csv'}: is a folder; give a file name"
    )
    no_title = tmp_path / "no_title.csv"
    no_title.write_text("id,name,text\n1,a,b\n", encoding="utf-8")
    assert error(no_title) == f"{no_title}: line 1: no title column (columns: 'id', 'name', 'text')"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert error(empty) == f"{empty}: the file is empty; expected a header with a title column"
    fake = tmp_path / "fake.parquet"
    fake.write_text("title\nT\n")
    assert error(fake).startswith(f"{fake}: not a readable Parquet file (")
    assert not out.exists()  # nothing written for a file that cannot be read


def test_ids_carried_or_numbered(tmp_path: Path, predictor: Predictor) -> None:
    plain = [{"title": q["title"], "body": q["body"]} for q in QUESTIONS]
    score_file(write_input(tmp_path / "a.csv", plain), tmp_path / "a.jsonl", predictor)
    assert [r["id"] for r in read_output(tmp_path / "a.jsonl")] == [1, 2, 3]
    numbered = [dict(q, id=10 * i) for i, q in enumerate(plain, 1)]
    score_file(
        write_input(tmp_path / "b.parquet", numbered), tmp_path / "b.parquet2.parquet", predictor
    )
    assert pq.read_table(tmp_path / "b.parquet2.parquet").column("id").to_pylist() == [10, 20, 30]
    score_file(write_input(tmp_path / "c.jsonl", numbered), tmp_path / "c.jsonl.csv", predictor)
    assert [r["id"] for r in read_output(tmp_path / "c.jsonl.csv")] == ["10", "20", "30"]


class _Watch:
    """A progress sink that checks, part-way, that the run streams."""

    def __init__(self, source: Path, out: Path) -> None:
        self.source, self.out = source, out
        self.calls: list[tuple[int, float | None]] = []

    def update(self, rows: int, fraction: float | None) -> None:
        self.calls.append((rows, fraction))
        if rows == PARQUET_ROWS + 500:
            # A row group is already on disk, and the input is not yet all read.
            assert self.out.stat().st_size > 0
            assert fraction is not None and fraction < 0.85


def test_streams_a_few_thousand_rows(tmp_path: Path, predictor: Predictor) -> None:
    n = 2 * PARQUET_ROWS
    source = tmp_path / "many.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for i in range(n):  # every other title empty: cheap error rows keep the test fast
            title = f"How do I sort list {i} in Python?" if i % 2 else ""
            f.write(json.dumps({"title": title, "body": "I have a list. How?"}) + "\n")
    out = tmp_path / "many.parquet"
    watch = _Watch(source, out)
    summary = score_file(source, out, predictor, progress=watch)
    assert (summary.rows, summary.scored, summary.errors) == (n, n // 2, n // 2)
    assert summary.first_error == "line 1: title is empty"
    assert [rows for rows, _ in watch.calls] == list(range(1, n + 1))
    assert watch.calls[-1][1] == 1.0
    written = pq.ParquetFile(out)
    assert written.metadata.num_row_groups == 2 and written.metadata.num_rows == n
    ids = written.read(columns=["id"]).column("id").to_pylist()
    assert ids == [str(i) for i in range(1, n + 1)]  # JSONL ids are text: in order, none lost


def test_the_command_scores_a_file(tmp_path: Path, predictor: Predictor) -> None:
    source = tmp_path / "in.csv"
    rows = [
        {
            "id": f"r{i}",
            "title": f"How do I sort list {i}?",
            "body": "A list. How?",
            "tags": "python",
        }
        for i in range(300)
    ]
    rows[150]["title"] = ""  # line 152
    write_input(source, rows)
    out = tmp_path / "new" / "scores.parquet"
    result = run_askwell("score", str(source), str(out), "--top", "2")
    assert result.returncode == 0, result.stderr
    assert "299 scored, 1 with errors (first: line 152: title is empty)" in result.stdout
    assert result.stderr == ""  # no bar off a terminal, no traceback
    written = read_output(out)
    assert len(written) == 300 and written[150]["error"] == "line 152: title is empty"
    # Another process, the same score to the last digit.
    assert_scored_as(written[7], direct(predictor, rows[7]), top=2)


def test_scoring_processes_write_what_one_process_writes(
    tmp_path: Path, predictor: Predictor
) -> None:
    """``--workers 2``: the same rows, the same scores to the last digit, in the same order
    (over several chunks), bad rows named where they were, and the progress bar to the end."""
    source = tmp_path / "in.csv"
    rows = [
        {**QUESTIONS[i % 3], "id": f"r{i}", "title": f"{QUESTIONS[i % 3]['title']} ({i})"}
        for i in range(150)
    ]
    for i in (0, 64, 149):
        rows[i]["title"] = ""
    write_input(source, rows)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_file(source, one, predictor)
    result = run_askwell("score", str(source), str(two), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "147 scored, 3 with errors (first: line 2: title is empty)" in result.stdout
    assert two.read_text(encoding="utf-8") == one.read_text(encoding="utf-8")
    errors = [i for i, r in enumerate(read_output(two)) if r["error"]]
    assert errors == [0, 64, 149]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/none.csv", "{tmp}/o.csv"], "error: {tmp}/none.csv: no such file"),
        (["{tmp}/in.tsv", "{tmp}/o.csv"], "error: {tmp}/in.tsv: unknown format ('.tsv')"),
        (["{tmp}/in.csv", "{tmp}/o.xlsx"], "error: {tmp}/o.xlsx: unknown format ('.xlsx')"),
        (["{tmp}/in.csv"], "error: batch mode takes two paths: askwell score {tmp}/in.csv OUT"),
        (["{tmp}/in.csv", "{tmp}/o.csv", "--title", "T"], "error: --title, --body, --tags"),
        ([], "error: give --title (and --body) for one question, or IN OUT for a file"),
    ],
)
def test_the_command_says_what_is_wrong_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "in.tsv").write_text("title\nT\n")
    write_input(tmp_path / "in.csv", QUESTIONS[:1])
    result = run_askwell("score", *(a.format(tmp=tmp_path) for a in args))
    assert result.returncode == 2
    assert result.stderr.startswith(message.format(tmp=tmp_path))
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_the_command_fails_when_no_row_could_be_scored(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "no title"}\n[1]\n', encoding="utf-8")
    result = run_askwell("score", str(source), str(tmp_path / "out.csv"))
    assert result.returncode == 2
    assert "0 scored, 2 with errors (first: line 1: title is missing)" in result.stdout
    assert result.stderr.startswith(f"error: {source}: no row could be scored")
    assert len(read_output(tmp_path / "out.csv")) == 2  # the errors are still written


def test_one_question_mode_still_works() -> None:
    result = run_askwell("score", "--title", "How do I sort a list in Python?", "--tags", "python")
    assert result.returncode == 0, result.stderr
    assert "chance of" in result.stdout and "model: " in result.stdout
