"""Directional logistic regression: plain logistic regression, with coefficient signs bounded
where the catalog says which way is better."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from askwell.models.contributions import contributions
from askwell.models.linear import DirectionalLogisticRegression, directions


@pytest.fixture(scope="module")
def data() -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 4))
    # Column 2 truly lowers the odds; column 3 is noise.
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] + rng.logistic(size=600) > 0).astype(int)
    return sparse.csr_matrix(x), y


def test_without_bounds_it_is_logistic_regression(
    data: tuple[sparse.csr_matrix, np.ndarray],
) -> None:
    x, y = data
    ours = DirectionalLogisticRegression(C=0.5).fit(x, y)
    reference = LogisticRegression(C=0.5, solver="lbfgs", tol=1e-10, max_iter=10_000).fit(x, y)
    assert np.allclose(ours.coef_, reference.coef_, atol=1e-3)
    assert np.allclose(ours.intercept_, reference.intercept_, atol=1e-3)
    assert np.allclose(ours.predict_proba(x), reference.predict_proba(x), atol=1e-4)
    assert (ours.predict(x) == reference.predict(x)).mean() > 0.99


def test_bounded_signs_hold_and_free_columns_still_learn(
    data: tuple[sparse.csr_matrix, np.ndarray],
) -> None:
    x, y = data
    signs = np.array([1, 0, 1, -1])  # column 2 is told "higher is better": it lowers the odds
    model = DirectionalLogisticRegression(C=0.5, signs=signs).fit(x, y)
    coef = model.coef_[0]
    assert coef[0] > 0.5 and coef[1] > 0.2  # the true effects survive
    assert coef[2] == pytest.approx(0.0, abs=1e-8)  # bounded at zero, not negative
    assert coef[3] <= 0.0
    c = contributions(model, x, ["a", "b", "c", "d"])
    assert np.allclose(np.asarray(c.values.sum(1)).ravel() + c.base, model.decision_function(x))


def test_directions_come_from_the_catalog() -> None:
    names = ["n_code_blocks", "urgency", "body_words", "word:code", "tag:python"]
    assert directions(names).tolist() == [1, -1, 0, 0, 0]


def test_bad_inputs_are_refused(data: tuple[sparse.csr_matrix, np.ndarray]) -> None:
    x, y = data
    with pytest.raises(ValueError, match="two classes"):
        DirectionalLogisticRegression().fit(x, np.zeros_like(y))
    with pytest.raises(ValueError, match="signs has shape"):
        DirectionalLogisticRegression(signs=np.array([1, 0])).fit(x, y)
