"""``askwell data``: check and profile an ingested dataset."""

from __future__ import annotations

import typer

app = typer.Typer(help="Check and profile ingested datasets.", no_args_is_help=True)
