"""askwell spark ingest and score against the single-box paths, on the real dumps, in Spark's
local mode: the same tables row for row and value for value (rejects included), and the same
scores. One local[2] session for the module; splits and chunks kept small so every file is
read by several tasks and cut into several chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from askwell.cli import app
from askwell.config import IngestSettings
from askwell.data.dataset import Dataset
from askwell.data.ingest import ingest
from askwell.errors import ConfigError, InputError
from askwell.explain.predictor import Predictor
from askwell.records import Question
from askwell.serving.batch import score_file
from askwell.spark import require_pyspark
from askwell.spark.ingest import SparkIngestReport, spark_ingest
from askwell.spark.layout import SUMMARY, read_table
from askwell.spark.score import spark_score
from askwell.spark.session import start_session
from tests.conftest import DUMPS

pytestmark = [
    pytest.mark.spark,
    pytest.mark.data,
    pytest.mark.slow,
    # askwell's tasks exchange Arrow batches, not pandas frames (PySpark 4.3 warns on pandas 3).
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

SITES = [DUMPS / "beer.stackexchange.com", DUMPS / "coffee.stackexchange.com"]
SPLIT_BYTES = 256 * 1024  # every dump here is read by several tasks
CHUNK_MB = 0.05  # and each task parses several chunks


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = start_session(
        "local[2]",
        app_name="askwell-tests",
        conf={
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.sql.files.maxPartitionBytes": str(SPLIT_BYTES),
            "spark.sql.files.openCostInBytes": "0",
        },
    )
    yield session
    session.stop()


def _reject_dump(folder: Path) -> Path:
    """A site built from the first rows of the coffee dump (a byte-order mark, no newline at
    the end) with what askwell rejects or skips: a missing date, an unparsable score, a
    repeated Id far from the first, invalid UTF-8, another post type, an unexpected
    element."""
    lines = (DUMPS / "coffee.stackexchange.com" / "Posts.xml").read_bytes().split(b"\n")
    head, rows = lines[:2], lines[2:240]
    bad = [
        b'  <row Id="900001" PostTypeId="1" Score="0" Body="&lt;p&gt;When?&lt;/p&gt;" '
        b'Title="No date" Tags="&lt;a&gt;" />',
        b'  <row Id="900002" PostTypeId="1" CreationDate="2015-01-01T00:00:00.000" Score="abc" '
        b'Body="&lt;p&gt;x&lt;/p&gt;" Title="Bad score" />',
        b'  <row Id="900003" PostTypeId="2" ParentId="1" CreationDate="2015-01-02T00:00:00.000" '
        b'Score="1" Body="&lt;p&gt;caf\xe9 \xff&lt;/p&gt;" />',
        b'  <row Id="900004" PostTypeId="3" CreationDate="2015-01-02T00:00:00.000" Score="1" />',
        b'  <unexpected Id="5" />',
    ]
    site = folder / "rejects.example.com"
    site.mkdir(parents=True)
    body = [*head, *rows[:60], *bad[:2], *rows[60:], bad[2], rows[0], *bad[3:], b"</posts>"]
    (site / "Posts.xml").write_bytes(b"\n".join(body))
    return site


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [*SITES, _reject_dump(tmp_path_factory.mktemp("dumps"))]


@pytest.fixture(scope="module")
def single(dumps: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("single") / "dataset"
    ingest(list(dumps), out, settings=IngestSettings(workers=1, chunk_mb=CHUNK_MB))
    return Dataset.open(out)


@pytest.fixture(scope="module")
def on_spark(
    spark: Any, dumps: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> SparkIngestReport:
    out = tmp_path_factory.mktemp("spark") / "dataset"
    return spark_ingest(spark, [str(d) for d in dumps], str(out), chunk_mb=CHUNK_MB)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("site", "ascending"), ("source_line", "ascending")])


@pytest.mark.parametrize("table", ["questions", "answers", "rejects"])
def test_spark_ingest_gives_the_single_box_tables(
    table: str, single: Dataset, on_spark: SparkIngestReport
) -> None:
    expected = _sorted(single.table(table))
    got = _sorted(read_table(Path(on_spark.out), table))
    assert got.schema == expected.schema
    assert got.num_rows == expected.num_rows > 0
    for name in expected.schema.names:  # column by column: a failure names the column
        assert got.column(name).to_pylist() == expected.column(name).to_pylist(), name


def test_the_rejects_are_the_ones_askwell_ingest_finds(on_spark: SparkIngestReport) -> None:
    rejects = read_table(Path(on_spark.out), "rejects").to_pylist()
    assert sorted(r["category"] for r in rejects) == [
        "duplicate Id",
        "missing CreationDate",
        "unexpected element",
        "unparsable Score",
    ]
    site = next(r for r in on_spark.inputs if r.site == "rejects.example.com")
    assert site.utf8_replacements == 2
    assert site.skipped_post_types == {"3": 1}


def test_the_summary_counts_as_the_manifest_does(
    single: Dataset, on_spark: SparkIngestReport
) -> None:
    fields = ("source", "site", "rows_read", "kept", "rejected", "skipped_post_types")
    fields += ("utf8_replacements", "utf8_replacement_lines")
    expected = [{k: i[k] for k in fields} for i in single.manifest["inputs"]]
    summary = json.loads((Path(on_spark.out) / SUMMARY).read_text(encoding="utf-8"))
    assert [{k: i[k] for k in fields} for i in summary["inputs"]] == expected
    for table, entry in summary["tables"].items():
        assert entry["rows"] == single.manifest["tables"][table]["rows"], table
    # Partitioned by site: one folder per site under each table.
    sites = sorted(p.name for p in (Path(on_spark.out) / "questions").glob("site=*"))
    names = [*(d.name for d in SITES), "rejects.example.com"]
    assert sites == sorted(f"site={name}" for name in names)


def _bad_file(folder: Path, content: bytes) -> Path:
    site = folder / "broken.example.com"
    site.mkdir(parents=True)
    (site / "Posts.xml").write_bytes(content)
    return site


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'<?xml version="1.0"?>\n<votes>\n  <row Id="1" />\n</votes>', id="root"),
        pytest.param(
            (DUMPS / "coffee.stackexchange.com" / "Posts.xml").read_bytes()[:300_000],
            id="truncated",
        ),
    ],
)
def test_a_bad_dump_fails_as_askwell_ingest_fails(
    content: bytes, spark: Any, tmp_path: Path
) -> None:
    site = _bad_file(tmp_path / "in", content)
    with pytest.raises(InputError) as single:
        ingest([site], tmp_path / "single", settings=IngestSettings(workers=1))
    out = tmp_path / "spark"
    with pytest.raises(InputError) as distributed:
        spark_ingest(spark, [str(site)], str(out))
    assert str(distributed.value) == str(single.value)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".spark")]


def test_archives_and_csv_are_refused_with_the_way_out(spark: Any, tmp_path: Path) -> None:
    archive = tmp_path / "coffee.stackexchange.com.7z"
    archive.write_bytes(b"7z\xbc\xaf\x27\x1c")
    result = CliRunner().invoke(
        app, ["spark", "ingest", str(archive), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "decompress it to storage first" in result.output
    sede = tmp_path / "export.csv"
    sede.write_text("Id,PostTypeId,CreationDate,Title\n1,1,2015-01-01,T\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["spark", "ingest", str(sede), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "with askwell ingest" in result.output


# ----------------------------------------------------------------------------- scoring


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load()


def test_spark_score_gives_askwell_scores_file_for_file(
    spark: Any, single: Dataset, predictor: Predictor, tmp_path: Path
) -> None:
    questions = single.table("questions").slice(0, 40)
    rows: list[dict[str, Any]] = [
        {
            "id": q["id"],
            "title": q["title"],
            "body": q["body_text"],
            "tags": q["tags"],
            "site": q["site"],
        }
        for q in questions.to_pylist()
    ]
    rows[3]["title"] = "   "  # row errors are rows too
    rows[7]["body"] = ""
    rows[11]["tags"] = ["python", ""]
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
    expected = tmp_path / "single.parquet"
    score_file(path, expected, predictor)
    out = tmp_path / "scored"
    report = spark_score(spark, str(path), str(out))
    got = pq.read_table(out)
    assert got.schema.remove_metadata() == pq.read_schema(expected).remove_metadata()
    assert got.to_pylist() == pq.read_table(expected).to_pylist()
    assert (report.rows, report.errors) == (40, 2)
    assert report.first_error is not None and report.first_error.startswith("row 4: ")


def test_spark_score_of_a_dataset_is_the_predictor_on_each_question(
    spark: Any, dumps: list[Path], predictor: Predictor, tmp_path: Path
) -> None:
    dataset = tmp_path / "dataset"
    ingest([dumps[-1]], dataset, settings=IngestSettings(workers=1))
    out = tmp_path / "scored"
    report = spark_score(spark, str(dataset), str(out), top=2)
    got = pq.read_table(out).to_pylist()
    questions = Dataset.open(dataset).table("questions").to_pylist()
    assert report.rows == len(got) == len(questions) > 50
    assert report.mode == "dataset" and report.errors == 0
    by_key = {(r["site"], r["id"]): r for r in got}
    for question in questions[:25]:
        scored = predictor.score(Question.from_row(question))
        row = by_key[(question["site"], question["id"])]
        assert row["score"] == scored.score
        assert row["closing_risk"] == scored.closing_risk
        assert (row["verdict"], row["band"], row["review"]) == (
            scored.verdict,
            scored.band,
            scored.review,
        )
        assert json.loads(row["suggestions"]) == [
            {"id": s.id, "message": s.message} for s in scored.suggestions[:2]
        ]


def test_spark_score_reads_an_askwell_spark_dataset(
    spark: Any, on_spark: SparkIngestReport, tmp_path: Path
) -> None:
    from askwell.spark.score import _dataset_table

    table = _dataset_table(on_spark.out)
    assert table is not None and table.endswith("/questions")


# ----------------------------------------------------------------------------- the CLI


def test_the_commands_answer_help_and_run(spark: Any, dumps: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["spark", "--help"]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(app, ["spark", "ingest", str(dumps[-1]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / SUMMARY).is_file()
    again = runner.invoke(app, ["spark", "ingest", str(dumps[-1]), "--out", str(out)])
    assert again.exit_code == 0, again.output  # a Spark dataset is replaced whole
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    refused = runner.invoke(app, ["spark", "ingest", str(dumps[-1]), "--out", str(taken)])
    assert refused.exit_code == 2 and "refusing to overwrite" in refused.output
    assert (taken / "keep.txt").read_text() == "mine"


def test_without_pyspark_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'askwell\[spark\]'"):
        require_pyspark()
    result = CliRunner().invoke(app, ["spark", "ingest", "x", "--out", "y"])
    assert result.exit_code == 2
    assert "pip install 'askwell[spark]'" in result.output
    assert CliRunner().invoke(app, ["--help"]).exit_code == 0
