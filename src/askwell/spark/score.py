"""``askwell spark score``: batch scoring on Spark, through the single-box ``Predictor``.

The bundles are read and verified once on the driver, then broadcast as bytes; each Python
worker loads them once (``Predictor.load``: shipped bundles are trusted by their pinned
SHA-256, others by the deployment key that ``ASKWELL_BUNDLES__KEY_FILE`` names on the
executors) and scores its partitions with ``mapInArrow``.

Two kinds of input:

- Parquet files (a file, a folder of them, or their URIs) with the columns ``askwell score``
  reads: every row goes through the same ``serving.batch`` row code as ``askwell score IN
  OUT`` (rows numbered in file order, so messages and default ids are the same), and OUT
  holds the same columns and values, in the same order.
- a dataset (``askwell ingest``'s folder, or ``askwell spark ingest``'s): its questions as
  training reads them (``Question.from_row``: the stored body text and structure, not
  re-parsed Markdown); OUT has the same columns, ordered by site and id.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from askwell.data.dataset import MANIFEST
from askwell.errors import InputError
from askwell.records import Question

# The row code of askwell score itself, so that both give the same rows.
from askwell.serving.batch import COLUMNS, Record, input_columns, score_records
from askwell.spark.layout import SUMMARY

if TYPE_CHECKING:
    from pyspark import Broadcast
    from pyspark.sql import DataFrame, SparkSession

    from askwell.explain.predictor import Predictor, Scored

# The columns Question.from_row reads from a questions table.
_ROW_COLUMNS = (
    "id", "site", "title", "tags", "body_text", "code_blocks", "inline_code", "links",
    "images", "quotes", "n_lists", "n_list_items", "n_paragraphs", "n_blockquotes",
)  # fmt: skip


@dataclass(frozen=True)
class Bundles:
    """The answer and closing bundles as bytes: what is broadcast."""

    answer: bytes
    closing: bytes | None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.answer + (self.closing or b"")).hexdigest()


@dataclass
class SparkScoreReport:
    out: str
    rows: int
    scored: int
    errors: int
    first_error: str | None
    seconds: float
    mode: str  # "files" or "dataset"

    def describe(self) -> str:
        text = f"{self.scored:,} scored, {self.errors:,} with errors"
        return text + (f" (first: {self.first_error})" if self.first_error else "")


def read_bundles(bundle: Path | None, closing: bool = True) -> Bundles:
    """The bundles ``Predictor.load(bundle)`` would use, verified here before any task runs."""
    from askwell.explain.predictor import Predictor
    from askwell.models.bundle import default_bundle, default_closing_bundle

    Predictor.load(bundle, closing=closing)  # a bad or untrusted bundle fails on the driver
    answer = (bundle or default_bundle()).read_bytes()
    return Bundles(answer, default_closing_bundle().read_bytes() if closing else None)


_LOADED: dict[str, Predictor] = {}  # per Python worker: loaded once, reused by its tasks


def _predictor(bundles: Bundles) -> Predictor:
    from askwell.explain.predictor import Predictor

    found = _LOADED.get(bundles.digest)
    if found is None:
        with tempfile.TemporaryDirectory(prefix="askwell-bundle-") as folder:
            answer = Path(folder) / "answer.askwell"
            answer.write_bytes(bundles.answer)
            closing: Path | bool = False
            if bundles.closing is not None:
                closing = Path(folder) / "closing.askwell"
                closing.write_bytes(bundles.closing)
            found = _LOADED[bundles.digest] = Predictor.load(answer, closing=closing)
    return found


# ----------------------------------------------------------------------------- tasks


_TYPES = {
    "closing_risk": pa.float64(),
    "score": pa.float64(),
    "review": pa.bool_(),
}  # the others are text, as askwell score writes them to Parquet (suggestions as JSON)


def _output_schema(id_is_int: bool) -> pa.Schema:
    """``askwell score``'s Parquet columns (``serving.batch.COLUMNS``), after a row number."""
    fields = [("_n", pa.int64())]
    for name in COLUMNS:
        if name == "id":
            fields.append((name, pa.int64() if id_is_int else pa.string()))
        else:
            fields.append((name, _TYPES.get(name, pa.string())))
    return pa.schema(fields)


def _to_batch(
    schema: pa.Schema, numbers: list[int], rows: list[dict[str, object]], id_is_int: bool
) -> pa.RecordBatch:
    out: list[dict[str, Any]] = []
    for number, row in zip(numbers, rows, strict=True):
        suggestions = row["suggestions"]
        out.append(
            {
                **row,
                "_n": number,
                "id": row["id"] if id_is_int else str(row["id"]),
                "suggestions": None
                if suggestions is None
                else json.dumps(suggestions, ensure_ascii=False),
            }
        )
    return pa.RecordBatch.from_pylist(out, schema=schema)


@dataclass(frozen=True)
class _FilePlan:
    bundles: Broadcast[Bundles]
    names: dict[str, str]  # FIELDS name → the input's column
    offsets: dict[str, int]  # file → rows in the files before it
    id_is_int: bool
    html: bool
    top: int


def _score_file_rows(
    plan: _FilePlan, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    predictor = _predictor(plan.bundles.value)
    schema = _output_schema(plan.id_is_int)
    for batch in batches:
        numbers: list[int] = []
        records: list[Record] = []
        for row in batch.to_pylist():
            number = plan.offsets[str(row["_file"])] + int(row["_row"]) + 1
            numbers.append(number)
            fields = {k: row[name] for k, name in plan.names.items()}
            records.append(Record(f"row {number}", number, fields))
        rows = list(score_records(predictor, records, html=plan.html, top=plan.top))
        yield _to_batch(schema, numbers, rows, plan.id_is_int)


@dataclass(frozen=True)
class _DatasetPlan:
    bundles: Broadcast[Bundles]
    top: int


def _score_dataset_rows(
    plan: _DatasetPlan, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    predictor = _predictor(plan.bundles.value)
    schema = _output_schema(True)
    for batch in batches:
        rows: list[dict[str, object]] = []
        for row in batch.to_pylist():
            question = Question.from_row(row)
            try:
                result = _scored_row(row["id"], question, predictor.score(question), plan.top)
            except Exception as exc:  # a bug, said on its row, as askwell score does
                result = _failed_row(row["id"], f"id {row['id']}: {type(exc).__name__}: {exc}")
            rows.append(result)
        yield _to_batch(schema, [0] * len(rows), rows, True)


def _scored_row(ident: object, question: Question, scored: Scored, top: int) -> dict[str, object]:
    """An output row as ``serving.batch`` writes a scored one."""
    return {
        "id": ident,
        "site": question.site,
        "verdict": scored.verdict,
        "closing_risk": scored.closing_risk,
        "close_reason": None if scored.closing is None else scored.closing.reason,
        "score": scored.score,
        "band": scored.band,
        "review": scored.review,
        "suggestions": [{"id": s.id, "message": s.message} for s in scored.suggestions[:top]],
        "model_version": scored.model_version,
        "error": None,
    }


def _failed_row(ident: object, error: str) -> dict[str, object]:
    return {name: None for name in COLUMNS} | {"id": ident, "error": error}


# ----------------------------------------------------------------------------- the job


def spark_score(
    spark: SparkSession,
    source: str,
    out: str,
    *,
    bundle: Path | None = None,
    html: bool = False,
    top: int = 3,
) -> SparkScoreReport:
    """Scores every question of ``source`` (Parquet files or a dataset) into ``out`` (a
    Parquet folder, replaced)."""
    from pyspark.sql import functions as sf
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.perf_counter()
    dataset = _dataset_table(source)
    bundles = spark.sparkContext.broadcast(read_bundles(bundle))
    scored: DataFrame
    if dataset is not None:
        frame = spark.read.parquet(dataset)
        missing = [c for c in _ROW_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"{source}: not a questions table (missing: {', '.join(missing)})")
        schema = _output_schema(True)
        scored = (
            frame.select(*_ROW_COLUMNS)
            .mapInArrow(
                partial(_score_dataset_rows, _DatasetPlan(bundles, top)),
                from_arrow_schema(schema, prefer_timestamp_ntz=False),
            )
            .orderBy("site", "id")
        )
        mode = "dataset"
    else:
        frame = spark.read.parquet(source)
        names = _columns(source, frame.columns)
        id_type = dict(frame.dtypes).get(names["id"]) if "id" in names else None
        id_is_int = id_type is None or id_type in ("bigint", "int", "smallint", "tinyint")
        rows = frame.select(
            *[sf.col(f"`{c}`") for c in names.values()],
            sf.col("_metadata.file_path").alias("_file"),
            sf.col("_metadata.row_index").alias("_row"),
        )
        counts = sorted(
            (str(r["_file"]), int(r["count"])) for r in rows.groupBy("_file").count().collect()
        )
        offsets, total = {}, 0
        for name, count in counts:
            offsets[name] = total
            total += count
        plan = _FilePlan(bundles, names, offsets, id_is_int, html, top)
        schema = _output_schema(id_is_int)
        scored = rows.mapInArrow(
            partial(_score_file_rows, plan), from_arrow_schema(schema, prefer_timestamp_ntz=False)
        ).orderBy("_n")
        mode = "files"
    scored = scored.persist()
    try:
        scored.drop("_n").write.mode("overwrite").parquet(out)
        stats = scored.agg(
            sf.count(sf.lit(1)).alias("rows"),
            sf.count("error").alias("errors"),
            sf.min_by("error", sf.when(sf.col("error").isNotNull(), sf.col("_n"))).alias("first"),
        ).collect()[0]
    finally:
        scored.unpersist()
    rows_done, errors = int(stats["rows"]), int(stats["errors"])
    first = None if stats["first"] is None else str(stats["first"])
    return SparkScoreReport(
        out, rows_done, rows_done - errors, errors, first, time.perf_counter() - started, mode
    )


def _dataset_table(source: str) -> str | None:
    """The questions table of a dataset folder (local), or None for Parquet files."""
    folder = Path(source.removeprefix("file://"))
    if "://" in source and not source.startswith("file:"):
        return f"{source.rstrip('/')}/questions" if source.endswith("/questions") else None
    if (folder / SUMMARY).is_file():
        return str((folder / "questions").resolve())
    if (folder / MANIFEST).is_file():
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        table = manifest.get("tables", {}).get("questions")
        if table is None:
            raise InputError(f"{source}: the dataset has no questions table")
        return str((folder / table["file"]).resolve())
    if not folder.exists():
        raise InputError(f"{source}: no such file or folder")
    if folder.is_file() and folder.suffix.lower() != ".parquet":
        raise InputError(
            f"{source}: askwell spark score reads Parquet (files or a folder of them) or a "
            "dataset; score CSV and JSONL with askwell score, or convert them to Parquet"
        )
    return None


def _columns(source: str, columns: list[str]) -> dict[str, str]:
    """The input's column for each of ``FIELDS``, matched as askwell score matches them."""
    return {key: columns[i] for key, i in input_columns(source, columns).items()}
