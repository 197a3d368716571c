"""``askwell bundles``: which model bundles this deployment trusts."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import Command, ConfigOption, Group, console, load_settings, reports_errors

TRUST_HELP = (
    "A bundle holds a pickle, which runs code when it is loaded: askwell loads only the "
    "bundles it ships and those signed with this deployment's key (bundles.key_file, "
    "default var/bundle.key; askwell train signs what it writes). To load a bundle from "
    "elsewhere, check where it came from, then run askwell bundles sign PATH."
)

app = typer.Typer(
    cls=Group,
    help=f"Model bundles (*.askwell) and the key that decides which ones load. {TRUST_HELP}",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@app.command("sign", cls=Command)
@reports_errors
def sign_command(
    bundle: Path = typer.Argument(
        ..., help="A bundle (*.askwell) you trust.", dir_okay=False, show_default=False
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Vouch for a bundle: sign it in place with this deployment's key, so that askwell
    serve, score, evaluate and the registry load it. Sign only a bundle whose origin you
    have checked (you trained it, or a person you trust sent it over a channel you trust):
    loading it runs the code its pickle names. Its checksums are verified first; nothing in
    it is run. The key is created (mode 0600) if there is none yet."""
    from askwell.models.bundle import key_id, sign_bundle, signing_key

    settings = load_settings(config).bundles
    key = signing_key(settings)
    info = sign_bundle(bundle, key=key)
    console().print(
        f"signed {bundle} (model {info.name!r}, label {info.label.get('name', '?')}, "
        f"data {info.data_fingerprint[:12]}, code {info.code_version}) with the key in "
        f"{settings.key_file} (key id {key_id(key)})",
        highlight=False,
        soft_wrap=True,
    )
