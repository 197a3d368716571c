"""Logistic regression whose interpretable features can only push the way the catalog says.

The feature catalog documents which way is better for many features (more code blocks,
fewer "plz urgent"). A plain model may learn the opposite from a quirk of its training sites,
and then the editor's advice ("add your code") would lower the score it explains. Bounding
those coefficients' signs (L-BFGS-B) keeps score and advice consistent; on validation it
also generalised better than the unbounded model (see the model card). Text columns and
features whose better value is "moderate" or "neutral" stay free.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse
from sklearn.base import BaseEstimator, ClassifierMixin

from askwell.features.catalog import get_feature

Floats = npt.NDArray[np.float64]
_SIGN = {"higher": 1, "lower": -1}


def directions(names: list[str]) -> npt.NDArray[np.int64]:
    """Per feature column: +1 (may only raise the score), -1 (only lower it), 0 (free)."""
    return np.array(
        [0 if ":" in n else _SIGN.get(get_feature(n).better, 0) for n in names], dtype=np.int64
    )


class DirectionalLogisticRegression(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """L2-penalised logistic regression (unpenalised intercept) with sign bounds.

    ``signs[j]`` = +1 bounds coefficient j to >= 0, -1 to <= 0, 0 leaves it free; ``None``
    leaves every coefficient free.
    """

    def __init__(
        self,
        C: float = 1.0,  # noqa: N803  (scikit-learn's name for it)
        signs: npt.NDArray[np.int64] | None = None,
        max_iter: int = 5000,
    ) -> None:
        self.C = C
        self.signs = signs
        self.max_iter = max_iter

    def fit(self, x: Any, y: npt.ArrayLike) -> Self:
        x = sparse.csr_matrix(x, dtype=np.float64)
        labels = np.asarray(y)
        self.classes_ = np.unique(labels)
        if self.classes_.size != 2:
            raise ValueError(f"needs two classes, got {self.classes_.tolist()}")
        target = np.where(labels == self.classes_[1], 1.0, -1.0)
        n = x.shape[1]
        signs = np.zeros(n, np.int64) if self.signs is None else np.asarray(self.signs)
        if signs.shape != (n,):
            raise ValueError(f"signs has shape {signs.shape}, the data {n} columns")
        penalty = 1.0 / self.C

        def loss(wb: Floats) -> tuple[float, Floats]:
            w, b = wb[:-1], wb[-1]
            margin = -target * (x @ w + b)
            value = float(np.logaddexp(0.0, margin).sum() + 0.5 * penalty * w @ w)
            slope = -target * _sigmoid(margin)
            return value, np.append(x.T @ slope + penalty * w, slope.sum())

        bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs]
        result = optimize.minimize(
            loss,
            np.zeros(n + 1),
            jac=True,
            method="L-BFGS-B",
            bounds=[*bounds, (None, None)],
            options={"maxiter": self.max_iter},
        )
        self.coef_ = result.x[np.newaxis, :-1]
        self.intercept_ = result.x[-1:]
        self.n_iter_ = int(result.nit)
        return self

    def decision_function(self, x: Any) -> Floats:
        scores: Floats = np.asarray(x @ self.coef_[0] + self.intercept_[0], dtype=np.float64)
        return scores.ravel()

    def predict_proba(self, x: Any) -> Floats:
        p = _sigmoid(self.decision_function(x))
        return np.column_stack([1.0 - p, p])

    def predict(self, x: Any) -> npt.NDArray[Any]:
        labels: npt.NDArray[Any] = self.classes_[(self.decision_function(x) > 0).astype(int)]
        return labels


def _sigmoid(z: Floats) -> Floats:
    out: Floats = np.exp(-np.logaddexp(0.0, -z))  # stable for large |z|
    return out
