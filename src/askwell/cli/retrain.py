"""``askwell retrain``: a challenger from new outcomes, reviewers' labels and feedback, behind
the gates (stages in ``askwell.loop.retrain``)."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import ConfigOption, console, load_settings, reports_errors


@reports_errors
def retrain_command(
    outcomes: list[Path] | None = typer.Option(
        None,
        "--outcomes",
        help="An ingested dataset with outcomes (askwell ingest); repeat for several, oldest "
        "first. [config: retrain.outcomes]",
        show_default=False,
    ),
    database: str | None = typer.Option(
        None,
        "--database",
        help="The store with the review queue, the feedback and the monitoring runs. "
        "[config: retrain.database_url, else serve.database_url]",
        show_default=False,
    ),
    reviews: bool | None = typer.Option(
        None,
        "--reviews/--no-reviews",
        help="Use reviewers' labels from the review queue. [config: retrain.reviews]",
        show_default=False,
    ),
    feedback: bool | None = typer.Option(
        None,
        "--feedback/--no-feedback",
        help="Carry the advice feedback with the data. [config: retrain.feedback]",
        show_default=False,
    ),
    if_needed: bool = typer.Option(
        False,
        "--if-needed",
        help="Retrain only when the latest monitoring run drifted, the outcomes report "
        "alerts, or the newest version is older than retrain.interval_days.",
    ),
    outcomes_report: Path | None = typer.Option(
        None,
        "--outcomes-report",
        help="With --if-needed: the JSON that askwell monitor outcomes --out wrote; its "
        "performance alerts are a reason to retrain.",
        dir_okay=False,
        show_default=False,
    ),
    work: Path | None = typer.Option(
        None,
        "--work",
        help="Where the data, bundle and reports go. [config: retrain.work]",
        file_okay=False,
        show_default=False,
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Build training data with provenance from the outcomes, reviewers' labels and advice
    feedback; train a challenger with the champion's recorded recipe; register it as
    `challenger`; run the promotion gates; write the report. It then waits for a person's
    approval (askwell models approve, then promote): nothing here approves or promotes. The
    same inputs give the same challenger (nothing is trained twice).

    A cron line for a nightly check: `0 3 * * * cd /srv/askwell && askwell retrain
    --if-needed --config askwell.yaml`."""
    from askwell.loop.retrain import retrain
    from askwell.loop.sources import Sources

    settings = load_settings(
        config,
        **{
            "retrain.outcomes": tuple(outcomes) if outcomes else None,
            "retrain.database_url": database,
            "retrain.reviews": reviews,
            "retrain.feedback": feedback,
            "retrain.work": work,
        },
    )
    r = settings.retrain
    sources = Sources(
        outcomes=r.outcomes,
        database_url=r.database_url or settings.serve.database_url,
        reviews=r.reviews,
        feedback=r.feedback,
    )
    report = retrain(
        settings,
        sources,
        "askwell retrain" + (" --if-needed" if if_needed else ""),
        if_needed=if_needed,
        outcomes_report=outcomes_report,
    )
    out = console()
    out.print(f"retraining: {report['status']}", highlight=False)
    for reason in report["trigger"]["reasons"]:
        out.print(f"  why: {reason}", highlight=False)
    if "version" in report:
        out.print(f"version {report['version']} of {report['model']!r}", highlight=False)
    out.print(f"next: {report['next']}", highlight=False)
    out.print(f"report: {report['paths']['markdown']}", highlight=False)
