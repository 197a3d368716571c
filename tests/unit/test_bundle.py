"""Bundles: round trip, and a clear error for every way one can be wrong."""

from __future__ import annotations

import copy
import functools
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from askwell.features.pipeline import QuestionFeatures
from askwell.models.bands import Bands, RiskBands
from askwell.models.bundle import (
    FORMAT_VERSION,
    BundleError,
    BundleInfo,
    load_bundle,
    read_info,
    save_bundle,
)
from askwell.models.linear import DirectionalLogisticRegression, directions
from askwell.models.quality import QualityModel
from askwell.models.reasons import ReasonModel
from askwell.records import Question

FEATURES = ["title_chars", "body_words", "n_code_blocks"]


def questions(n: int = 40) -> tuple[list[Question], np.ndarray]:
    """Small made-up questions, half of them well asked (code, a clear ask, tags)."""
    made, y = [], []
    for i in range(n):
        good = i % 2 == 0
        body = (
            f"I call `parse({i})` and get this:\n\n    ValueError: bad {i}\n\n"
            "What does the error mean? I read [the docs](https://example.com)."
            if good
            else f"plz help urgent!!! my code {i} doesnt work. is there a way ?"
        )
        tags = ("python", "parsing") if good else ("python",) if i % 4 else ()
        made.append(Question.from_markdown(f"Question number {i} about parsing", body, tags))
        y.append(int(good))
    return made, np.array(y)


@functools.cache
def _fitted() -> QualityModel:
    """A real model, every part of it fitted (catalog, bins, word, title and tag vectors,
    sign-bounded weights, Platt scaling, bands, reasons, risk bands), in a second."""
    made, y = questions()
    features = QuestionFeatures(max_word_features=200, max_char_features=100, min_df=2)
    x = features.fit(made).transform(made)
    signs = directions([str(n) for n in features.get_feature_names_out()])
    estimator = DirectionalLogisticRegression(C=1.0, signs=signs).fit(x, y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid").fit(x, y)
    p = calibrated.predict_proba(x)[:, 1]
    why = ["off topic" if i % 4 == 1 else "unclear" for i in range(len(y))]
    reasons = ReasonModel(LogisticRegression(C=1.0).fit(x, why), ("off topic", "unclear"))
    return QualityModel(
        features, calibrated, 0.5, {"C": 1.0}, Bands.fit(y, p, (0.2, 0.3)),
        live_shift=-0.4, reasons=reasons,
        risk_bands=RiskBands.fit(1 - y, 1 - p, 0.1, (1.0, 3.0)),
    )  # fmt: skip


def tiny_model(threshold: float = 0.5) -> QualityModel:
    """``_fitted``'s model with its own ``threshold`` (to tell bundles apart)."""
    model = copy.copy(_fitted())
    model.threshold = threshold
    return model


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
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
    model, info = load_bundle(path, FEATURES)
    made, _ = questions()
    assert model.threshold == 0.5
    assert np.array_equal(model.predict_proba(made), tiny_model().predict_proba(made))
    assert info == _info(code_version=info.code_version)
    assert info.code_version and read_info(path) == info


def test_same_model_same_bytes(tmp_path: Path) -> None:
    a = save_bundle(tmp_path / "a.askwell", tiny_model(0.5), _info(code_version="1"))
    b = save_bundle(tmp_path / "b.askwell", tiny_model(0.5), _info(code_version="1"))
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


@pytest.mark.parametrize("member", ["model.json", "model/estimator.coef.npy"])
def test_an_altered_model_member_is_refused_before_it_is_read(tmp_path: Path, member: str) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
    _rewrite(path, member, edit=lambda b: b[:-1] + b"x")
    with pytest.raises(BundleError, match=rf"checksum mismatch in {member}"):
        load_bundle(path)


def test_altered_description_is_refused(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())

    def inflate(data: bytes) -> bytes:
        description = json.loads(data)
        description["metrics"]["roc_auc"] = 0.99
        return json.dumps(description).encode()

    _rewrite(path, "bundle.json", edit=inflate)
    with pytest.raises(BundleError, match=r"checksum mismatch in bundle\.json"):
        read_info(path)


def test_feature_schema_must_match(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())
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


def test_save_writes_this_format(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info(format_version=1))
    assert read_info(path).format_version == FORMAT_VERSION == 3


@pytest.mark.parametrize("version", [1, FORMAT_VERSION + 1])
def test_other_formats_are_refused(tmp_path: Path, version: int) -> None:
    # An older bundle's model lacks what this code's predictor needs (bands, bins…).
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info())

    def other(data: bytes) -> bytes:
        description = json.loads(data)
        description["format_version"] = version
        return json.dumps(description).encode()

    _rewrite(path, "bundle.json", edit=other)
    with pytest.raises(BundleError, match="unsupported bundle format"):
        load_bundle(path)


def test_members_are_compressed(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "m.askwell", tiny_model(0.5), _info(config={"pad": "x" * 10_000}))
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
        description = archive.getinfo("bundle.json")
        assert description.compress_size < description.file_size - 9_000  # the padding
