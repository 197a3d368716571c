"""``python -m askwell`` and the ``askwell`` command.

Deliberately tiny: parser processes are spawned with this module as their main module, so
anything imported here (Typer, Rich…) would be loaded, and held, by each of them.
"""

from __future__ import annotations


def main() -> None:
    from askwell.cli import app

    app(prog_name="askwell")


if __name__ == "__main__":
    main()
