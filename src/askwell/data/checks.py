"""``askwell data check``: is an ingested dataset what it claims to be?

Three layers, cheapest first: the files (present, checksums and row counts as the manifest
says, schemas as askwell defines them); the values of each table (pandera schemas: ids
present, counts non-negative, dates parse and are plausible, a question's close reason is
one of the known ones and only on a closed question), read in batches without the
text columns so memory stays flat; and integrity across tables (unique (site, id), answers'
parents resolve where the site's dump is complete).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from askwell.data.dataset import Dataset
from askwell.data.schema import CLOSE_REASONS, TABLE_SCHEMAS
from askwell.data.sources import sha256_file

Status = Literal["pass", "fail", "warn"]
# The first Stack Exchange post is from 2008; anything earlier is a parse error.
_EARLIEST = datetime(2008, 1, 1, tzinfo=UTC)
_NON_NEGATIVE = (
    "view_count", "answer_count", "comment_count", "favorite_count", "n_code_blocks",
    "n_inline_code", "n_links", "n_images", "n_lists", "n_list_items", "n_paragraphs",
    "n_blockquotes", "body_chars", "code_chars", "bounty_amount",
)  # fmt: skip
_EXAMPLES = 5


@dataclass(frozen=True)
class CheckResult:
    name: str
    table: str
    status: Status
    detail: str


@dataclass
class CheckReport:
    dataset: Path
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status != "fail" for r in self.results)

    def add(self, name: str, table: str, status: Status, detail: str) -> None:
        self.results.append(CheckResult(name, table, status, detail))


def check_dataset(folder: Path, allow_partial: bool = False) -> CheckReport:
    """Runs every check; never raises for a failed check (see ``CheckReport.ok``)."""
    dataset = Dataset.open(folder, allow_partial=allow_partial)
    report = CheckReport(folder)
    if dataset.partial:
        report.add("complete", "-", "warn", "dataset is marked partial; checking what is there")
    readable = _check_files(dataset, report)
    for table in readable:
        _check_values(dataset, table, report)
    if {"questions", "answers"} <= set(readable):
        _check_integrity(dataset, report)
    rejects = dataset.manifest["tables"].get("rejects", {}).get("rows", 0)
    report.add(
        "rejects",
        "rejects",
        "warn" if rejects else "pass",
        f"{rejects:,} rows were rejected at ingestion (see rejects.parquet)"
        if rejects
        else "no rejected rows",
    )
    return report


def _check_files(dataset: Dataset, report: CheckReport) -> list[str]:
    readable = []
    for table, entry in sorted(dataset.manifest["tables"].items()):
        path = dataset.folder / entry["file"]
        if table not in TABLE_SCHEMAS:
            report.add("known table", table, "fail", f"{path.name}: not an askwell table")
            continue
        if not path.is_file():
            report.add("file present", table, "fail", f"{path.name} is missing")
            continue
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            report.add(
                "checksum",
                table,
                "fail",
                f"{path.name}: sha256 {digest[:12]}… differs from the manifest's",
            )
            continue
        try:
            meta = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            report.add("readable", table, "fail", f"{path.name}: {exc}")
            continue
        expected = TABLE_SCHEMAS[table]
        if not schema.remove_metadata().equals(expected, check_metadata=False):
            missing = set(expected.names) - set(schema.names)
            report.add(
                "schema",
                table,
                "fail",
                f"columns or types differ from schema (missing: {sorted(missing)})",
            )
            continue
        if meta.num_rows != entry.get("rows"):
            report.add(
                "row count",
                table,
                "fail",
                f"{meta.num_rows:,} rows, manifest says {entry.get('rows')}",
            )
            continue
        report.add("file", table, "pass", f"{meta.num_rows:,} rows; checksum and schema match")
        readable.append(table)
    return readable


def _value_schema(table: str, dated_required: bool) -> object:
    import pandera.pandas as pa_

    names = set(TABLE_SCHEMAS[table].names)
    columns: dict[str, object] = {"id": pa_.Column("Int64", nullable=False)}
    if "creation_date" in names:
        now = datetime.now(UTC) + timedelta(days=2)
        columns["creation_date"] = pa_.Column(
            "datetime64[ms, UTC]",
            checks=pa_.Check.in_range(_EARLIEST, now),
            nullable=not dated_required,
        )
    for name in _NON_NEGATIVE:
        if name in names:
            columns[name] = pa_.Column(None, checks=pa_.Check.ge(0), nullable=True)
    if "close_reason" in names:
        columns["close_reason"] = pa_.Column(
            None, checks=pa_.Check.isin(CLOSE_REASONS), nullable=True
        )
    return pa_.DataFrameSchema(columns, strict=False, coerce=False)


def _batches(dataset: Dataset, table: str, columns: list[str]) -> Iterator[pa.RecordBatch]:
    path = dataset.folder / dataset.manifest["tables"][table]["file"]
    yield from pq.ParquetFile(path).iter_batches(batch_size=200_000, columns=columns)


def _undated_sources(dataset: Dataset) -> set[str]:
    """Sources whose export had no CreationDate column at all (their dates stay empty)."""
    return {
        str(i["source"])
        for i in dataset.manifest.get("inputs", [])
        if "CreationDate" in (i.get("missing_columns") or [])
    }


def _check_values(dataset: Dataset, table: str, report: CheckReport) -> None:
    if table == "rejects" or not {"id", "source"} <= set(TABLE_SCHEMAS[table].names):
        return  # not posts: retraining's provenance and advice tables are checked by schema
    import pandera.errors as pe

    names = TABLE_SCHEMAS[table].names
    columns = [
        c
        for c in ("id", "creation_date", "source", "closed", "close_reason", *_NON_NEGATIVE)
        if c in names
    ]
    undated = _undated_sources(dataset)
    schema = _value_schema(table, dated_required=not undated)
    failures: list[str] = []
    undated_nulls = 0
    for batch in _batches(dataset, table, columns):
        if undated and "creation_date" in names:
            # Rows from a source without a CreationDate column may lack a date; no other.
            null_date = pc.is_null(batch.column("creation_date"))
            from_undated = pc.is_in(batch.column("source"), pa.array(sorted(undated)))
            bad = pc.and_(null_date, pc.invert(from_undated))
            if pc.any(bad).as_py():
                failures.append(f"creation_date: {pc.sum(bad).as_py():,} rows without a date")
            undated_nulls += pc.sum(pc.and_(null_date, from_undated)).as_py() or 0
        if "close_reason" in names:
            # A close reason says why a question was closed: an open one has none.
            closed = pc.fill_null(batch.column("closed"), False)
            bad = pc.and_(pc.is_valid(batch.column("close_reason")), pc.invert(closed))
            if pc.any(bad).as_py():
                failures.append(f"close_reason: {pc.sum(bad).as_py():,} rows not closed")
            batch = batch.drop_columns(["closed"])
        frame = batch.drop_columns(["source"]).to_pandas(types_mapper=_nullable)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                schema.validate(frame, lazy=True)  # type: ignore[attr-defined]
        except pe.SchemaErrors as exc:
            cases = exc.failure_cases
            for (column, check), group in cases.groupby(["column", "check"], sort=True):
                examples = ", ".join(map(str, group["failure_case"].head(_EXAMPLES)))
                failures.append(f"{column}: {len(group):,} rows fail {check} (e.g. {examples})")
    if failures:
        report.add("values", table, "fail", "; ".join(failures))
    else:
        note = (
            f"; {undated_nulls:,} rows undated (their export has no CreationDate)"
            if undated_nulls
            else ""
        )
        closing = ", close reasons known" if "close_reason" in names else ""
        report.add(
            "values",
            table,
            "pass",
            "ids present, counts non-negative, dates plausible" + closing + note,
        )


def _nullable(type_: pa.DataType) -> object:
    import pandas as pd

    # Integers with nulls stay integers (not float NaN); timestamps keep their UTC zone.
    return pd.Int64Dtype() if pa.types.is_integer(type_) else None


def _post_keys(dataset: Dataset) -> tuple[pa.Table, pa.Table]:
    questions = dataset.table("questions", ["site", "id", "accepted_answer_id", "source"])
    answers = dataset.table("answers", ["site", "id", "parent_id", "source"])
    return questions, answers


def _complete_sites(dataset: Dataset) -> set[str]:
    """Sites whose posts all come from dump XML (a file or an archive), not SEDE queries:
    only there must every answer's parent be present."""
    by_site: dict[str, set[str]] = {}
    for i in dataset.manifest.get("inputs", []):
        if i.get("kind") == "posts":
            by_site.setdefault(str(i["site"]), set()).add(str(i.get("format")))
    return {site for site, formats in by_site.items() if formats == {"xml"}}


def _keys(site: pa.ChunkedArray, ids: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(site, pc.cast(ids, pa.string()), "\x1f")


def _check_integrity(dataset: Dataset, report: CheckReport) -> None:
    questions, answers = _post_keys(dataset)
    posts = pa.concat_tables([questions.select(["site", "id"]), answers.select(["site", "id"])])
    counts = posts.group_by(["site", "id"]).aggregate([("id", "count")])
    dupes = counts.filter(pc.greater(counts["id_count"], 1))
    if dupes.num_rows:
        examples = _examples(dupes, "{site}/{id}")
        report.add(
            "unique (site, id)",
            "questions+answers",
            "fail",
            f"{dupes.num_rows:,} ids appear more than once (e.g. {examples})",
        )
    else:
        report.add(
            "unique (site, id)",
            "questions+answers",
            "pass",
            f"{posts.num_rows:,} posts, no duplicate id within a site",
        )
    complete = _complete_sites(dataset)
    question_keys = _keys(questions["site"], questions["id"])
    has_parent = pc.is_valid(answers["parent_id"])
    resolved = pc.is_in(_keys(answers["site"], answers["parent_id"]), question_keys)
    unresolved = pc.and_(has_parent, pc.invert(pc.fill_null(resolved, False)))
    missing_parent = pc.invert(has_parent)
    in_complete = pc.is_in(answers["site"], pa.array(sorted(complete), pa.string()))
    rejects = dataset.table("rejects", ["site", "row_id"])
    rejected = pc.binary_join_element_wise(rejects["site"], rejects["row_id"], "\x1f")
    parent_keys = _keys(answers["site"], answers["parent_id"])
    # A parent that ingestion rejected (and kept in rejects) is accounted for, not missing.
    orphaned = pc.and_(unresolved, pc.fill_null(pc.is_in(parent_keys, rejected), False))
    unresolved = pc.and_(unresolved, pc.invert(orphaned))
    bad = pc.and_(pc.or_(unresolved, missing_parent), in_complete)
    n_bad = pc.sum(bad).as_py() or 0
    n_elsewhere = (pc.sum(pc.or_(unresolved, missing_parent)).as_py() or 0) - n_bad
    n_orphaned = pc.sum(orphaned).as_py() or 0
    if n_orphaned:
        report.add(
            "answer parents (rejected)",
            "answers",
            "warn",
            f"{n_orphaned:,} answers belong to questions rejected at ingestion",
        )
    if n_bad:
        rows = answers.filter(bad)
        examples = _examples(rows, "{site}/{id}→{parent_id}")
        report.add(
            "answer parents",
            "answers",
            "fail",
            f"{n_bad:,} answers in complete dumps have no question (e.g. {examples})",
        )
    else:
        report.add(
            "answer parents",
            "answers",
            "pass",
            f"every answer's parent resolves in {len(complete)} complete site dump(s)",
        )
    if n_elsewhere:
        report.add(
            "answer parents (exports)",
            "answers",
            "warn",
            f"{n_elsewhere:,} answers from SEDE exports have no question in the "
            "dataset (an export is a query result, not a whole site)",
        )
    answer_keys = _keys(answers["site"], answers["id"])
    accepted = questions.filter(pc.is_valid(questions["accepted_answer_id"]))
    found = pc.is_in(_keys(accepted["site"], accepted["accepted_answer_id"]), answer_keys)
    missing = accepted.num_rows - (pc.sum(found).as_py() or 0)
    report.add(
        "accepted answers",
        "questions",
        "warn" if missing else "pass",
        f"{missing:,} of {accepted.num_rows:,} accepted answers are not in the dataset "
        "(slices and exports hold only part of a site)"
        if missing
        else f"all {accepted.num_rows:,} accepted answers are present",
    )


def _examples(table: pa.Table, template: str) -> str:
    """The first few rows, each formatted by ``template`` (column names in braces)."""
    return ", ".join(template.format(**row) for row in table.slice(0, _EXAMPLES).to_pylist())


def render_report(report: CheckReport, console: Console) -> None:
    table = Table(title=f"data check: {report.dataset}", title_justify="left")
    table.add_column("check")
    table.add_column("table")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    style = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    for r in report.results:
        table.add_row(r.name, r.table, f"[{style[r.status]}]{r.status}[/]", r.detail)
    console.print(table)
    fails = sum(r.status == "fail" for r in report.results)
    warns = sum(r.status == "warn" for r in report.results)
    verdict = "[green]OK[/]" if report.ok else f"[bold red]FAILED[/] ({fails} failing checks)"
    console.print(f"{verdict}; {warns} warning(s)")
