"""``askwell monitor``: drift and health of the prediction log against the serving models'
references (stages in ``askwell.monitoring``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from askwell.cli.common import (
    Command,
    ConfigOption,
    Group,
    as_utc,
    console,
    load_settings,
    reports_errors,
)
from askwell.errors import InputError

app = typer.Typer(
    cls=Group,
    help="Drift and health monitoring of the prediction store: per-feature and output drift "
    "against the references the serving bundles carry, degraded answers, latency, and each "
    "suggestion rule's feedback, window by window, with alerts (thresholds: monitor.*); "
    "the results as an HTML report. askwell serve shows the latest run on /metrics.",
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
        results = run_monitor(store, references, settings.monitor, as_utc(since), as_utc(until))
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


@app.command("report", cls=Command)
@reports_errors
def report_command(
    results: Path | None = typer.Option(
        None,
        "--results",
        help="Results that askwell monitor run wrote (STEM.monitor.json) [default: the "
        "store's latest run].",
        dir_okay=False,
        show_default=False,
    ),
    outcomes: Path | None = typer.Option(
        None,
        "--outcomes",
        help="Outcomes that askwell monitor outcomes wrote (STEM.outcomes.json): their "
        "performance per month and alerts join the report [default: the results' own, if any].",
        dir_okay=False,
        show_default=False,
    ),
    database: str | None = DatabaseOption,
    out: Path = typer.Option(
        Path("var") / "monitor" / "report.html",
        "--out",
        "-o",
        help="The page to write.",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Write the monitoring results as one self-contained HTML page (inline images, no
    scripts, nothing fetched): the alerts, PSI per feature and window, the outputs' means,
    drift and shares, the degraded share and latency, the suggestion rules' feedback, and
    ROC AUC and calibration per window once outcomes have arrived (--outcomes, or a
    performance list in the results)."""
    from askwell.monitoring.html import write_monitor_html

    if results is not None:
        found = _read_results(results)
    else:
        from askwell.rollout import open_store

        settings = load_settings(config)
        store = open_store(database or settings.serve.database_url)
        try:
            windows = store.latest_monitor_run()
        finally:
            store.close()
        if not windows:
            raise InputError(
                "the store holds no monitoring run: run askwell monitor run first, or give "
                "--results"
            )
        found = {"windows": windows, "alerts": [a for w in windows for a in w["alerts"]]}
    if outcomes is not None:
        late = _read_results(outcomes, "performance", "askwell monitor outcomes")
        found = {
            **found,
            "performance": late["performance"],
            "reference_roc_auc": late.get("reference_roc_auc"),
            "alerts": [*(found.get("alerts") or []), *(late.get("alerts") or [])],
        }
    page = write_monitor_html(found, out)
    console().print(
        f"{len(found['windows'])} windows, {len(found.get('alerts') or [])} alerts; "
        f"report: {page.resolve()}",
        highlight=False,
    )


def _read_results(
    path: Path, key: str = "windows", writer: str = "askwell monitor run"
) -> dict[str, Any]:
    """The JSON at ``path``, refused unless it holds a ``key`` list (what ``writer`` writes)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    if not isinstance(found, dict) or not isinstance(found.get(key), list):
        raise InputError(f"{path}: not the results of {writer} (no {key!r} list)")
    return found


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


@app.command("replay", cls=Command)
@reports_errors
def replay_command(
    dataset: Path = typer.Argument(
        ...,
        help="A dataset (askwell ingest) spanning the date: the Stack Overflow closing data, "
        "or Stack Exchange dumps.",
        file_okay=False,
        show_default=False,
    ),
    until: datetime = typer.Option(
        ...,
        "--until",
        help="Train on the questions posted before this moment (UTC); serve those from it on.",
        show_default=False,
    ),
    per_month: int = typer.Option(
        500, "--per-month", min=10, help="Questions served per month at most (drawn evenly)."
    ),
    horizon_days: int = typer.Option(
        30,
        "--horizon-days",
        min=0,
        help="How long after a month ends its outcomes are read (close dates up to then).",
    ),
    window_days: float = typer.Option(
        30, "--window-days", min=1, help="The monitor's window over the replayed log."
    ),
    out: Path = typer.Option(
        Path("var/replay"), "--out", "-o", help="Folder for the model, the log and the reports."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Replay real traffic: train with the recipe in --config (train.*: e.g.
    configs/closing.yaml) on the questions posted before --until, serve the later ones month by
    month (and the past's own test months, where any alarm is false), monitor the log, let
    the outcomes arrive at their real dates, and report drift and performance over time,
    the false-alarm rate on stable windows and the detection delay. Writes replay.json,
    replay.md, the HTML report replay.html and the monitor's and outcomes' results to --out."""
    from askwell.data.dataset import Dataset
    from askwell.models.train import TrainConfig
    from askwell.monitoring.replay import ReplayPlan, run_replay

    settings = load_settings(config, **{"monitor.window_hours": window_days * 24})
    plan = ReplayPlan(as_utc(until) or until, per_month, horizon_days, settings.train.seed)
    result = run_replay(
        Dataset.open(dataset), TrainConfig(**settings.train.model_dump()), settings, plan, out
    )
    fa = result["false_alarms"]
    after = [w for w in result["drift_by_window"] if w["after_training"] and w["drifted"]]
    console().print(
        f"trained on questions before {plan.until.date()} (test ROC AUC "
        f"{result['model_test_roc_auc']:.3f}); served {result['served']['later']} later "
        f"questions: {len(after)} windows with drift alerts after training; false alarms on "
        f"{fa['windows_with_an_alarm']} of {fa['stable_windows']} stable windows; "
        f"{len(result['performance_alerts'])} performance alerts",
        highlight=False,
    )
    console().print(
        f"report: {(out / 'replay.md').resolve()} and {(out / 'replay.html').resolve()}",
        highlight=False,
    )
