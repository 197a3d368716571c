"""The serving format of a model (``models.quality``): arrays and JSON that rebuild it bit
for bit, and refuse anything else."""

from __future__ import annotations

import copy
import io
import json
import re

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from askwell.models.quality import (
    BoosterClassifier,
    MeanEstimator,
    ModelFormatError,
    QualityModel,
    from_members,
    same_scores,
    to_members,
)
from tests.unit.test_bundle import questions, tiny_model


def _same(a: QualityModel, b: QualityModel) -> None:
    made, _ = questions()
    x = a.transform(made)
    assert (x != b.transform(made)).nnz == 0
    assert np.array_equal(a.predict_proba(made), b.predict_proba(made))
    assert np.array_equal(a.live(a.proba(x)), b.live(b.proba(x)))
    assert np.array_equal(a.calibrated.predict_proba(x), b.calibrated.predict_proba(x))
    assert (a.contributions_of(x).values != b.contributions_of(x).values).nnz == 0
    assert a.feature_names == b.feature_names
    for q in made[:3]:  # the editor's rows: the question without each sentence, what-ifs
        spans = [(0, len(q.body.text))]
        ra = a.features.transform_editor(q, spans, made[3:5])
        rb = b.features.transform_editor(q, spans, made[3:5])
        assert (ra.x != rb.x).nnz == 0 and np.array_equal(ra.catalog, rb.catalog)
    assert same_scores(a, b)


def test_a_model_round_trips_exactly() -> None:
    model = tiny_model(0.42)
    members = to_members(model)
    rebuilt = from_members(members)
    _same(model, rebuilt)
    assert rebuilt.threshold == 0.42 and rebuilt.params == model.params
    assert rebuilt.risk_bands == model.risk_bands
    assert str(rebuilt.bands) == str(model.bands)  # an empty band's rate is NaN
    assert rebuilt.live_shift == model.live_shift
    assert model.reasons is not None and rebuilt.reasons is not None
    assert rebuilt.reasons.reasons == model.reasons.reasons
    made, _ = questions()
    x = model.transform(made)
    assert np.array_equal(model.reasons.proba(x), rebuilt.reasons.proba(x))
    # The bins' own transform works too (the pipeline uses a faster equivalent).
    values = np.zeros((1, len(model.features.moderate_)))
    assert model.features.bins_ is not None and rebuilt.features.bins_ is not None
    expected = model.features.bins_.transform(values)
    assert (rebuilt.features.bins_.transform(values) != expected).nnz == 0
    assert to_members(rebuilt) == members  # and it saves to the same bytes


def test_members_are_json_and_plain_arrays() -> None:
    members = to_members(tiny_model())
    spec = json.loads(members["model.json"])
    assert spec["kind"] == "askwell.quality_model"
    for name, data in members.items():
        if name.endswith(".npy"):
            array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
            assert not array.dtype.hasobject, name
        else:
            assert name == "model.json"


def test_a_blend_with_trees_round_trips_exactly() -> None:
    model = tiny_model()
    made, y = questions()
    x = model.transform(made)
    trees = LGBMClassifier(
        n_estimators=20, num_leaves=4, min_child_samples=2, n_jobs=1, verbose=-1
    ).fit(x, y)
    for estimator in (trees, MeanEstimator([model.estimator, trees])):
        calibrated = CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid")
        blended = copy.copy(model)
        blended.calibrated = calibrated.fit(x, y)
        blended.__dict__.pop("_platt", None)  # if cached, for the other estimator
        rebuilt = from_members(to_members(blended))
        _same(blended, rebuilt)
        assert to_members(rebuilt) == to_members(blended)
        inner = rebuilt.estimator
        booster = inner if isinstance(inner, BoosterClassifier) else inner.estimators[1]
        assert isinstance(booster, BoosterClassifier)
        assert np.array_equal(booster.decision_function(x), trees.decision_function(x))
        assert np.array_equal(booster.predict_proba(x), trees.predict_proba(x))


def _replaced(members: dict[str, bytes], name: str, data: bytes) -> dict[str, bytes]:
    return {**members, name: data}


def test_what_is_not_a_model_is_refused() -> None:
    members = to_members(tiny_model())
    spec = json.loads(members["model.json"])
    with pytest.raises(ModelFormatError, match=r"holds no model\.json"):
        from_members({})
    with pytest.raises(ModelFormatError, match="does not describe an askwell model"):
        from_members(_replaced(members, "model.json", b'{"kind": "os.system"}'))
    other = {**spec, "estimator": {**spec["estimator"], "kind": "subprocess.Popen"}}
    with pytest.raises(ModelFormatError, match=r"unknown estimator kind 'subprocess\.Popen'"):
        from_members(_replaced(members, "model.json", json.dumps(other).encode()))
    other = {**spec, "estimator": {**spec["estimator"], "coef": "../../etc/passwd"}}
    missing = re.escape("lists no member model/../../etc/passwd.npy")
    with pytest.raises(ModelFormatError, match=missing):
        from_members(_replaced(members, "model.json", json.dumps(other).encode()))
    word = {**spec["features"]["word"], "class": "HashingVectorizer"}
    other = {**spec, "features": {**spec["features"], "word": word}}
    with pytest.raises(ModelFormatError, match="unknown vectorizer 'HashingVectorizer'"):
        from_members(_replaced(members, "model.json", json.dumps(other).encode()))
    text = io.BytesIO()
    np.lib.format.write_array(text, np.array(["a"]))
    with pytest.raises(ModelFormatError, match=r"<U1 where f is due"):
        from_members(_replaced(members, "model/estimator.coef.npy", text.getvalue()))


def test_what_json_cannot_say_is_not_saved() -> None:
    model = tiny_model()
    model.params = {"C": object()}
    with pytest.raises(ModelFormatError, match="cannot save object"):
        to_members(model)
