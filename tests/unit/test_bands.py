"""Bands: cut-offs at fixed shares of validation scores, each with its observed outcome rate."""

from __future__ import annotations

import numpy as np
import pytest

from askwell.models.bands import (
    HIGH_SHARE,
    LOW_SHARE,
    REVIEW_MARGIN,
    STRUGGLE,
    UNCERTAIN,
    WELL_RECEIVED,
    Bands,
)


@pytest.fixture(scope="module")
def bands() -> Bands:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 2000)  # a high base-rate label: nothing near 0
    y = (rng.random(2000) < p).astype(int)
    return Bands.fit(y, p)


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
        Bands.fit([], [])
    with pytest.raises(ValueError, match="same, non-zero size"):
        Bands.fit([1, 0], [0.5])
