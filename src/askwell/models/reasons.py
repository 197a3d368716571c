"""Why a question would be closed: a multinomial model over the closing model's own rows.

Learned on the closed training questions only, so it gives P(reason | closed); the editor shows
the most likely reason beside the closing risk. The penalty is chosen by validation macro-F1
(each reason counts the same, so the rare "too localized" is not drowned by "not a real
question"); the test part is read by ``evaluate`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score


@dataclass
class ReasonModel:
    """A fitted reason classifier: ``proba`` columns follow ``reasons``."""

    estimator: Any
    reasons: tuple[str, ...]

    def proba(self, x: Any) -> npt.NDArray[np.float64]:
        """P(reason | closed) per row of ``x``, columns in ``reasons`` order."""
        estimator = self.estimator
        # LogisticRegression.predict_proba's arithmetic (multinomial softmax) without its
        # per-call input checks: the editor asks for one row at a time.
        logits = np.asarray(x @ estimator.coef_.T + estimator.intercept_, dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        proba: npt.NDArray[np.float64] = weights / weights.sum(axis=1, keepdims=True)
        return proba

    def predict(self, x: Any) -> list[str]:
        return [self.reasons[i] for i in self.proba(x).argmax(axis=1)]


def macro_f1(truth: Sequence[Any], predicted: Sequence[Any], reasons: Sequence[Any]) -> float:
    """F1 averaged over ``reasons`` (a reason never predicted nor true scores 0)."""
    return float(
        f1_score(
            list(truth), list(predicted), labels=list(reasons), average="macro", zero_division=0
        )
    )


def fit_reasons(
    x_train: Any,
    reasons_train: Sequence[str],
    x_val: Any,
    reasons_val: Sequence[str],
    grid_c: Sequence[float],
    seed: int = 0,
) -> tuple[ReasonModel, dict[str, float]]:
    """The reason model with the validation-best penalty, and every penalty's validation
    macro-F1."""
    reasons = tuple(sorted(set(reasons_train)))
    if len(reasons) < 2:
        raise ValueError(f"needs at least two close reasons in training, got {list(reasons)}")
    scores: dict[str, float] = {}
    best: tuple[float, ReasonModel] | None = None
    for c in grid_c:
        estimator = LogisticRegression(
            C=c, max_iter=2000, class_weight="balanced", random_state=seed
        ).fit(x_train, list(reasons_train))
        model = ReasonModel(estimator, tuple(str(r) for r in estimator.classes_))
        f1 = macro_f1(reasons_val, model.predict(x_val), model.reasons)
        scores[f"C={c}"] = f1
        if best is None or f1 > best[0]:
            best = (f1, model)
    assert best is not None
    return best[1], scores
