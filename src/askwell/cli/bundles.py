"""``askwell bundles``: which model bundles this deployment trusts."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import Command, ConfigOption, Group, console, load_settings, reports_errors

TRUST_HELP = (
    "A bundle decides every score and piece of advice askwell gives: askwell loads only the "
    "bundles it ships and those signed with this deployment's key (bundles.key_file, "
    "default var/bundle.key; askwell train signs what it writes). To load a bundle from "
    "elsewhere, check where it came from, then run askwell bundles sign PATH. Its model is "
    "arrays and JSON (format 3), never a pickle; a format-2 bundle (a pickled model) loads "
    "once rewritten by askwell bundles convert PATH."
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
    its model decides what askwell tells people. Its checksums are verified first; nothing
    in it is loaded. The key is created (mode 0600) if there is none yet."""
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


@app.command("convert", cls=Command)
@reports_errors
def convert_command(
    bundle: Path = typer.Argument(
        ...,
        help="A format-2 bundle (*.askwell) askwell trusts.",
        dir_okay=False,
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write it (default: in place).", dir_okay=False
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Rewrite a format-2 bundle, whose model is a pickle, as format 3 (arrays and JSON,
    which load without running code), signed with this deployment's key. Only a bundle
    askwell trusts is converted: one it ships, or one signed with this key (askwell bundles
    sign, after checking where it came from), since reading its pickle runs the code it
    names. The rewritten model must score probe questions exactly as the pickled one did, or
    nothing is written. A bundle askwell ships changes its bytes: pin it anew (make model's
    sha256sum line)."""
    from askwell.models.bundle import FORMAT_VERSION, convert_bundle, key_id, signing_key

    settings = load_settings(config).bundles
    key = signing_key(settings)
    info = convert_bundle(bundle, out, key=key)
    console().print(
        f"converted {bundle} to format {FORMAT_VERSION}"
        f"{f' in {out}' if out is not None else ''} (model {info.name!r}, label "
        f"{info.label.get('name', '?')}, data {info.data_fingerprint[:12]}), signed with the "
        f"key in {settings.key_file} (key id {key_id(key)})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("reference", cls=Command)
@reports_errors
def reference_command(
    bundle: Path = typer.Argument(
        ..., help="A trained bundle (*.askwell) askwell trusts.", dir_okay=False, show_default=False
    ),
    dataset: Path = typer.Argument(
        ...,
        help="The dataset folder it was trained on (askwell ingest).",
        file_okay=False,
        show_default=False,
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Add the drift monitor's reference to a bundle trained before bundles carried one:
    the distributions of the catalog features and of the model's output on its calibrating
    questions, recomputed from its own dataset split by its recorded recipe. The bundle is
    rewritten in place (its model unchanged) and signed with this deployment's key."""
    from askwell.data.dataset import Dataset
    from askwell.models.bundle import signing_key
    from askwell.monitoring.reference import add_reference

    key = signing_key(load_settings(config).bundles)
    reference = add_reference(bundle, Dataset.open(dataset), key)
    outputs = ", ".join(reference["outputs"])
    console().print(
        f"{bundle}: reference of {len(reference['features'])} features and {outputs} on "
        f"{reference['n']} calibrating questions added",
        highlight=False,
    )
