"""Contributions are exact: they add up to the model's logit, for every kind askwell trains."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from askwell.models.contributions import contributions, display_name, group_of
from askwell.models.train import MeanEstimator

NAMES = ["body_words", "n_code_blocks", "thanks", "word:loop", "word:error", "title_chars:how",
         "tag:python"]  # fmt: skip


Data = tuple[sparse.csr_matrix, np.ndarray]


@pytest.fixture(scope="module")
def data() -> Data:
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(400, len(NAMES)))
    dense[:, 3:] = np.where(rng.random((400, 4)) < 0.6, 0.0, np.abs(dense[:, 3:]))  # sparse text
    y = (dense[:, 0] + 0.8 * dense[:, 1] - dense[:, 2] + rng.normal(size=400) > 0).astype(int)
    return sparse.csr_matrix(dense), y


def _logit(estimator: Any, x: sparse.csr_matrix) -> np.ndarray:
    p = np.clip(estimator.predict_proba(x)[:, 1], 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def test_logistic_regression_contributions_add_up_to_its_logit(data: Data) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    c = contributions(model, x, NAMES)
    assert np.allclose(np.asarray(c.values.sum(1)).ravel() + c.base, model.decision_function(x))


def test_lightgbm_contributions_add_up_to_its_raw_score(data: Data) -> None:
    x, y = data
    model = LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(x, y)
    c = contributions(model, x, NAMES)
    assert c.values.shape == (x.shape[0], len(NAMES))
    assert np.allclose(np.asarray(c.values.sum(1)).ravel() + c.base, _logit(model, x), atol=1e-6)


def test_blend_contributions_are_the_mean_of_its_members(data: Data) -> None:
    x, y = data
    members = [
        LogisticRegression().fit(x, y),
        LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(x, y),
    ]
    c = contributions(MeanEstimator(members), x, NAMES)
    parts = [contributions(m, x, NAMES) for m in members]
    assert np.allclose(c.values.toarray(), (parts[0].values + parts[1].values).toarray() / 2)
    assert np.allclose(c.base, (parts[0].base + parts[1].base) / 2)


def test_groups_are_ideas_and_keep_the_total(data: Data) -> None:
    x, y = data
    c = contributions(LogisticRegression().fit(x, y), x, NAMES)
    grouped, groups = c.grouped()
    assert groups == ["code", "length", "tags", "title wording", "tone", "wording"]
    assert np.allclose(grouped.sum(1), np.asarray(c.values.sum(1)).ravel())
    wording = grouped[:, groups.index("wording")]
    assert np.allclose(wording, np.asarray(c.values[:, 3:5].sum(1)).ravel())
    assert [group_of(n) for n in ("body_words", "word:x", "tag:y")] == ["length", "wording", "tags"]
    assert display_name("word:loop") == "word “loop”" and display_name("thanks") == "Thanks"


def test_a_model_without_exact_contributions_is_refused(data: Data) -> None:
    x, y = data
    with pytest.raises(TypeError, match="DecisionTreeClassifier"):
        contributions(DecisionTreeClassifier().fit(x, y), x, NAMES)
