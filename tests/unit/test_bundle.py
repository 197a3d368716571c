"""Bundles: round trip, and a clear error for every way one can be wrong."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from askwell.models.bundle import (
    FORMAT_VERSION,
    BundleError,
    BundleInfo,
    load_bundle,
    read_info,
    save_bundle,
)

FEATURES = ["title_chars", "body_words", "n_code_blocks"]


class Threshold:
    """A tiny real model: predicts 1 above a threshold."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def predict(self, x: list[float]) -> list[int]:
        return [int(v > self.threshold) for v in x]


def _info(**changes: object) -> BundleInfo:
    base = {
        "name": "test",
        "label": {"name": "answered", "description": "At least one answer."},
        "feature_schema": FEATURES,
        "data_fingerprint": "ab" * 32,
        "config": {"seed": 0},
        "metrics": {"roc_auc": 0.71},
    }
    base.update(changes)
    return BundleInfo(**base)  # type: ignore[arg-type]


def test_round_trip(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", Threshold(0.5), _info())
    model, info = load_bundle(path, FEATURES)
    assert model.predict([0.2, 0.9]) == [0, 1]
    assert info == _info(code_version=info.code_version)
    assert info.code_version and read_info(path) == info


def test_same_model_same_bytes(tmp_path: Path) -> None:
    a = save_bundle(tmp_path / "a.askwell", Threshold(0.5), _info(code_version="1"))
    b = save_bundle(tmp_path / "b.askwell", Threshold(0.5), _info(code_version="1"))
    assert a.read_bytes() == b.read_bytes()


def _rewrite(path: Path, name: str, change: bytes | None = None, edit: object = None) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    if change is not None:
        members[name] = change
    if callable(edit):
        members[name] = edit(members[name])
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in members.items():
            archive.writestr(n, data)


def test_altered_model_is_refused_before_unpickling(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", Threshold(0.5), _info())
    _rewrite(path, "model.pkl", edit=lambda b: b[:-1] + b"x")
    with pytest.raises(BundleError, match=r"checksum mismatch in model\.pkl"):
        load_bundle(path)


def test_altered_description_is_refused(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", Threshold(0.5), _info())

    def inflate(data: bytes) -> bytes:
        description = json.loads(data)
        description["metrics"]["roc_auc"] = 0.99
        return json.dumps(description).encode()

    _rewrite(path, "bundle.json", edit=inflate)
    with pytest.raises(BundleError, match=r"checksum mismatch in bundle\.json"):
        read_info(path)


def test_feature_schema_must_match(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", Threshold(0.5), _info())
    with pytest.raises(BundleError, match=r"only in the bundle: \['n_code_blocks'\]"):
        load_bundle(path, FEATURES[:2])
    with pytest.raises(BundleError, match="same names, other order"):
        load_bundle(path, list(reversed(FEATURES)))


def test_not_a_bundle(tmp_path: Path) -> None:
    junk = tmp_path / "junk.askwell"
    junk.write_text("not a zip")
    with pytest.raises(BundleError, match="not a readable askwell bundle"):
        load_bundle(junk)
    with pytest.raises(BundleError, match="no such bundle"):
        load_bundle(tmp_path / "missing.askwell")


@pytest.mark.parametrize("version", [FORMAT_VERSION - 1, FORMAT_VERSION + 1])
def test_other_formats_are_refused(tmp_path: Path, version: int) -> None:
    # An older bundle's model lacks what this code's predictor needs (bands, bins…).
    path = save_bundle(tmp_path / "m.askwell", Threshold(0.5), _info(format_version=version))
    with pytest.raises(BundleError, match="unsupported bundle format"):
        load_bundle(path)


def test_members_are_compressed(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", Threshold(0.5), _info(config={"pad": "x" * 10_000}))
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
        description = archive.getinfo("bundle.json")
        assert description.compress_size < description.file_size / 10
