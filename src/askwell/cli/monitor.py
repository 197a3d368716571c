"""``askwell monitor``: drift and health of the prediction log against the serving models'
references (stages in ``askwell.monitoring``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from askwell.cli.common import Command, ConfigOption, Group, console, load_settings, reports_errors

app = typer.Typer(
    cls=Group,
    help="Drift and health monitoring of the prediction store: per-feature and output drift "
    "against the references the serving bundles carry, degraded answers, latency, and each "
    "suggestion rule's feedback, window by window, with alerts (thresholds: monitor.*).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

DatabaseOption = typer.Option(
    None,
    "--database",
    help="The prediction store's URL [default: serve.database_url].",
    show_default=False,
)


@app.command("run", cls=Command)
@reports_errors
def run_command(
    database: str | None = DatabaseOption,
    since: datetime | None = typer.Option(
        None, "--since", help="Start (UTC) [default: the log's start].", show_default=False
    ),
    until: datetime | None = typer.Option(
        None, "--until", help="End (UTC) [default: now].", show_default=False
    ),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        help="The answer model whose reference is used [default: what askwell serve loads: "
        "serve.bundle, else the registry's champion, else the shipped model].",
        dir_okay=False,
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Path stem of the results: STEM.monitor.json and STEM.monitor.md "
        "[default: var/monitor/monitor-TIME].",
    ),
    store_results: bool = typer.Option(
        True,
        "--store/--no-store",
        help="Keep the results in the store's monitor_runs table (what /metrics shows).",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Read the prediction store window by window (monitor.window_hours) and compare each
    window with the references of the models that serve: drift of every catalog feature
    and of the outputs (PSI and a KS or chi-square test), the degraded share, latency and
    the suggestion rules' feedback. Writes the results, stores them, posts the alerts to
    monitor.webhook_url if set. Exits 1 when an alert was raised (for cron)."""
    from askwell.monitoring.monitor import post_alerts, run_monitor, serving_references
    from askwell.monitoring.report import monitor_markdown
    from askwell.reports import write_report
    from askwell.rollout import open_store

    settings = load_settings(config, **({"serve.bundle": bundle} if bundle else {}))
    references = serving_references(settings)
    store = open_store(database or settings.serve.database_url)
    try:
        results = run_monitor(store, references, settings.monitor, _utc(since), _utc(until))
        if store_results:
            store.record_monitor_run(datetime.fromisoformat(results["time"]), results["windows"])
    finally:
        store.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = out or Path("var") / "monitor" / f"monitor-{stamp}"
    paths = write_report(results, stem, "monitor", monitor_markdown(results))
    judged = sum(1 for w in results["windows"] if w["judged"])
    console().print(
        f"{len(results['windows'])} windows ({judged} with {settings.monitor.min_n}+ "
        f"predictions judged), {len(results['alerts'])} alerts",
        highlight=False,
    )
    for alert in results["alerts"][-20:]:
        console().print(
            f"  [bold red]alert[/] {alert['window_end'][:16]} {alert['message']}", highlight=False
        )
    if results["alerts"] and settings.monitor.webhook_url:
        posted = post_alerts(
            results, settings.monitor.webhook_url, settings.monitor.webhook_timeout_s
        )
        console().print(
            "alerts posted to the webhook"
            if posted
            else "[bold red]the webhook did not take the alerts[/]",
            highlight=False,
        )
    for kind, path in paths.items():
        console().print(f"results ({kind}): {path}", highlight=False)
    if results["alerts"]:
        raise typer.Exit(1)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command("outcomes", cls=Command)
@reports_errors
def outcomes_command(
    scores: Path = typer.Argument(
        ...,
        help="A file written by askwell score (its rows carry site and id).",
        dir_okay=False,
        show_default=False,
    ),
    dataset: Path = typer.Argument(
        ...,
        help="A newer dataset (askwell ingest of a later dump, or the closing data) holding "
        "the outcomes.",
        file_okay=False,
        show_default=False,
    ),
    label: str = typer.Option(
        "closed",
        "--label",
        help="The outcome: closed (predicted by the closing risk) or the answer model's "
        "label (predicted by the score).",
    ),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        help="The answer model whose test ROC AUC is the reference [default: what askwell "
        "serve loads].",
        dir_okay=False,
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Path stem: STEM.outcomes.json and STEM.outcomes.md "
        "[default: var/monitor/outcomes-TIME].",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Join questions scored in batch with the outcomes that arrived since (a newer dump, or
    close dates), by site and id; per month of posting: ROC AUC with a 95% interval,
    calibration error, the outcome's rate. Alerts when a month falls below the model's test
    AUC by monitor.auc_drop or its calibration error exceeds monitor.max_ece; exits 1 then."""
    from askwell.data.dataset import Dataset
    from askwell.monitoring.monitor import post_alerts, reference_auc
    from askwell.monitoring.outcomes import outcomes_report
    from askwell.monitoring.report import outcomes_markdown
    from askwell.reports import write_report

    settings = load_settings(config, **({"serve.bundle": bundle} if bundle else {}))
    result = outcomes_report(
        scores, Dataset.open(dataset), label, settings.monitor, reference_auc(settings, label)
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = out or Path("var") / "monitor" / f"outcomes-{stamp}"
    paths = write_report(result, stem, "outcomes", outcomes_markdown(result))
    console().print(
        f"{result['joined']} of {result['scored']} scored questions found in the dataset, "
        f"{result['known']} with a known outcome, over {len(result['performance'])} months; "
        f"{len(result['alerts'])} alerts",
        highlight=False,
    )
    for alert in result["alerts"]:
        console().print(f"  [bold red]alert[/] {alert['message']}", highlight=False)
    if result["alerts"] and settings.monitor.webhook_url:
        post_alerts(result, settings.monitor.webhook_url, settings.monitor.webhook_timeout_s)
    for kind, path in paths.items():
        console().print(f"results ({kind}): {path}", highlight=False)
    if result["alerts"]:
        raise typer.Exit(1)
