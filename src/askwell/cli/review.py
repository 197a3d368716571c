"""``askwell review``: being built (issue 15)."""

from __future__ import annotations

import typer

from askwell.cli.common import Group

app = typer.Typer(cls=Group, help="(being built)", no_args_is_help=True)
