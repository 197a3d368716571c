"""Bundles from the command line: an untrusted bundle is one clear line, never a traceback
and never run; ``askwell bundles sign`` vouches for one; the trust rule is in --help."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from askwell.cli import app
from askwell.models.bundle import default_bundle, read_info
from tests.conftest import BUNDLE_KEY_ENV, DUMPS, ingest_dataset, run_askwell
from tests.unit.test_bundle_trust import Exploit, _craft

TITLE = "How do I sort a list of tuples by the second item in Python?"


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command", ["score", pytest.param("evaluate", marks=pytest.mark.data), "register"]
)
def test_an_unsigned_bundle_is_one_clear_line_and_never_runs(tmp_path: Path, command: str) -> None:
    marker = tmp_path / "ran"
    bundle = _craft(tmp_path / "crafted.askwell", Exploit(marker))
    if command == "evaluate":  # a real dataset: it is opened before the bundle
        ingest_dataset(tmp_path / "ds", DUMPS / "ai.meta.stackexchange.com")
    args = {
        "score": ["score", "--bundle", str(bundle), "--title", TITLE],
        "evaluate": ["evaluate", str(bundle), str(tmp_path / "ds"), "--out", str(tmp_path / "e")],
        "register": ["experiments", "register", str(bundle)],
    }[command]
    line = one_line_error(run_askwell(*args, cwd=tmp_path))
    assert line.startswith(f"error: {bundle}: refused: not signed"), line
    assert f"askwell bundles sign {bundle}" in line
    assert not marker.exists()


def test_signing_a_checked_bundle_lets_it_load(tmp_path: Path) -> None:
    # The shipped model, moved into an archive of other bytes: no longer pinned, unsigned
    # (make model signs with the key of the machine that ran it: not this one's).
    bundle = tmp_path / "colleague.askwell"
    with zipfile.ZipFile(default_bundle()) as source, zipfile.ZipFile(bundle, "w") as target:
        for name in source.namelist():
            if name != "signature.json":
                target.writestr(name, source.read(name))
    score = ("score", "--bundle", str(bundle), "--title", TITLE, "--json")
    assert "refused: not signed" in one_line_error(run_askwell(*score))

    signed = run_askwell("bundles", "sign", str(bundle))
    assert signed.returncode == 0, signed.stderr
    assert re.search(
        rf"signed {re.escape(str(bundle))} \(model .*key id [0-9a-f]{{16}}\)", signed.stdout
    )
    assert run_askwell(*score).returncode == 0
    assert read_info(bundle) == read_info(default_bundle())


def test_sign_refuses_an_altered_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "broken.askwell"
    with zipfile.ZipFile(default_bundle()) as source, zipfile.ZipFile(bundle, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[:-1] + b"x" if name == "model.json" else data)
    line = one_line_error(run_askwell("bundles", "sign", str(bundle)))
    assert line == f"error: {bundle}: checksum mismatch in model.json: the bundle was altered"


def test_the_key_cannot_hide_in_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Scoring processes never see --config: a key named only there would not be the one
    # that checks the bundles.
    monkeypatch.delenv(BUNDLE_KEY_ENV)  # (the environment's would win over the file's)
    config = tmp_path / "c.yaml"
    config.write_text(f"bundles:\n  key_file: {tmp_path / 'other.key'}\n")
    bundle = tmp_path / "m.askwell"
    line = one_line_error(run_askwell("bundles", "sign", str(bundle), "--config", str(config)))
    assert "bundles.* cannot be set in a --config file" in line
    assert not (tmp_path / "other.key").exists()


@pytest.mark.parametrize(
    "command", [["serve"], ["score"], ["evaluate"], ["experiments", "register"], ["bundles"]]
)
def test_help_says_which_bundles_load(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "signed with this deployment's key" in text, text


def test_a_format_2_bundle_names_convert_which_rewrites_it(tmp_path: Path) -> None:
    from askwell.models.bundle import signing_key
    from tests.unit.test_bundle import tiny_model
    from tests.unit.test_bundle_convert import format2

    bundle = format2(tmp_path / "old.askwell", tiny_model(), signing_key())
    score = ("score", "--bundle", str(bundle), "--title", TITLE, "--json")
    line = one_line_error(run_askwell(*score))
    assert line.startswith(f"error: {bundle}: refused: a format-2 bundle"), line
    assert line.endswith(f"askwell bundles convert {bundle}"), line

    converted = run_askwell("bundles", "convert", str(bundle))
    assert converted.returncode == 0, converted.stderr
    assert re.search(
        rf"converted {re.escape(str(bundle))} to format 3 \(model .*key id [0-9a-f]{{16}}\)",
        converted.stdout,
    )
    assert read_info(bundle).format_version == 3
    again = one_line_error(run_askwell("bundles", "convert", str(bundle)))
    assert again == f"error: {bundle}: already format 3; nothing to convert"
