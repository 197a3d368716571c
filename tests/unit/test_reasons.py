"""The close-reason model and the move of scores to the live site's base rate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit, logit

from askwell.models.reasons import fit_reasons, macro_f1


def _rows(n: int, seed: int) -> tuple[sparse.csr_matrix, list[str]]:
    """Three reasons, each announced by its own column (and some noise)."""
    rng = np.random.default_rng(seed)
    reasons = ["off topic", "not constructive", "not a real question"]
    truth = rng.integers(0, 3, n)
    x = rng.random((n, 6)) * 0.5
    x[np.arange(n), truth] += 1.0
    return sparse.csr_matrix(x), [reasons[i] for i in truth]


def test_reasons_are_learned_and_chosen_on_validation() -> None:
    x, y = _rows(600, 0)
    xv, yv = _rows(300, 1)
    model, scores = fit_reasons(x, y, xv, yv, grid_c=(0.01, 1.0))
    assert set(scores) == {"C=0.01", "C=1.0"}
    assert model.reasons == ("not a real question", "not constructive", "off topic")
    proba = model.proba(xv)
    assert proba.shape == (300, 3) and np.allclose(proba.sum(axis=1), 1)
    # The unchecked softmax is scikit-learn's own.
    assert np.allclose(proba, model.estimator.predict_proba(xv))
    assert macro_f1(yv, model.predict(xv), model.reasons) > 0.9


def test_majority_baseline_scores_low_macro_f1() -> None:
    truth = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    assert macro_f1(truth, ["a"] * 100, ["a", "b", "c"]) == pytest.approx((2 * 0.6 / 1.6) / 3)


def test_one_reason_cannot_be_learned() -> None:
    x, _ = _rows(20, 0)
    with pytest.raises(ValueError, match="two close reasons"):
        fit_reasons(x, ["off topic"] * 20, x, ["off topic"] * 20, grid_c=(1.0,))


def test_live_shift_moves_odds_by_the_base_rates_odds() -> None:
    """Scores calibrated on a half-closed sample, stated at a 6% closing rate: a question the
    sample put at even odds is as likely closed as the typical live question."""
    from askwell.models.train import QualityModel, TrainConfig, _live_shift

    y_val = np.array([1] * 50 + [0] * 50)  # good outcome (kept open) half the time
    shift = _live_shift(TrainConfig(label="closed", live_label_rate=0.06), y_val)
    assert shift == pytest.approx(logit(0.94) - logit(0.5))
    model = QualityModel.__new__(QualityModel)
    model.live_shift = shift
    assert model.live(np.array([0.5]))[0] == pytest.approx(0.94)
    p = np.array([0.2, 0.7])
    assert np.allclose(model.live(p), expit(logit(p) + shift))
    assert _live_shift(TrainConfig(label="closed"), y_val) == 0.0  # no live rate: unchanged
