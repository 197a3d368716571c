"""``askwell ingest``: Stack Exchange dumps and SEDE exports → a versioned Parquet dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from askwell.data.ingest import IngestReport

from askwell.cli.common import ConfigOption, console, load_settings, reports_errors


class _Bar:
    """Bytes and rows on a terminal; nothing when output is not a TTY."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._rows = 0

    def start(self, label: str, total_bytes: int | None) -> None:
        self._rows = 0
        self._task = self._progress.add_task(label, total=total_bytes, rows=0)

    def advance(self, nbytes: int, rows: int) -> None:
        if self._task is not None:
            self._rows += rows
            self._progress.update(self._task, advance=nbytes, rows=self._rows)

    def finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, total=task.completed)


@reports_errors
def ingest_command(
    sources: list[Path] = typer.Argument(
        ...,
        help="Dump site folders, Posts.xml (or Votes/Comments/PostHistory.xml) files, .7z site "
        "archives as published, SEDE CSV exports, or the Stack Overflow closed-questions CSV "
        "(Kaggle's schema: PostId, BodyMarkdown, OpenStatus…). All go into one dataset.",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to create or replace."),
    site: str | None = typer.Option(
        None, "--site", help="Site name for every source (default: from the folder or file name)."
    ),
    keep_partial: bool = typer.Option(
        False,
        "--keep-partial",
        help="On a malformed file, keep every valid row and publish the dataset marked partial "
        "(exit status stays non-zero).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=0, help="Parser processes (0 = one per core). [config: 0]"
    ),
    keep_html: bool | None = typer.Option(
        None,
        "--keep-html/--no-keep-html",
        help="Also store each body's raw HTML (body_html). [config: off]",
        show_default=False,
    ),
    chunk_mb: float | None = typer.Option(
        None, "--chunk-mb", min=0.001, help="MB of XML per parallel chunk. [config: 1.5]"
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Stream dumps into clean tables: questions, answers, votes, comments, post_history,
    rejects, and manifest.json (input hashes, counts, dataset fingerprint)."""
    from askwell.data.ingest import ingest  # imported here: parser processes skip it
    from askwell.data.workers import lean_process

    settings = load_settings(
        config,
        **{"ingest.workers": workers, "ingest.chunk_mb": chunk_mb, "ingest.keep_html": keep_html},
    )
    lean_process()
    out_console = console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=out_console,
        disable=not out_console.is_terminal,
        transient=False,
    )
    with progress:
        report = ingest(
            sources,
            out,
            settings=settings.ingest,
            site=site,
            keep_partial=keep_partial,
            progress=_Bar(progress),
        )
    _summary(report)
    if report.errors:
        for error in report.errors:
            out_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


def _summary(report: IngestReport) -> None:
    table = Table(title="ingest summary", title_justify="left")
    for name in ("source", "site", "read", "kept", "rejected", "skipped (post type)"):
        table.add_column(name, justify="right" if name in ("read", "kept") else "left")
    for r in report.inputs:
        kept = ", ".join(f"{k} {v:,}" for k, v in r.kept.items())
        rejected = ", ".join(f"{k} {v:,}" for k, v in sorted(r.rejected.items())) or "0"
        skipped = ", ".join(f"type {k}: {v:,}" for k, v in r.skipped_post_types.items()) or "0"
        table.add_row(
            Path(r.source).name if len(r.source) > 40 else r.source,
            r.site,
            f"{r.rows_read:,}",
            kept,
            rejected,
            skipped,
        )
    out = console()
    out.print(table)
    totals = ", ".join(f"{k} {v:,}" for k, v in report.tables.items())
    out.print(f"dataset: {report.out} ({report.status}); tables: {totals}", highlight=False)
    out.print(f"fingerprint: {report.fingerprint}", highlight=False)
    for r in report.inputs:
        if r.utf8_replacements:
            out.print(
                f"note: {r.source}: {r.utf8_replacements} invalid UTF-8 sequence(s) replaced by "
                f"U+FFFD (lines {', '.join(map(str, r.utf8_replacement_lines))})",
                highlight=False,
            )
        if r.assumed_post_type:
            out.print(
                f"note: {r.source}: no PostTypeId column; rows read as questions", highlight=False
            )
        if r.missing_columns:
            out.print(
                f"note: {r.source}: no {', '.join(r.missing_columns)} column; left empty",
                highlight=False,
            )
