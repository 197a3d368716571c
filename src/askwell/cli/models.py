"""``askwell models``: the model lifecycle over the registry: register a challenger, run the
gates, record a person's approval, promote, roll back (stages in ``askwell.promotion``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from askwell.cli.common import (
    Command,
    ConfigOption,
    Group,
    RegisteredBundleArgument,
    RunIdOption,
    as_utc,
    console,
    load_settings,
    reports_errors,
)

if TYPE_CHECKING:
    from askwell.models.registry import Tracker

app = typer.Typer(
    cls=Group,
    help="The model lifecycle in the registry. `register` makes a bundle the `challenger`; "
    "`gates` judges it against the `champion` on the frozen evaluation protocol; a person "
    "`approve`s it; `promote` makes it the `champion` (the one it replaces becomes "
    "`previous`); `rollback` returns to `previous`; `rollout-report` compares the arms of a "
    "shadow or canary rollout from the prediction store. Approve, promote and rollback change "
    "what serves: they need the admin token (ASKWELL_MODELS__ADMIN_TOKEN).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

TokenOption = typer.Option(
    None,
    "--token",
    help="The admin token: the one configured as models.admin_token "
    "(ASKWELL_MODELS__ADMIN_TOKEN where the registry is run).",
)
VersionArgument = typer.Argument(
    ..., min=1, help="The model version (askwell models list).", show_default=False
)


def _tracker(config: Path | None) -> Tracker:
    from askwell.models.registry import Tracker

    return Tracker(load_settings(config).tracking)


@app.command("list", cls=Command)
@reports_errors
def list_command(config: Path | None = ConfigOption) -> None:
    """Every registered version, newest first: its aliases (champion, challenger, previous),
    gate outcome, approval (who, when, why) and gate report."""
    from rich.table import Table

    from askwell.promotion import statuses

    tracker = _tracker(config)
    rows = statuses(tracker)
    if not rows:
        console().print(
            f"no versions of {tracker.settings.model_name!r} yet (askwell models register)",
            highlight=False,
        )
        return
    table = Table(title=f"versions of {tracker.settings.model_name!r}", title_justify="left")
    for header in ("version", "aliases", "registered", "bundle", "gates", "approval", "report"):
        table.add_column(header, overflow="fold")
    for row in rows:
        notes = [row.gates]
        if row.promoted:
            notes.append(f"promoted {row.promoted}")
        if row.rolled_back:
            notes.append(f"rolled back {row.rolled_back}")
        table.add_row(
            str(row.version),
            ", ".join(row.aliases),
            row.created.astimezone().strftime("%Y-%m-%d %H:%M") if row.created else "",
            row.bundle,
            "; ".join(notes),
            row.approval,
            row.report,
        )
    console().print(table)


@app.command("register", cls=Command)
@reports_errors
def register_command(
    bundle: Path = RegisteredBundleArgument,
    run_id: str | None = RunIdOption,
    config: Path | None = ConfigOption,
) -> None:
    """Register a bundle as a new version and make it the `challenger`."""
    from askwell.promotion import register

    tracker = _tracker(config)
    version = register(tracker, bundle, run_id)
    console().print(
        f"registered {bundle} as {tracker.settings.model_name!r} version {version} "
        f"(challenger); next: askwell models gates {version} DATASET",
        highlight=False,
    )


@app.command("gates", cls=Command)
@reports_errors
def gates_command(
    version: int = VersionArgument,
    dataset: Path = typer.Argument(
        ..., help="A dataset folder written by askwell ingest.", show_default=False
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Path stem of the report: STEM.gates.json and STEM.gates.md "
        "[default: var/gates/MODEL-vVERSION].",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Judge a version against the champion (the shipped model while there is none) on the
    test part of DATASET split by the champion's recipe: ROC AUC non-inferiority (paired
    bootstrap), no slice worse beyond a tolerance, calibration, the contrast pairs, p99
    latency. The test read is recorded in the ledger; the outcome is tagged on the version
    and its report logged with it. Exits 1 when a gate fails."""
    from askwell.data.dataset import Dataset
    from askwell.promotion import record_gates, run_gates, write_gate_report

    settings = load_settings(config)
    tracker = _tracker(config)
    report = run_gates(
        tracker,
        version,
        Dataset.open(dataset),
        settings.models,
        settings.tracking.test_ledger,
        f"askwell models gates {version} {dataset}",
    )
    stem = out or Path("var") / "gates" / f"{tracker.settings.model_name}-v{version}"
    paths = write_gate_report(report, stem)
    record_gates(tracker, report, paths)
    for gate in report["gates"]:
        value = "—" if gate["value"] is None else f"{gate['value']:.4f}"
        mark = "pass" if gate["passed"] else "[bold red]FAIL[/]"
        console().print(
            f"  {gate['name']:<12} {value:>8}  (threshold {gate['threshold']:.4f})  {mark}",
            highlight=False,
        )
    verdict = "passed" if report["passed"] else "[bold red]failed[/]"
    console().print(
        f"version {version} {verdict} its gates against the {report['reference']['name']} "
        f"on {report['protocol']['n_test']} test questions (read "
        f"#{report['test_read']['nth']} of this split)",
        highlight=False,
    )
    for kind, path in paths.items():
        console().print(f"report ({kind}): {path}", highlight=False)
    if not report["passed"]:
        raise typer.Exit(1)


@app.command("approve", cls=Command)
@reports_errors
def approve_command(
    version: int = VersionArgument,
    by: str = typer.Option(..., "--by", help="Who approves (a person's name).", show_default=False),
    reason: str = typer.Option(..., "--reason", help="Why.", show_default=False),
    token: str | None = TokenOption,
    config: Path | None = ConfigOption,
) -> None:
    """Record a person's approval (who, when, why) of a version whose gates passed: on the
    version's tags and in its gate report. Needs the admin token."""
    from askwell.promotion import approve

    settings = load_settings(config)
    approval = approve(_tracker(config), settings.models, token, version, by, reason)
    console().print(
        f"version {version} approved by {approval['by']} at {approval['time']}; "
        f"next: askwell models promote {version}",
        highlight=False,
    )


@app.command("promote", cls=Command)
@reports_errors
def promote_command(
    version: int = VersionArgument,
    token: str | None = TokenOption,
    config: Path | None = ConfigOption,
) -> None:
    """Make a version the `champion`, only if its gates passed for this exact bundle against
    the champion in place and a person approved them. The replaced champion becomes
    `previous`. Needs the admin token."""
    from askwell.promotion import promote

    settings = load_settings(config)
    previous = promote(_tracker(config), settings.models, token, version)
    before = f"; previous champion: version {previous}" if previous is not None else ""
    console().print(f"champion → version {version}{before}", highlight=False)


@app.command("rollback", cls=Command)
@reports_errors
def rollback_command(
    by: str = typer.Option(..., "--by", help="Who rolls back.", show_default=False),
    reason: str = typer.Option(..., "--reason", help="Why.", show_default=False),
    token: str | None = TokenOption,
    config: Path | None = ConfigOption,
) -> None:
    """Move `champion` back to `previous` (the champion before the last promotion). Needs the
    admin token."""
    from askwell.promotion import rollback

    settings = load_settings(config)
    demoted, restored = rollback(_tracker(config), settings.models, token, by, reason)
    console().print(
        f"champion → version {restored} (rolled back from version {demoted})", highlight=False
    )


@app.command("rollout-report", cls=Command)
@reports_errors
def rollout_report_command(
    database: str | None = typer.Option(
        None,
        "--database",
        help="The prediction store's URL [default: serve.database_url].",
        show_default=False,
    ),
    since: datetime | None = typer.Option(
        None,
        "--since",
        help="Start of the window (UTC) [default: when the newest challenger version first "
        "served].",
        show_default=False,
    ),
    until: datetime | None = typer.Option(
        None, "--until", help="End of the window (UTC) [default: now].", show_default=False
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Path stem of the report: STEM.rollout.json and STEM.rollout.md "
        "[default: var/rollout/rollout-TIME].",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Compare the arms of a shadow or canary rollout from the prediction store: agreement on
    the same drafts (shadow), score and verdict differences, people's feedback and revision
    improvements per arm (canary), failures and latency, each with a 95% interval; it ends
    with a plain decision (wait, stop, hold, canary or promote). Thresholds: rollout.*
    settings. It only reads: promotion stays `askwell models promote`."""
    from askwell.rollout import (
        Window,
        default_window,
        open_store,
        rollout_report,
        write_rollout_report,
    )

    settings = load_settings(config)
    store = open_store(database or settings.serve.database_url)
    try:
        window = default_window(store)
        if since is not None or until is not None:
            window = Window(
                as_utc(since) if since is not None else window.since,
                as_utc(until),
                "as asked (--since/--until)",
            )
        report = rollout_report(store, window, settings.rollout)
    finally:
        store.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    paths = write_rollout_report(report, out or Path("var") / "rollout" / f"rollout-{stamp}")
    arms = report["arms"]
    for arm, row in arms.items():
        if row["predictions"]:
            console().print(
                f"  {arm:<11} {row['predictions']:>7} predictions, {row['sessions']:>5} "
                f"sessions, p99 {row['latency_ms']['p99']:.1f} ms",
                highlight=False,
            )
    decision = report["decision"]
    console().print(f"[bold]{decision['action']}[/]: {decision['statement']}", highlight=False)
    for kind, path in paths.items():
        console().print(f"report ({kind}): {path}", highlight=False)
