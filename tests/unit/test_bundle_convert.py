"""Format 2 (a pickled model) is refused with the command that rewrites it; ``convert`` reads
the pickle only of a trusted bundle and writes format 3 that scores the same, bit for bit."""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from askwell.models import bundle as bundles
from askwell.models.bundle import (
    FORMAT_VERSION,
    BundleError,
    BundleInfo,
    convert_bundle,
    load_bundle,
    read_info,
    sign_bundle,
    signing_key,
)
from askwell.models.quality import QualityModel
from tests.unit.test_bundle import FEATURES, _info, questions, tiny_model
from tests.unit.test_bundle_trust import OTHER_KEY, Exploit


def _pickled(model: object) -> bytes:
    # As format 2 wrote it: the classes named from askwell.models.train, which re-exports them.
    data = pickle.dumps(model, protocol=2)
    return data.replace(b"askwell.models.quality\n", b"askwell.models.train\n")


def format2(path: Path, model: object, key: bytes | None, info: BundleInfo | None = None) -> Path:
    """A bundle as the code before format 3 wrote it, signed with ``key`` (None: unsigned)."""
    model_bytes = _pickled(model)
    description = {**asdict(info or _info()), "format_version": 2}
    description["files"] = {"model.pkl": bundles._digest(model_bytes)}
    description["checksum"] = bundles._description_digest(description)
    raw = json.dumps(description, indent=2).encode()
    members = {"model.pkl": model_bytes}
    if key is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bundle.json", raw)
            archive.writestr("model.pkl", model_bytes)
    else:
        bundles._write(path, raw, members, bundles._signature(key, raw, members))
    return path


def test_format_2_is_refused_naming_the_command_that_converts_it(tmp_path: Path) -> None:
    path = format2(tmp_path / "old.askwell", tiny_model(), signing_key())
    for read in (load_bundle, read_info):
        with pytest.raises(BundleError) as refused:
            read(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: refused: a format-2 bundle")
        assert f"askwell bundles convert {path}" in message


def test_convert_rewrites_a_trusted_bundle_scoring_the_same(tmp_path: Path) -> None:
    model = tiny_model(0.3)
    path = format2(tmp_path / "old.askwell", model, signing_key())
    legacy = pickle.loads(zipfile.ZipFile(path).read("model.pkl"))
    assert type(legacy) is QualityModel
    info = convert_bundle(path)
    assert info.format_version == FORMAT_VERSION == read_info(path).format_version
    assert {k: v for k, v in asdict(info).items() if k != "format_version"} == {
        k: v for k, v in asdict(_info()).items() if k != "format_version"
    }  # the description is kept, code version included
    converted, _ = load_bundle(path, FEATURES)
    made, _ = questions()
    assert np.array_equal(converted.predict_proba(made), legacy.predict_proba(made))
    assert converted.threshold == 0.3
    with zipfile.ZipFile(path) as archive:
        assert "model.pkl" not in archive.namelist()
    with pytest.raises(BundleError, match="already format 3; nothing to convert"):
        convert_bundle(path)


def test_convert_writes_elsewhere_and_signs_with_the_given_key(tmp_path: Path) -> None:
    path = format2(tmp_path / "old.askwell", tiny_model(), OTHER_KEY)
    out = tmp_path / "new" / "m.askwell"
    convert_bundle(path, out, key=OTHER_KEY)
    assert read_info(out, key=OTHER_KEY).format_version == FORMAT_VERSION
    with pytest.raises(BundleError, match="does not match the key in"):
        read_info(out)  # signed with the key given, not this deployment's
    with pytest.raises(BundleError, match="refused: a format-2 bundle"):
        read_info(path, key=OTHER_KEY)  # the original is left as it was


@pytest.mark.parametrize("key", [None, OTHER_KEY])
def test_convert_never_reads_the_pickle_of_an_untrusted_bundle(
    tmp_path: Path, key: bytes | None
) -> None:
    marker = tmp_path / "ran"
    path = format2(tmp_path / "crafted.askwell", Exploit(marker), key)
    with pytest.raises(BundleError, match=r"refused: (not signed|its signature does not match)"):
        convert_bundle(path)
    assert not marker.exists()
    # Vouched for, it is read (that is what trust means), and what it holds is refused.
    sign_bundle(path)
    with pytest.raises(BundleError, match="not an askwell model"):
        convert_bundle(path)
    assert marker.exists()
