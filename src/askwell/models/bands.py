"""From a calibrated probability to a band a person can read, with the evidence behind it.

The cut-offs are learned at training time on the validation part's calibration slice, as
shares of the scores the model gives real questions (``TrainConfig.band_shares``): the lowest
are "likely to struggle", the highest "likely well received", the rest "uncertain". Fixed
probability cut-offs would not work: with a label most questions meet (77% for the default),
almost nothing would ever fall under 0.5. Each band carries its *confidence*: the share of
calibration questions in it whose outcome was good, beside the overall rate, so "likely to
struggle" means "of questions scored like this, 60% got a good answer in a week, against 77%
of all questions". The evaluation re-checks each band's rate on the test part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

REVIEW_MARGIN = 0.01  # a score this close to a cut-off could fall either side: flag it

STRUGGLE = "likely to struggle"
UNCERTAIN = "uncertain"
WELL_RECEIVED = "likely well received"
BAND_NAMES = (STRUGGLE, UNCERTAIN, WELL_RECEIVED)


@dataclass(frozen=True)
class BandStats:
    name: str
    good_rate: float  # share of validation questions in this band with a good outcome
    n: int


@dataclass(frozen=True)
class Bands:
    low: float  # scores below: likely to struggle
    high: float  # scores at or above: likely well received
    base_rate: float  # good outcomes among all validation questions
    stats: tuple[BandStats, ...]

    @classmethod
    def fit(cls, y: npt.ArrayLike, p: npt.ArrayLike, shares: tuple[float, float]) -> Bands:
        """Cut-offs and per-band outcome rates from calibration labels ``y`` and calibrated
        scores ``p``: the lowest ``shares[0]`` of the scores struggle, the highest
        ``shares[1]`` are well received."""
        y_, p_ = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
        if y_.size == 0 or y_.shape != p_.shape:
            raise ValueError("bands need validation labels and scores of the same, non-zero size")
        low = float(np.quantile(p_, shares[0]))
        high = float(np.quantile(p_, 1.0 - shares[1]))
        bands = cls(low, max(high, low), float(y_.mean()), ())
        names = np.array([bands.name(v) for v in p_])
        stats = tuple(
            BandStats(n, float(y_[names == n].mean()) if (names == n).any() else float("nan"),
                      int((names == n).sum()))
            for n in BAND_NAMES
        )  # fmt: skip
        return cls(bands.low, bands.high, bands.base_rate, stats)

    def name(self, p: float) -> str:
        if p < self.low:
            return STRUGGLE
        return WELL_RECEIVED if p >= self.high else UNCERTAIN

    def of(self, p: float) -> BandStats:
        """The band a score falls in, with its validation evidence."""
        name = self.name(p)
        return next(s for s in self.stats if s.name == name)

    def needs_review(self, p: float) -> bool:
        """Uncertain, or so close to a cut-off that the band could as well be the other."""
        near = min(abs(p - self.low), abs(p - self.high)) < REVIEW_MARGIN
        return self.name(p) == UNCERTAIN or near


READY = "ready to post"
NEEDS_WORK = "needs work"
LIKELY_CLOSED = "likely to be closed"
VERDICT_NAMES = (READY, NEEDS_WORK, LIKELY_CLOSED)


@dataclass(frozen=True)
class Verdict:
    """The headline a person reads first, from the closing risk at the live site's rate.

    The cut-offs are multiples of that rate (``RiskBands.fit``): below it, a question is less
    likely to be closed than the typical one ("ready to post"); past ``high`` times it, far
    more ("likely to be closed": its closing reason is what to fix first)."""

    name: str
    closed_rate: float  # of validation questions in this band, the share closed, at the live rate
    n: int


@dataclass(frozen=True)
class RiskBands:
    low: float  # live closing risks below: ready to post
    high: float  # at or above: likely to be closed
    live_rate: float
    stats: tuple[Verdict, ...]

    @classmethod
    def fit(
        cls,
        closed: npt.ArrayLike,
        risk: npt.ArrayLike,
        live_rate: float,
        multiples: tuple[float, float],
    ) -> RiskBands:
        """Cut-offs at ``multiples`` of ``live_rate``, and each band's closed share among
        validation questions (``closed`` 0/1, ``risk`` their live closing risks), the
        sample's classes reweighted to the live rate so the share is the live site's."""
        c, r = np.asarray(closed, dtype=np.float64), np.asarray(risk, dtype=np.float64)
        if c.size == 0 or c.shape != r.shape or not 0 < c.mean() < 1:
            raise ValueError("risk bands need validation outcomes of both kinds")
        weight = live_weights(c, live_rate)
        bands = cls(live_rate * multiples[0], live_rate * multiples[1], live_rate, ())
        names = np.array([bands.name(v) for v in r])
        stats = []
        for name in VERDICT_NAMES:
            inside = names == name
            rate = float(np.average(c[inside], weights=weight[inside])) if inside.any() else 0.0
            stats.append(Verdict(name, rate, int(inside.sum())))
        return cls(bands.low, bands.high, live_rate, tuple(stats))

    def name(self, risk: float) -> str:
        if risk < self.low:
            return READY
        return LIKELY_CLOSED if risk >= self.high else NEEDS_WORK

    def of(self, risk: float) -> Verdict:
        name = self.name(risk)
        return next(s for s in self.stats if s.name == name)


def live_weights(closed: npt.NDArray[np.float64], live_rate: float) -> npt.NDArray[np.float64]:
    """Per question, the weight that gives the sample's closed questions the live site's
    share ``live_rate`` (a sample's own mix is set by how it was drawn)."""
    share = float(closed.mean())
    weights: npt.NDArray[np.float64] = np.where(
        closed == 1, live_rate / share, (1 - live_rate) / (1 - share)
    )
    return weights
