"""What every command shares: turning domain errors into one clear line, and the console."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup, TyperOption

from askwell.config import Settings, get_settings
from askwell.errors import AskwellError, ConfigError

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


# Said wherever a command loads a bundle.
BUNDLE_TRUST = (
    "Only a bundle askwell ships or one signed with this deployment's key loads: it decides "
    "how questions are judged (askwell bundles --help)."
)
RegisteredBundleArgument = typer.Argument(
    ...,
    help=f"A trained bundle (*.askwell). {BUNDLE_TRUST}",
    dir_okay=False,
    show_default=False,
)
RunIdOption = typer.Option(
    None,
    "--run-id",
    help="The run that logged this bundle; without it, a run is logged from the bundle.",
)


# Off a terminal (a pipe, a file) nothing must be cut: tables render as wide as their
# content instead of at the 80 columns Rich assumes without one.
PIPED_WIDTH = 10_000


def console() -> Console:
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=PIPED_WIDTH)


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


def _plain_flags(params: list[Any]) -> list[Any]:
    """A flag takes no value, so its help shows no ``<bool>`` after it (Typer's rich help
    prints each option's type, flags included, unless the option has a metavar)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """Every askwell command: flags (``--help`` too) shown as plain flags in its help."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


class Group(TyperGroup):
    """Every askwell command group: flags shown as plain flags in its help."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


def load_settings(config: Path | None, **overrides: Any) -> Settings:
    settings = get_settings(config, overrides)
    # Bundles are loaded in processes that never see --config (the scoring processes, the
    # server's own), which read bundles.* from the environment: a key named only in this
    # file would sign with one key and verify with another.
    if config is not None and settings.bundles != get_settings().bundles:
        raise ConfigError(
            f"{config}: bundles.* cannot be set in a --config file; set "
            "ASKWELL_BUNDLES__KEY_FILE, or put it in the file ASKWELL_CONFIG names"
        )
    return settings


def as_utc(moment: datetime | None) -> datetime | None:
    """A moment given on the command line, in UTC: one without a zone is read as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
