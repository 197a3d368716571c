"""``askwell spark ingest``: XML dumps → the single-box Parquet tables, partitioned by site.

Each file is read as numbered lines across many partitions (``spark/lines.py``); each task
cuts its lines into chunks and parses them with ``askwell.data.xmlread.parse_chunk``, the
single-box parser (a dump has one row per line, so a chunk of whole lines is a chunk of whole
rows, and the single-box tables do not depend on where chunks are cut). What the single box
does across chunks is done across the cluster: an Id already kept for the site is a
``duplicate Id`` reject (the first in input and line order is kept), and the per-input
counts are summed. A malformed or wrong-rooted file fails the run before anything is
published, as ``askwell ingest`` does without ``--keep-partial``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from askwell.data import sources
from askwell.data.ingest import duplicate_rejects
from askwell.data.rows import Reject, rejects_batch
from askwell.data.schema import (
    CORE_TABLES,
    KIND_TABLES,
    KINDS,
    PARSER_VERSION,
    POSTS,
    SCHEMA_VERSION,
    TABLE_SCHEMAS,
)
from askwell.data.xmlread import Chunk, ChunkTask, check_header, parse_chunk
from askwell.errors import InputError, OutputError
from askwell.spark.layout import PARTITION_COLUMN, SUMMARY
from askwell.spark.lines import LineIndex, file_key, read_lines
from askwell.versioning import code_version

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_BY_FILE_NAME = {k.file_name.lower(): k for k in KINDS.values()}
_GENERIC = {"posts", "votes", "comments", "posthistory"}
# Repeated ids are looked for per id space: a question and an answer share one.
_ID_SPACE = {"questions": "posts", "answers": "posts"}


@dataclass(frozen=True)
class SparkInput:
    """One XML dump file as Spark reads it."""

    uri: str  # what Spark reads: file:///…, s3a://…, hdfs://…
    display: str  # the tables' ``source``, as askwell ingest writes it
    site: str
    kind: str

    @property
    def key(self) -> str:
        return file_key(self.uri)


@dataclass
class SparkInputReport:
    source: str
    site: str
    kind: str
    rows_read: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped_post_types: dict[str, int] = field(default_factory=dict)
    utf8_replacements: int = 0
    utf8_replacement_lines: list[int] = field(default_factory=list)


@dataclass
class SparkIngestReport:
    out: str
    inputs: list[SparkInputReport]
    tables: dict[str, int]
    seconds: float


def resolve_inputs(paths: list[str], site: str | None = None) -> list[SparkInput]:
    """The XML files named by ``paths``: local dump folders or files (as ``askwell ingest``
    resolves them), or URIs of files on a cluster's storage (``s3a://…/Posts.xml``; the site
    from ``--site`` or the folder above a generic name). Archives and CSV are refused."""
    if not paths:
        raise InputError("no SOURCE given: name a dump folder or an .xml dump file")
    found: list[SparkInput] = []
    for path in paths:
        if _SCHEME.match(path) and not path.startswith("file:"):
            found.append(_remote(path, site))
            continue
        local = Path(path.removeprefix("file://"))
        if local.suffix.lower() == ".7z":
            raise InputError(
                f"{local}: Spark cannot split a .7z archive; decompress it to storage "
                "first (7z x), or ingest it with askwell ingest, which streams it"
            )
        for item in sources.resolve([local], site):
            if item.format != "xml":
                raise InputError(
                    f"{item.path}: askwell spark ingest reads XML dumps; ingest CSV exports "
                    "with askwell ingest"
                )
            found.append(
                SparkInput(item.path.resolve().as_uri(), item.display, item.site, item.kind.name)
            )
    seen: set[str] = set()
    for spark_input in found:
        if spark_input.key in seen:
            raise InputError(f"{spark_input.display}: given twice")
        seen.add(spark_input.key)
    return found


def _remote(uri: str, site: str | None) -> SparkInput:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    if not name.lower().endswith(".xml"):
        raise InputError(
            f"{uri}: name an .xml dump file on the cluster's storage (a .7z cannot be split: "
            "decompress it to storage first)"
        )
    kind = _BY_FILE_NAME.get(name.lower(), POSTS)
    stem = name[: -len(".xml")]
    if site is None:
        parent = uri.rstrip("/").rsplit("/", 2)
        site = parent[-2] if stem.lower() in _GENERIC and len(parent) == 3 else stem
    return SparkInput(uri, uri, site, kind.name)


# ----------------------------------------------------------------------------- tasks

_CHUNK = pa.struct(
    [
        ("rows_read", pa.int64()),
        ("skipped_post_types", pa.string()),  # JSON {post type: count}
        ("utf8_replacements", pa.int64()),
        ("utf8_lines", pa.list_(pa.int64())),
        ("error", pa.string()),  # malformed XML, as askwell ingest says it
        ("error_line", pa.int64()),
    ]
)


def _spark_type(type_: pa.DataType) -> pa.DataType:
    """Spark's timestamps are microseconds: the one type that differs on the way through."""
    if pa.types.is_timestamp(type_):
        return pa.timestamp("us", tz="UTC")
    return type_


def _struct(table: str) -> pa.StructType:
    return pa.struct(
        [pa.field(f.name, _spark_type(f.type), nullable=True) for f in TABLE_SCHEMAS[table]]
    )


def _output_schema(tables: tuple[str, ...]) -> pa.Schema:
    return pa.schema(
        [
            ("_input", pa.int32()),
            ("_table", pa.string()),
            *[(t, _struct(t)) for t in tables],
            ("_chunk", _CHUNK),
        ]
    )


@dataclass(frozen=True)
class _Plan:
    """What every task needs, pickled with the function Spark runs."""

    inputs: dict[str, tuple[int, str, str, str]]  # file key → (index, kind, site, display)
    index: LineIndex
    chunk_bytes: int
    keep_html: bool
    tables: tuple[str, ...]


def _parse_partition(plan: _Plan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition's lines, in chunks of whole lines, through the single-box parser."""
    schema = _output_schema(plan.tables)
    run: tuple[str, int] | None = None
    pending: list[bytes] = []
    size = first = count = 0
    for batch in batches:
        files = batch.column("file").to_pylist()
        blocks = batch.column("block").to_pylist()
        lines = batch.column("line").to_pylist()
        for name, block, line in zip(files, blocks, lines, strict=True):
            if run is None or run != (name, block):
                if pending and run is not None:
                    yield from _parse_lines(plan, schema, run[0], first, pending, count)
                    count += 1
                run = (name, block)
                first = plan.index.first_line[(file_key(name), block)]
                pending, size = [], 0
            pending.append(line or b"")
            size += len(line or b"") + 1
            if size >= plan.chunk_bytes:
                yield from _parse_lines(plan, schema, run[0], first, pending, count)
                count += 1
                first += len(pending)
                pending, size = [], 0
    if pending and run is not None:
        yield from _parse_lines(plan, schema, run[0], first, pending, count)


def _parse_lines(
    plan: _Plan, schema: pa.Schema, name: str, first: int, lines: list[bytes], number: int
) -> Iterator[pa.RecordBatch]:
    key = file_key(name)
    index, kind_name, site, display = plan.inputs[key]
    kind = KINDS[kind_name]
    is_first = first == 1
    is_last = first + len(lines) - 1 == plan.index.total_lines[key]
    # The last line's newline, if the file has one, is not seen: a dump cut short is most
    # often cut inside a row, and its error is then placed where askwell ingest places it.
    data = b"\n".join(lines) + (b"" if is_last else b"\n")
    if is_first:
        try:
            check_header(data, kind, display)
        except InputError as exc:
            yield _stats_batch(schema, index, 0, {}, 0, [], str(exc), 0)
            return
    chunk = Chunk(
        number,
        data,
        first,
        b"" if is_first else f"<{kind.root}>".encode(),
        b"" if is_last else f"</{kind.root}>".encode(),
    )
    result = parse_chunk(
        ChunkTask(chunk, kind_name, site, display, kind.root, False, keep_html=plan.keep_html)
    )
    for table, rows in result.batches.items():
        if rows.num_rows:
            yield _rows_batch(schema, index, table, rows)
    if result.rejects:
        yield _rows_batch(schema, index, "rejects", rejects_batch(result.rejects))
    error = result.error
    yield _stats_batch(
        schema,
        index,
        result.rows_read,
        {str(k): v for k, v in result.skipped_post_types.items()},
        result.utf8_replacements,
        result.utf8_lines,
        None if error is None else error.describe(display),
        None if error is None else error.line,
    )


def _rows_batch(schema: pa.Schema, index: int, table: str, rows: pa.RecordBatch) -> pa.RecordBatch:
    n = rows.num_rows
    columns: list[pa.Array] = [pa.array([index] * n, pa.int32()), pa.array([table] * n)]
    for f in schema:
        if f.name in ("_input", "_table"):
            continue
        if f.name == table:
            children = [rows.column(c.name).cast(c.type) for c in f.type]
            columns.append(pa.StructArray.from_arrays(children, fields=list(f.type)))
        else:
            columns.append(pa.nulls(n, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _stats_batch(
    schema: pa.Schema,
    index: int,
    rows_read: int,
    skipped: dict[str, int],
    utf8: int,
    utf8_lines: list[int],
    error: str | None,
    error_line: int | None,
) -> pa.RecordBatch:
    stats = {
        "rows_read": rows_read,
        "skipped_post_types": json.dumps(skipped),
        "utf8_replacements": utf8,
        "utf8_lines": utf8_lines,
        "error": error,
        "error_line": error_line,
    }
    columns: list[pa.Array] = [pa.array([index], pa.int32()), pa.array(["_chunk"])]
    for f in schema:
        if f.name == "_chunk":
            columns.append(pa.array([stats], f.type))
        elif f.name not in ("_input", "_table"):
            columns.append(pa.nulls(1, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


# ----------------------------------------------------------------------------- the job


def spark_ingest(
    spark: SparkSession,
    paths: list[str],
    out: str,
    *,
    site: str | None = None,
    keep_html: bool = False,
    chunk_mb: float = 1.5,
    compression: str = "zstd",
) -> SparkIngestReport:
    """Ingests ``paths`` into ``out`` (replacing a previous Spark dataset there); raises
    InputError, with nothing published, on an input askwell ingest would refuse."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.perf_counter()
    inputs = resolve_inputs(paths, site)
    target = _Target(spark, out)
    lines, index = read_lines(spark, [i.uri for i in inputs])
    for item in inputs:
        if item.key not in index.total_lines:
            raise InputError(f"{item.display}: the file is empty")
    tables = tuple(
        dict.fromkeys(
            [*CORE_TABLES, *(t for i in inputs for t in KIND_TABLES[i.kind])],
        )
    )
    plan = _Plan(
        {i.key: (n, i.kind, i.site, i.display) for n, i in enumerate(inputs)},
        index,
        max(int(chunk_mb * (1 << 20)), 1),
        keep_html,
        tables,
    )
    arrow_schema = _output_schema(tables)
    parsed = lines.mapInArrow(
        partial(_parse_partition, plan), from_arrow_schema(arrow_schema, prefer_timestamp_ntz=False)
    ).persist(StorageLevel.MEMORY_AND_DISK)
    tmp: str | None = None
    try:
        reports = _chunk_reports(parsed, inputs)
        dupes = _duplicates(spark, parsed, inputs, tables)
        tmp = target.staging()
        written: dict[str, int] = {}
        for table in tables:
            rows = parsed.filter(sf.col("_table") == table).select("_input", f"{table}.*")
            if table in dupes.keys:
                rows = rows.join(
                    sf.broadcast(dupes.keys[table]), ["_input", "source_line"], "left_anti"
                )
            if table == "rejects" and dupes.rejects is not None:
                rows = rows.unionByName(dupes.rejects)
            rows = rows.sortWithinPartitions(PARTITION_COLUMN, "_input", "source_line")
            rows.drop("_input").write.mode("overwrite").option(
                "compression", "none" if compression == "none" else compression
            ).partitionBy(PARTITION_COLUMN).parquet(f"{tmp}/{table}")
        counts = (
            parsed.filter(sf.col("_table") != "_chunk")
            .groupBy("_input", "_table")
            .count()
            .collect()
        )
        for row in counts:
            report = reports[int(row["_input"])]
            report.kept[str(row["_table"])] = int(row["count"])
        for report, item in zip(reports, inputs, strict=True):
            for table in KIND_TABLES[item.kind]:
                report.kept.setdefault(table, 0)
            report.kept.pop("rejects", None)
        for n, table, category in dupes.found:
            reports[n].kept[table] -= 1
            reports[n].rejected[category] = reports[n].rejected.get(category, 0) + 1
        rejected = (
            parsed.filter(sf.col("_table") == "rejects")
            .groupBy("_input", "rejects.category")
            .count()
            .collect()
        )
        for row in rejected:
            got = reports[int(row["_input"])].rejected
            got[str(row["category"])] = got.get(str(row["category"]), 0) + int(row["count"])
        for table in tables:
            written[table] = sum(r.kept.get(table, 0) for r in reports)
        written["rejects"] = sum(sum(r.rejected.values()) for r in reports)
        summary = {
            "layout": "spark",
            "partitioned_by": [PARTITION_COLUMN],
            "code_version": code_version(),
            "schema_version": SCHEMA_VERSION,
            "parser_version": PARSER_VERSION,
            "options": {"keep_html": keep_html},
            "status": "complete",
            "tables": {t: {"path": t, "rows": written[t]} for t in tables},
            "inputs": [asdict(r) for r in reports],
            "errors": [],
        }
        target.write_text(f"{tmp}/{SUMMARY}", json.dumps(summary, indent=2) + "\n")
        target.publish(tmp)
        tmp = None
    finally:
        parsed.unpersist()
        if tmp is not None:
            target.remove(tmp)  # a failed run publishes nothing
    return SparkIngestReport(out, reports, written, time.perf_counter() - started)


def _chunk_reports(parsed: DataFrame, inputs: list[SparkInput]) -> list[SparkInputReport]:
    """The per-input counts, summed over chunks; raises the first fatal input error."""
    from pyspark.sql import functions as sf

    reports = [SparkInputReport(i.display, i.site, i.kind) for i in inputs]
    skipped: list[Counter[str]] = [Counter() for _ in inputs]
    lines: list[list[int]] = [[] for _ in inputs]
    errors: list[tuple[int, int, str]] = []
    for row in parsed.filter(sf.col("_table") == "_chunk").select("_input", "_chunk.*").collect():
        n = int(row["_input"])
        reports[n].rows_read += int(row["rows_read"])
        skipped[n].update({k: int(v) for k, v in json.loads(row["skipped_post_types"]).items()})
        reports[n].utf8_replacements += int(row["utf8_replacements"])
        lines[n].extend(int(v) for v in row["utf8_lines"] or [])
        if row["error"] is not None:
            errors.append((n, int(row["error_line"] or 0), str(row["error"])))
    if errors:
        raise InputError(min(errors)[2])
    for n, report in enumerate(reports):
        report.skipped_post_types = {k: skipped[n][k] for k in sorted(skipped[n], key=int)}
        report.utf8_replacement_lines = sorted(lines[n])[:10]
    return reports


@dataclass
class _Duplicates:
    keys: dict[str, DataFrame] = field(default_factory=dict)  # table → (_input, source_line)
    rejects: DataFrame | None = None  # the rejects they become (with _input)
    found: list[tuple[int, str, str]] = field(default_factory=list)  # (input, table, category)


def _duplicates(
    spark: SparkSession, parsed: DataFrame, inputs: list[SparkInput], tables: tuple[str, ...]
) -> _Duplicates:
    """Rows whose (site, id) was kept before, in input and line order, as askwell ingest
    finds them chunk by chunk; few or none, so they are brought to the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    keyed = [
        parsed.filter(sf.col("_table") == t).select(
            "_input",
            sf.lit(t).alias("table"),
            sf.lit(_ID_SPACE.get(t, t)).alias("space"),
            sf.col(f"{t}.site").alias("site"),
            sf.col(f"{t}.id").alias("id"),
            sf.col(f"{t}.source_line").alias("source_line"),
        )
        for t in tables
        if t != "rejects"
    ]
    ids = keyed[0]
    for more in keyed[1:]:
        ids = ids.unionByName(more)
    order = Window.partitionBy("site", "space", "id").orderBy("_input", "source_line")
    repeats = (
        ids.withColumn("n", sf.row_number().over(order)).filter(sf.col("n") > 1).drop("n").collect()
    )
    found = _Duplicates()
    if not repeats:
        return found
    rejects: list[Reject] = []
    for table in sorted({str(r["table"]) for r in repeats}):
        keys = [(int(r["_input"]), int(r["source_line"])) for r in repeats if r["table"] == table]
        key_frame = spark.createDataFrame(keys, "_input int, source_line long")
        found.keys[table] = key_frame
        rows = (
            parsed.filter(sf.col("_table") == table)
            .select("_input", f"{table}.*")
            .join(sf.broadcast(key_frame), ["_input", "source_line"])
            .toArrow()
        )
        for n in sorted({int(v) for v in rows.column("_input").to_pylist()}):
            mine = rows.filter(pa.compute.equal(rows.column("_input"), n))
            typed = mine.select(TABLE_SCHEMAS[table].names).cast(TABLE_SCHEMAS[table])
            for batch in typed.to_batches():
                made = duplicate_rejects(inputs[n].site, inputs[n].display, table, batch)
                rejects.extend(made)
                found.found.extend((n, table, r.category) for r in made)
    by_source = {i.display: n for n, i in enumerate(inputs)}
    table = pa.Table.from_batches([rejects_batch(rejects)])
    table = table.append_column(
        "_input", pa.array([by_source[s] for s in table.column("source").to_pylist()], pa.int32())
    )
    found.rejects = spark.createDataFrame(table).select("_input", *TABLE_SCHEMAS["rejects"].names)
    return found


class _Target:
    """The destination, through Hadoop's file system API (local, HDFS or object storage):
    built in a sibling folder and swapped in when complete."""

    def __init__(self, spark: SparkSession, out: str) -> None:
        context: Any = spark.sparkContext
        self._jvm: Any = context._jvm
        conf = context._jsc.hadoopConfiguration()
        self.out = out.rstrip("/") if _SCHEME.match(out) else str(Path(out).resolve())
        self._path = self._jvm.org.apache.hadoop.fs.Path(self.out)
        self._fs = self._path.getFileSystem(conf)
        if self._fs.exists(self._path):
            if not self._fs.getFileStatus(self._path).isDirectory():
                raise OutputError(f"{out}: exists and is not a folder")
            listed = self._fs.listStatus(self._path)
            summary = self._jvm.org.apache.hadoop.fs.Path(self._path, SUMMARY)
            if len(listed) and not self._fs.exists(summary):
                raise OutputError(
                    f"{out}: folder is not empty and holds no askwell Spark dataset; "
                    "refusing to overwrite it"
                )

    def staging(self) -> str:
        parent, name = self.out.rsplit("/", 1)
        return f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}"

    def write_text(self, uri: str, text: str) -> None:
        stream = self._fs.create(self._jvm.org.apache.hadoop.fs.Path(uri), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def remove(self, uri: str) -> None:
        self._fs.delete(self._jvm.org.apache.hadoop.fs.Path(uri), True)

    def publish(self, tmp: str) -> None:
        path = self._jvm.org.apache.hadoop.fs.Path
        old = f"{tmp}.old"
        if self._fs.exists(self._path):
            self._fs.rename(self._path, path(old))
        if not self._fs.rename(path(tmp), self._path):
            raise OutputError(f"{self.out}: cannot move the finished dataset into place")
        self._fs.delete(path(old), True)
