"""Bundle trust: only the bundles askwell ships (pinned by digest) and those signed with the
deployment's key load, decided before the model is read; and a bundle's model is arrays and
JSON, so even a trusted bundle crafted to run code (a pickle hidden in an array) runs none."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import stat
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from askwell.errors import ConfigError
from askwell.models.bundle import (
    BundleError,
    default_bundle,
    default_closing_bundle,
    key_id,
    load_bundle,
    read_info,
    save_bundle,
    shipped_pins,
    sign_bundle,
    signing_key,
)
from askwell.models.quality import to_members
from tests.conftest import BUNDLE_KEY_ENV
from tests.unit.test_bundle import FEATURES, _info, tiny_model

OTHER_KEY = b"someone-else's-key-" + b"x" * 32


class Exploit:
    """A pickle that, once loaded, has created a file: what a crafted bundle could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


PLANTED = "model/estimator.coef.npy"  # where _craft hides its payload


def _pickled_array(payload: object) -> bytes:
    """An .npy file of Python objects: numpy stores them as a pickle."""
    out = io.BytesIO()
    np.lib.format.write_array(out, np.array([payload], dtype=object), allow_pickle=True)
    return out.getvalue()


def _craft(path: Path, payload: object, signature: bytes | None = None) -> Path:
    """A bundle as an attacker writes it: a real model with ``payload`` pickled into one of
    its arrays (the only place a format-3 bundle could carry a pickle), every inner checksum
    right, signed or not."""
    members = to_members(tiny_model())
    members[PLANTED] = _pickled_array(payload)
    files = {name: _sha256(data) for name, data in members.items()}
    description = {**asdict(_info()), "files": files}
    body = json.dumps(description, sort_keys=True, separators=(",", ":")).encode()
    description["checksum"] = _sha256(body)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bundle.json", json.dumps(description))
        for name, data in members.items():
            archive.writestr(name, data)
        if signature is not None:
            archive.writestr("signature.json", signature)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(source: Path, target: Path, comment: bytes = b"") -> Path:
    """The same members, other bytes on disk (a zip comment): every inner checksum holds."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in _members(source).items():
            archive.writestr(name, data)
        archive.comment = comment
    return target


def test_the_exploit_runs_code_when_unpickled(tmp_path: Path) -> None:
    # The control: the payload the tests below refuse really would run.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Exploit(marker)))
    assert marker.exists()


def test_an_unsigned_bundle_is_refused_before_its_code_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = _craft(tmp_path / "crafted.askwell", Exploit(marker))
    for load in (load_bundle, read_info):
        with pytest.raises(BundleError) as refused:
            load(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: refused: not signed")
        assert f"askwell bundles sign {path}" in message
    assert not marker.exists()


def test_a_trusted_bundle_crafted_to_run_code_runs_none(tmp_path: Path) -> None:
    # Signed with this deployment's key: trusted, so its model is read; nothing in it runs.
    marker = tmp_path / "ran"
    path = _craft(tmp_path / "crafted.askwell", Exploit(marker))
    sign_bundle(path)
    assert read_info(path).name == "test"
    with pytest.raises(BundleError, match=rf"cannot be loaded.*{PLANTED}.*allow_pickle"):
        load_bundle(path)
    assert not marker.exists()


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickled")

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    assert load_bundle(path, FEATURES)[0].threshold == 0.5
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert all(n.endswith((".json", ".npy")) for n in names), names


def test_a_bundle_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = _craft(tmp_path / "crafted.askwell", Exploit(marker))
    sign_bundle(path, key=OTHER_KEY)  # an attacker with askwell and a key of their own
    assert not marker.exists()  # signing never unpickles
    with pytest.raises(BundleError, match=f"signed with key id {key_id(OTHER_KEY)}"):
        load_bundle(path)
    assert not marker.exists()
    # A real model, signed elsewhere, where this deployment has a key of its own.
    signing_key()
    elsewhere = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info(), key=OTHER_KEY)
    with pytest.raises(BundleError, match="does not match the key in"):
        load_bundle(elsewhere)
    assert load_bundle(elsewhere, key=OTHER_KEY)[0].threshold == 0.5


def test_a_signature_copied_from_a_trusted_bundle_is_refused(tmp_path: Path) -> None:
    trusted = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
    marker = tmp_path / "ran"
    path = _craft(
        tmp_path / "crafted.askwell", Exploit(marker), _members(trusted)["signature.json"]
    )
    with pytest.raises(BundleError, match="signed with this key, but altered since"):
        load_bundle(path)
    assert not marker.exists()


@pytest.mark.parametrize("signature", [b"", b"not json", b'{"mac": 1}', b"[]"])
def test_an_unreadable_signature_is_refused(tmp_path: Path, signature: bytes) -> None:
    marker = tmp_path / "ran"
    path = _craft(tmp_path / "crafted.askwell", Exploit(marker), signature)
    with pytest.raises(BundleError, match="refused: its signature is unreadable"):
        load_bundle(path)
    assert not marker.exists()


def test_the_signature_covers_the_description(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
    members = _members(path)
    description = json.loads(members["bundle.json"])
    description["metrics"]["roc_auc"] = 0.99  # and the checksum recomputed to match
    body = {k: v for k, v in description.items() if k != "checksum"}
    description["checksum"] = _sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bundle.json", json.dumps(description))
        for name, data in members.items():
            if name != "bundle.json":
                archive.writestr(name, data)
    with pytest.raises(BundleError, match="altered since"):
        read_info(path)


def test_a_signed_bundle_loads(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())  # the session's key
    model, info = load_bundle(path, FEATURES)
    assert model.threshold == 0.5 and read_info(path) == info
    # A person vouches for a bundle from elsewhere: it loads from then on.
    elsewhere = save_bundle(tmp_path / "e.askwell", tiny_model(0.3), _info(), key=OTHER_KEY)
    assert sign_bundle(elsewhere) == read_info(elsewhere) == info
    assert load_bundle(elsewhere)[0].threshold == 0.3


def test_a_bundle_altered_after_signing_is_still_refused(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
    members = _members(path)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data[:-1] + b"x" if name == "model.json" else data)
    with pytest.raises(BundleError, match=r"checksum mismatch in model\.json"):
        load_bundle(path)
    with pytest.raises(BundleError, match=r"checksum mismatch in model\.json"):
        sign_bundle(path)  # nobody can vouch for a broken bundle


def test_the_shipped_bundles_are_pinned_and_load_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = {
        p.name: _sha256(p.read_bytes()) for p in (default_bundle(), default_closing_bundle())
    }
    assert shipped_pins() == shipped  # make model rewrote the pins with the bundles
    monkeypatch.setenv(BUNDLE_KEY_ENV, str(tmp_path / "no" / "key"))
    for path in (default_bundle(), default_closing_bundle()):
        read_info(path)
        copy = Path(shutil.copy(path, tmp_path / path.name))  # by content, wherever it lies
        read_info(copy)
    assert not (tmp_path / "no").exists()  # loading creates no key


def test_a_shipped_bundle_with_other_bytes_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    # Its members intact, every inner checksum right, but not the bytes askwell shipped.
    altered = _rezip(default_bundle(), tmp_path / "default.askwell", comment=b"x")
    # (make model signs with the key of the machine that ran it: not this one's)
    with pytest.raises(BundleError, match=r"refused: (not signed|its signature does not match)"):
        load_bundle(altered)
    # An array swapped for an exploit, the description's digests recomputed to match.
    members = _members(default_bundle())
    payload = _pickled_array(Exploit(marker))
    description = json.loads(members["bundle.json"])
    description["files"][PLANTED] = _sha256(payload)
    body = {k: v for k, v in description.items() if k != "checksum"}
    description["checksum"] = _sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    )
    swapped = tmp_path / "swapped" / "default.askwell"
    swapped.parent.mkdir()
    with zipfile.ZipFile(swapped, "w") as archive:
        archive.writestr("bundle.json", json.dumps(description))
        for name, data in members.items():
            if name not in ("bundle.json", "signature.json"):
                archive.writestr(name, payload if name == PLANTED else data)
    with pytest.raises(BundleError, match="refused: not signed"):
        load_bundle(swapped)
    assert not marker.exists()


def test_the_key_file_is_created_private_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(BUNDLE_KEY_ENV)
    monkeypatch.chdir(tmp_path)  # the default: var/bundle.key in the working directory
    key_file = tmp_path / "var" / "bundle.key"
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32 and key.encode() not in path.read_bytes()
    assert key_id(key.encode()) in _members(path)["signature.json"].decode()
    save_bundle(tmp_path / "n.askwell", tiny_model(0.5), _info())
    assert key_file.read_text().strip() == key  # reused, never replaced
    assert signing_key() == key.encode() and load_bundle(path)[0].threshold == 0.5


def test_a_signed_bundle_without_a_key_here_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info(), key=OTHER_KEY)
    monkeypatch.setenv(BUNDLE_KEY_ENV, str(tmp_path / "missing.key"))
    with pytest.raises(BundleError, match=r"no bundle key here \(.*missing\.key does not exist"):
        load_bundle(path)
    assert not (tmp_path / "missing.key").exists()


def test_a_short_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "bundle.key"
    key_file.write_text("secret\n")
    monkeypatch.setenv(BUNDLE_KEY_ENV, str(key_file))
    with pytest.raises(ConfigError, match="too short"):
        save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())


def test_the_registry_refuses_an_unsigned_bundle(tmp_path: Path) -> None:
    from askwell.config import TrackingSettings
    from askwell.models.registry import Tracker

    marker = tmp_path / "ran"
    path = _craft(tmp_path / "crafted.askwell", Exploit(marker))
    tracking = TrackingSettings(
        uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
    )
    with pytest.raises(BundleError, match="refused: not signed"):
        Tracker(tracking).register_bundle(path)
    assert not marker.exists()
