"""``askwell spark ingest`` and ``askwell spark score``: the single-box ingestion and batch
scoring, run on Spark (the ``spark`` extra). PySpark is imported only when a command runs,
so ``askwell --help`` works without it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from askwell.cli.common import BUNDLE_TRUST, Group, console, reports_errors
from askwell.errors import ConfigError, InputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

app = typer.Typer(
    cls=Group,
    help="Ingest and score on a Spark cluster (or local mode), with the single-box code: "
    "pip install 'askwell[spark]'; Java 17+. Run under spark-submit for a cluster.",
    no_args_is_help=True,
)

_MASTER_HELP = (
    "Spark master: local[N], spark://…, yarn, k8s://… (default: what spark-submit set, "
    "else local[*])."
)


@contextmanager
def _session(master: str | None, split_mb: float | None) -> Iterator[SparkSession]:
    from rich.markup import escape

    from askwell.spark import require_pyspark
    from askwell.spark.session import start_session

    try:
        require_pyspark()
    except ConfigError as exc:  # printed with Rich markup: "[spark]" must stay text
        raise ConfigError(escape(str(exc))) from None
    conf = {}
    if split_mb is not None:
        conf["spark.sql.files.maxPartitionBytes"] = str(int(split_mb * (1 << 20)))
    spark = start_session(master, conf=conf)
    if split_mb is not None:
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(int(split_mb * (1 << 20))))
    try:
        yield spark
    except Exception as exc:
        from pyspark.errors import AnalysisException

        if isinstance(exc, AnalysisException):  # a path that is not there, for one
            raise InputError(str(exc).splitlines()[0]) from None
        raise


@app.command("ingest")
@reports_errors
def ingest_command(
    sources: list[str] = typer.Argument(
        ...,
        help="Dump site folders or .xml dump files (Posts.xml, Votes.xml, Comments.xml, "
        "PostHistory.xml), local or on the cluster's storage (s3a://…, hdfs://…). A .7z "
        "archive cannot be split: decompress it to storage first.",
        show_default=False,
    ),
    out: str = typer.Option(
        ..., "--out", "-o", help="Folder (or URI) to create or replace: one folder per table."
    ),
    site: str | None = typer.Option(
        None, "--site", help="Site name for every source (default: from the folder or file name)."
    ),
    keep_html: bool = typer.Option(
        False, "--keep-html", help="Also store each body's raw HTML (body_html)."
    ),
    chunk_mb: float = typer.Option(
        1.5, "--chunk-mb", min=0.001, help="MB of XML each task parses at a time."
    ),
    split_mb: float | None = typer.Option(
        None,
        "--split-mb",
        min=0.01,
        help="MB of a file per Spark task (spark.sql.files.maxPartitionBytes; default 128).",
    ),
    master: str | None = typer.Option(None, "--master", help=_MASTER_HELP),
) -> None:
    """Dumps → the same Parquet tables as askwell ingest (questions, answers, rejects, and
    votes/comments/post_history when given), each partitioned by site, plus _askwell.json
    (what was read, kept and rejected)."""
    from askwell.spark.ingest import spark_ingest

    with _session(master, split_mb) as spark:
        report = spark_ingest(
            spark, sources, out, site=site, keep_html=keep_html, chunk_mb=chunk_mb
        )
    table = Table(title=f"askwell spark ingest → {report.out}", title_justify="left")
    for col in ("source", "site", "read", "kept", "rejected", "skipped"):
        table.add_column(col, justify="left" if col in ("source", "site") else "right")
    for r in report.inputs:
        table.add_row(
            r.source,
            r.site,
            f"{r.rows_read:,}",
            ", ".join(f"{k} {v:,}" for k, v in r.kept.items()),
            ", ".join(f"{k} {v:,}" for k, v in r.rejected.items()) or "0",
            f"{sum(r.skipped_post_types.values()):,}",
        )
    out_console = console()
    out_console.print(table)
    out_console.print(
        f"{sum(report.tables.values()):,} rows in {len(report.tables)} tables in "
        f"{report.seconds:.1f} s",
        highlight=False,
    )


@app.command("score")
@reports_errors
def score_command(
    in_path: str = typer.Argument(
        ...,
        metavar="IN",
        help="Parquet file(s) with a title column (body, tags, site, id optional), as askwell "
        "score reads them, or a dataset folder (askwell ingest's or askwell spark ingest's).",
        show_default=False,
    ),
    out: str = typer.Argument(..., metavar="OUT", help="Parquet folder to write (replaced)."),
    html: bool = typer.Option(False, "--html", help="The body column is HTML."),
    top: int = typer.Option(3, "--top", min=0, help="Suggestions to write per question."),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        help=f"A model bundle (default: the model askwell ships). {BUNDLE_TRUST}",
    ),
    split_mb: float | None = typer.Option(
        None, "--split-mb", min=0.01, help="MB of input per Spark task (default 128)."
    ),
    master: str | None = typer.Option(None, "--master", help=_MASTER_HELP),
) -> None:
    """Score every question with the bundle broadcast to the executors and the same
    Predictor as askwell score: OUT gets askwell score's columns."""
    from askwell.spark.score import spark_score

    with _session(master, split_mb) as spark:
        report = spark_score(spark, in_path, out, bundle=bundle, html=html, top=top)
    console().print(
        f"{report.describe()} → {report.out} ({report.seconds:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
    if report.rows and not report.scored:
        raise InputError(f"{in_path}: no row could be scored (first: {report.first_error})")
