"""Bands: cut-offs at fixed shares of validation scores, each with its observed outcome rate."""

from __future__ import annotations

import numpy as np
import pytest

from askwell.models.bands import (
    REVIEW_MARGIN,
    STRUGGLE,
    UNCERTAIN,
    WELL_RECEIVED,
    Bands,
)

LOW_SHARE, HIGH_SHARE = 0.2, 0.3


@pytest.fixture(scope="module")
def bands() -> Bands:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 2000)  # a high base-rate label: nothing near 0
    y = (rng.random(2000) < p).astype(int)
    return Bands.fit(y, p, (LOW_SHARE, HIGH_SHARE))


def test_cut_offs_split_validation_at_the_fixed_shares(bands: Bands) -> None:
    shares = {s.name: s.n / 2000 for s in bands.stats}
    assert shares[STRUGGLE] == pytest.approx(LOW_SHARE, abs=0.01)
    assert shares[WELL_RECEIVED] == pytest.approx(HIGH_SHARE, abs=0.01)
    assert 0.5 < bands.low < bands.high < 1.0  # relative, not 0.5


def test_each_band_carries_its_outcome_rate_in_order(bands: Bands) -> None:
    rate = {s.name: s.good_rate for s in bands.stats}
    assert rate[STRUGGLE] < bands.base_rate < rate[WELL_RECEIVED]
    assert bands.of(bands.low - 0.05).name == STRUGGLE
    assert bands.of(bands.high).name == WELL_RECEIVED
    assert bands.of((bands.low + bands.high) / 2).name == UNCERTAIN


def test_uncertain_and_edge_scores_are_flagged_for_review(bands: Bands) -> None:
    assert bands.needs_review((bands.low + bands.high) / 2)
    assert bands.needs_review(bands.high + REVIEW_MARGIN / 2)
    assert not bands.needs_review(bands.high + 3 * REVIEW_MARGIN)
    assert not bands.needs_review(bands.low - 3 * REVIEW_MARGIN)


def test_empty_or_mismatched_validation_is_refused() -> None:
    with pytest.raises(ValueError, match="same, non-zero size"):
        Bands.fit([], [], (LOW_SHARE, HIGH_SHARE))
    with pytest.raises(ValueError, match="same, non-zero size"):
        Bands.fit([1, 0], [0.5], (LOW_SHARE, HIGH_SHARE))


def test_risk_bands_cut_at_multiples_of_the_live_rate() -> None:
    from askwell.models.bands import LIKELY_CLOSED, NEEDS_WORK, READY, RiskBands

    rng = np.random.default_rng(0)
    closed = rng.integers(0, 2, 2000)
    risk = np.clip(0.02 + 0.2 * closed * rng.random(2000), 0, 1)
    bands = RiskBands.fit(closed, risk, live_rate=0.06, multiples=(1.0, 3.0))
    assert (bands.low, bands.high) == pytest.approx((0.06, 0.18))
    assert bands.name(0.059) == READY and bands.name(0.06) == NEEDS_WORK
    assert bands.name(0.18) == LIKELY_CLOSED
    assert sum(s.n for s in bands.stats) == 2000


def test_risk_band_evidence_is_stated_at_the_live_rate() -> None:
    """Half the sample is closed; the band's share is reweighted to the live 6%."""
    from askwell.models.bands import READY, RiskBands

    closed = np.array([1] * 100 + [0] * 100)
    risk = np.full(200, 0.01)  # every question in one band: its share is the live rate
    bands = RiskBands.fit(closed, risk, live_rate=0.06, multiples=(1.0, 3.0))
    assert bands.of(0.01).name == READY
    assert bands.of(0.01).closed_rate == pytest.approx(0.06)
    with pytest.raises(ValueError, match="both kinds"):
        RiskBands.fit(np.zeros(5), np.zeros(5), 0.06, (1.0, 3.0))
