"""``askwell experiments``: tracked runs and registered model versions, in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from askwell.cli.common import (
    Command,
    ConfigOption,
    Group,
    RegisteredBundleArgument,
    RunIdOption,
    console,
    load_settings,
    reports_errors,
)

if TYPE_CHECKING:
    from askwell.models.registry import Tracker, Value

app = typer.Typer(
    cls=Group,
    help="Tracked runs (MLflow, a local SQLite store) and the model registry's versions and "
    "aliases. The alias `champion` names the version that serving loads; it moves only "
    "through `askwell models` (gates, approval, admin token).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def _tracker(config: Path | None) -> Tracker:
    from askwell.models.registry import Tracker

    return Tracker(load_settings(config).tracking)


def _refuse_deployment_alias(alias: str) -> None:
    from askwell.errors import InputError
    from askwell.models.registry import DEPLOYMENT_ALIASES

    if alias in DEPLOYMENT_ALIASES:
        raise InputError(
            f"alias {alias!r} decides what serves: it moves only through askwell models "
            "(register, gates, approve, promote, rollback)"
        )


def _cell(value: Value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else value


@app.command("list", cls=Command)
@reports_errors
def list_command(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many recent runs."),
    config: Path | None = ConfigOption,
) -> None:
    """The most recent runs, newest first: id, name, start, status, label, key metrics (ROC AUC,
    calibration error… where logged) and the data fingerprint."""
    from rich.table import Table

    tracker = _tracker(config)
    runs = tracker.list_runs(limit)
    if not runs:
        console().print(f"no runs yet in {tracker.store_uri}", highlight=False)
        return
    metric_names = sorted({k for run in runs for k in run.metrics})
    table = Table(title=f"runs of experiment {tracker.settings.experiment!r}", title_justify="left")
    table.add_column("run id", no_wrap=True)
    for header in ("name", "started", "status", "label"):
        table.add_column(header)
    for name in metric_names:
        table.add_column(name, justify="right")
    table.add_column("data")
    for run in runs:
        started = run.start_time.astimezone().strftime("%Y-%m-%d %H:%M") if run.start_time else ""
        table.add_row(
            run.run_id,
            run.name,
            started,
            run.status,
            run.label,
            *(_cell(run.metrics.get(name)) for name in metric_names),
            run.data_fingerprint,
        )
    console().print(table)


@app.command("compare", cls=Command)
@reports_errors
def compare_command(
    run_ids: list[str] = typer.Argument(
        ..., help="Run ids (from askwell experiments list).", show_default=False
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Runs side by side: what they are, every metric, and the params that differ."""
    from rich.table import Table

    comparison = _tracker(config).compare_runs(run_ids)
    table = Table(show_lines=False)
    table.add_column("")
    for run_id in run_ids:
        table.add_column(run_id[:12], justify="right")
    for section, rows in comparison.items():
        if not rows:
            continue
        table.add_section()
        table.add_row(f"[bold]{section}[/]")
        for key, values in rows.items():
            table.add_row(f"  {key}", *(_cell(v) for v in values))
    console().print(table)


@app.command("register", cls=Command)
@reports_errors
def register_command(
    bundle: Path = RegisteredBundleArgument,
    run_id: str | None = RunIdOption,
    alias: str | None = typer.Option(
        None,
        "--alias",
        help="Point this alias at the new version (not champion, challenger or previous: "
        "askwell models moves those).",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Register a bundle as a new version of the model; optionally point an alias at it.
    To make it a challenger for promotion, use askwell models register."""
    if alias:
        _refuse_deployment_alias(alias)
    tracker = _tracker(config)
    version = tracker.register_bundle(bundle, run_id)
    name = tracker.settings.model_name
    console().print(f"registered {bundle} as {name!r} version {version}", highlight=False)
    if alias:
        tracker.set_alias(alias, version)
        console().print(f"alias {alias} → version {version}", highlight=False)


@app.command("alias", cls=Command)
@reports_errors
def alias_command(
    name: str = typer.Argument(
        ...,
        help="The alias (not champion, challenger or previous: askwell models moves those).",
        show_default=False,
    ),
    version: int = typer.Argument(..., min=1, help="The model version.", show_default=False),
    config: Path | None = ConfigOption,
) -> None:
    """Point an alias at a model version (moving it if it pointed elsewhere). The aliases
    that decide what serves move only through askwell models (gates, approval, token)."""
    _refuse_deployment_alias(name)
    tracker = _tracker(config)
    tracker.set_alias(name, version)
    console().print(
        f"alias {name} → {tracker.settings.model_name!r} version {version}", highlight=False
    )


@app.command("ui", cls=Command)
@reports_errors
def ui_command(config: Path | None = ConfigOption) -> None:
    """Print the command that opens these runs in MLflow's web UI (nothing is started here)."""
    typer.echo(_tracker(config).ui_command())
