"""The ``askwell`` command: one Typer module per command group."""

from __future__ import annotations

import typer

from askwell import __version__
from askwell.cli import bundles as bundles_cli
from askwell.cli import data as data_cli
from askwell.cli import evaluate as evaluate_cli
from askwell.cli import experiments as experiments_cli
from askwell.cli import ingest as ingest_cli
from askwell.cli import labels as labels_cli
from askwell.cli import loop as loop_cli
from askwell.cli import models as models_cli
from askwell.cli import monitor as monitor_cli
from askwell.cli import retrain as retrain_cli
from askwell.cli import review as review_cli
from askwell.cli import score as score_cli
from askwell.cli import serve as serve_cli
from askwell.cli import spark as spark_cli
from askwell.cli import train as train_cli
from askwell.cli.common import Command, Group

app = typer.Typer(
    name="askwell",
    cls=Group,
    help="askwell: score, explain and improve questions for Stack Exchange-style sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("ingest", cls=Command)(ingest_cli.ingest_command)
app.add_typer(data_cli.app, name="data")
app.command("train", cls=Command)(train_cli.train_command)
app.command("evaluate", cls=Command)(evaluate_cli.evaluate_command)
app.command("score", cls=Command)(score_cli.score_command)
app.command("labels", cls=Command)(labels_cli.labels_command)
app.command("serve", cls=Command)(serve_cli.serve_command)
app.add_typer(experiments_cli.app, name="experiments")
app.add_typer(models_cli.app, name="models")
app.add_typer(bundles_cli.app, name="bundles")
app.add_typer(spark_cli.app, name="spark")
app.add_typer(monitor_cli.app, name="monitor")
app.command("retrain", cls=Command)(retrain_cli.retrain_command)
app.add_typer(review_cli.app, name="review")
app.add_typer(loop_cli.app, name="loop")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"askwell {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """askwell: score, explain and improve questions for Stack Exchange-style sites."""
