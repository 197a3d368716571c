"""``askwell data``: check and profile an ingested dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import Command, ConfigOption, Group, console, load_settings, reports_errors

app = typer.Typer(
    cls=Group,
    help="Check and profile datasets written by askwell ingest.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

DatasetArg = typer.Argument(
    ..., help="A dataset folder written by askwell ingest.", show_default=False
)


@app.command("check", cls=Command)
@reports_errors
def check_command(
    dataset: Path = DatasetArg,
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Check a dataset that ingestion marked partial."
    ),
) -> None:
    """Schema and integrity checks: unique (site, id), answers' parents resolve where the dump
    is complete, dates parse, counts are non-negative. Exits non-zero on any failure."""
    from askwell.data.checks import check_dataset, render_report

    report = check_dataset(dataset, allow_partial=allow_partial)
    render_report(report, console())
    if not report.ok:
        raise typer.Exit(1)


@app.command("profile", cls=Command)
@reports_errors
def profile_command(
    dataset: Path = DatasetArg,
    html: Path | None = typer.Option(
        None, "--html", help="Where to write the HTML page [default: DATASET/profile.html]."
    ),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Profile a dataset that ingestion marked partial."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Per site: counts, date range, score distribution, answered and accepted rates, text
    lengths, share with code. A terminal table and an HTML page with plots."""
    from askwell.data.profile import profile_dataset, render_table, write_html

    settings = load_settings(config)
    profile = profile_dataset(dataset, allow_partial=allow_partial)
    render_table(profile, console())
    out = html or dataset / "profile.html"
    write_html(profile, out, settings.profile)
    console().print(f"profile page: {out}", highlight=False)
