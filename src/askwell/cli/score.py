"""``askwell score``: one question, scored as the editor will show it; or, given IN and OUT,
every question in a file (``serving/batch.py``), through the same ``Predictor.score``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from askwell.cli.common import BUNDLE_TRUST, console, err_console, reports_errors
from askwell.errors import InputError

if TYPE_CHECKING:
    from askwell.explain.predictor import Predictor
    from askwell.serving.batch import BatchSummary
    from askwell.serving.pool import ScoringPool


def _read(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None


class _Bar:
    """Rows done and, when the input says, how far through it: on stderr, on a terminal."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID = progress.add_task("scoring", total=None, rows=0)

    def update(self, rows: int, fraction: float | None) -> None:
        if fraction is None:
            self._progress.update(self._task, rows=rows)
        else:
            self._progress.update(self._task, total=1.0, completed=fraction, rows=rows)


@reports_errors
def score_command(
    in_path: Path | None = typer.Argument(
        None,
        metavar="IN",
        help="Batch mode: a file of questions (.csv, .jsonl/.ndjson or .parquet) with a title "
        "column; body, tags, site and id are optional.",
        show_default=False,
    ),
    out_path: Path | None = typer.Argument(
        None,
        metavar="OUT",
        help="Batch mode: the file to write (.csv, .jsonl/.ndjson or .parquet, whatever IN is).",
        show_default=False,
    ),
    title: str | None = typer.Option(None, "--title", "-t", help="The question's title."),
    body: Path | None = typer.Option(
        None,
        "--body",
        "-b",
        help="A file with the body, in Markdown as typed on the site ('-': standard input).",
    ),
    html: bool = typer.Option(False, "--html", help="The body (file or column) is HTML."),
    tags: str = typer.Option("", "--tags", help="Comma-separated tags, e.g. python,pandas."),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        help=f"A model bundle (default: the model askwell ships). {BUNDLE_TRUST}",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    top: int = typer.Option(
        3, "--top", min=0, help="Batch mode: how many suggestions to write per question."
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=0,
        max=64,
        help="Batch mode: scoring processes (1: this one; 0: one per CPU core).",
    ),
) -> None:
    """Score a question: the verdict (ready to post, needs work, likely to be closed), the
    risk that it is closed and the most likely reason, the chance of a good answer and its
    band, what helps and hurts, and each sentence's effect. With IN and OUT, score a whole
    file instead, streaming: OUT gets id, site, verdict, closing_risk, close_reason, score, band,
    review, the top suggestions, model_version and error for each row."""
    if in_path is not None:
        if out_path is None:
            raise InputError(f"batch mode takes two paths: askwell score {in_path} OUT")
        if title is not None or body is not None or tags or as_json:
            raise InputError(
                "--title, --body, --tags and --json are for one question; "
                "in batch mode each row of IN gives its own"
            )
        _score_batch(in_path, out_path, bundle=bundle, html=html, top=top, workers=workers)
        return
    if title is None:
        raise InputError("give --title (and --body) for one question, or IN OUT for a file")
    _score_one(title, body, html=html, tags=tags, bundle=bundle, as_json=as_json)


def _score_batch(
    in_path: Path, out_path: Path, *, bundle: Path | None, html: bool, top: int, workers: int
) -> None:
    from askwell.config import processes
    from askwell.explain.predictor import Predictor
    from askwell.models.bundle import default_bundle
    from askwell.serving.batch import check_paths
    from askwell.serving.pool import ScoringPool

    check_paths(in_path, out_path)  # a wrong path is said before the model loads
    n = processes(workers)
    scorer = (
        ScoringPool(bundle or default_bundle(), n, "batch") if n > 1 else Predictor.load(bundle)
    )
    try:
        summary = _score_with_progress(in_path, out_path, scorer, html=html, top=top)
    finally:
        if isinstance(scorer, ScoringPool):
            scorer.close()
    out = console()
    for note in summary.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)
    out.print(f"{summary.describe()} → {out_path}", highlight=False, soft_wrap=True)
    if summary.rows and not summary.scored:
        raise InputError(f"{in_path}: no row could be scored (first: {summary.first_error})")


def _score_with_progress(
    in_path: Path, out_path: Path, scorer: Predictor | ScoringPool, *, html: bool, top: int
) -> BatchSummary:
    from askwell.serving.batch import score_file

    bar_console = err_console()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=bar_console,
        disable=not bar_console.is_terminal,
    )
    with progress:
        return score_file(in_path, out_path, scorer, html=html, top=top, progress=_Bar(progress))


def _score_one(
    title: str, body: Path | None, *, html: bool, tags: str, bundle: Path | None, as_json: bool
) -> None:
    from askwell.explain.predictor import Predictor
    from askwell.records import Question

    # Refused as the API refuses them (422): a blank title or body is a mistake, not a
    # question to score. Without --body the title is scored alone, as documented.
    if not title.strip():
        raise InputError("--title: title is empty")
    text = _read(body) if body is not None else ""
    if body is not None and not text.strip():
        raise InputError(f"--body {body}: body is empty")
    build = Question.from_html if html else Question.from_markdown
    question = build(title, text, tuple(t.strip() for t in tags.split(",") if t.strip()))
    scored = Predictor.load(bundle).score(question)
    if as_json:
        # ``prose`` as the API gives it: the text the highlights' offsets index.
        typer.echo(json.dumps({**asdict(scored), "prose": question.body.text}, indent=2))
        return
    out = console()
    closing = scored.closing
    if closing is not None:
        reason = f"; if closed, most likely as “{closing.reason}”" if closing.reason else ""
        out.print(
            f"[bold]{scored.verdict.capitalize()}[/] · [bold]{closing.risk:.0%}[/] risk of being "
            f"closed (a typical question: {closing.live_rate:.0%}){reason}",
            highlight=False,
        )
    review = " · [bold]worth a second look[/]" if scored.review else ""
    out.print(
        f"[bold]{scored.score:.0%}[/] chance of {scored.label} · [bold]{scored.band}[/]{review}\n"
        f"of validation questions in this band, {scored.band_good_rate:.0%} met it "
        f"(all questions: {scored.base_rate:.0%})",
        highlight=False,
    )
    factors = ", ".join(f"{f.group} (+{f.push:.2f})" for f in scored.helping) or "nothing"
    against = ", ".join(f"{f.group} ({f.push:.2f})" for f in scored.hurting) or "nothing"
    out.print(f"helps: {factors}\nhurts: {against}", highlight=False)
    for n, s in enumerate(scored.suggestions, 1):
        out.print(f"{n}. {s.message} [dim](+{s.effect:.3f}, {s.id})[/]", highlight=False)
    if scored.highlights:
        table = Table(title="sentences", title_justify="left")
        for col in ("effect", "sentence", "why it hurts"):
            table.add_column(col)
        for h in scored.highlights:
            table.add_row(f"{h.effect:+.3f}", h.text, h.reason or "")
        out.print(table)
    out.print(f"model: {scored.model_version}", highlight=False)
    if scored.closing_version:
        out.print(f"closing model: {scored.closing_version}", highlight=False)
