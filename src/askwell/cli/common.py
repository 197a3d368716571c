"""What every command shares: turning domain errors into one clear line, and the console."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from askwell.config import Settings, get_settings
from askwell.errors import AskwellError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 2  # the input or configuration is wrong: the user can fix it
EXIT_INTERNAL = 70  # a bug in askwell (EX_SOFTWARE)

ConfigOption = typer.Option(
    None,
    "--config",
    help="YAML settings file (see configs/). Also ASKWELL_CONFIG; flags win over both.",
    exists=False,
    dir_okay=False,
)


LabelsOption = typer.Option(
    None,
    "--labels",
    help="The label comparison from askwell labels --out, shown in the model card.",
)


def console() -> Console:
    return Console()


def err_console() -> Console:
    return Console(stderr=True)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """A user sees one line saying what is wrong, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AskwellError as exc:
            err_console().print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err_console().print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            err_console().print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                "(this is a bug in askwell; please report it with the command you ran)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def load_settings(config: Path | None, **overrides: Any) -> Settings:
    return get_settings(config, overrides)
