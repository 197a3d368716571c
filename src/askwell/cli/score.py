"""``askwell score``: one question, scored as the editor will show it."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from askwell.cli.common import console, reports_errors
from askwell.errors import InputError


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


@reports_errors
def score_command(
    title: str = typer.Option(..., "--title", "-t", help="The question's title."),
    body: Path | None = typer.Option(
        None,
        "--body",
        "-b",
        help="A file with the body, in Markdown as typed on the site ('-': standard input).",
    ),
    html: bool = typer.Option(False, "--html", help="The body file is HTML, not Markdown."),
    tags: str = typer.Option("", "--tags", help="Comma-separated tags, e.g. python,pandas."),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="A model bundle (default: the model askwell ships)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Score a question: how likely it is to be well received, the band and the evidence
    behind it, what helps and hurts, and each sentence's effect."""
    from askwell.explain.predictor import Predictor
    from askwell.markdown import to_html
    from askwell.records import Question

    text = _read(body) if body is not None else ""
    question = Question.from_html(
        title,
        text if html else to_html(text),
        tuple(t.strip() for t in tags.split(",") if t.strip()),
    )
    scored = Predictor.load(bundle).score(question)
    if as_json:
        typer.echo(json.dumps(asdict(scored), indent=2))
        return
    out = console()
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
