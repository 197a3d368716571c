"""The rule-based fallback: what the service answers with when the model cannot load or
fails on a request. Same ``score`` as ``Predictor``, from ``HeuristicScorer``, marked
``degraded`` by the caller.

The heuristic learns nothing, so it has no validation evidence: its bands come from its own
points (no good sign: likely to struggle; three or more: likely well received), every result
is flagged for review, and highlights carry effects but no reasons.
"""

from __future__ import annotations

import numpy as np

from askwell.explain.highlights import assemble, leave_one_out
from askwell.explain.predictor import TOP_FACTORS, Factor, Scored
from askwell.explain.suggestions import candidates, ranked
from askwell.features.catalog import compute_features, get_feature
from askwell.models.bands import STRUGGLE, UNCERTAIN, WELL_RECEIVED
from askwell.models.heuristic import HeuristicScorer
from askwell.records import Question

_STRUGGLE_POINTS = 0.0  # at most this many points: not one good sign outweighs the bad
_WELL_RECEIVED_POINTS = 3.0


class FallbackPredictor:
    """``Predictor``'s interface over the rule-based scorer."""

    model_version = "heuristic (rule-based fallback)"

    def __init__(self, reason: str) -> None:
        self.scorer = HeuristicScorer()
        self.reason = reason  # why the model is not in use, for /readyz and the logs

    def score(self, question: Question) -> Scored:
        spans, variants = leave_one_out(question)
        found = candidates(question)
        scores = self.scorer.predict_proba([question, *variants, *(w for _, _, w in found)])
        p, n = float(scores[0]), len(variants)
        fired = self.scorer.fired(question)
        points = sum(r.points for r in fired)
        band = (
            STRUGGLE
            if points <= _STRUGGLE_POINTS
            else WELL_RECEIVED
            if points >= _WELL_RECEIVED_POINTS
            else UNCERTAIN
        )
        pushes: dict[str, float] = {}  # one entry per idea, as the model's factors are
        for r in fired:
            group = get_feature(r.features[0]).group
            pushes[group] = pushes.get(group, 0.0) + r.points
        factors = [Factor(group, push) for group, push in pushes.items()]
        return Scored(
            score=p,
            band=band,
            band_good_rate=None,
            base_rate=None,
            review=True,
            helping=sorted((f for f in factors if f.push > 0), key=lambda f: -f.push)[:TOP_FACTORS],
            hurting=sorted((f for f in factors if f.push < 0), key=lambda f: f.push)[:TOP_FACTORS],
            highlights=assemble(question, spans, p - scores[1 : 1 + n], _no_reasons, weakest=0),
            suggestions=ranked(question, found, scores[1 + n :] - p),
            model_version=self.model_version,
            label="heuristic",
            features=compute_features(question),
            judgement=p,
            verdict=band,
        )


def _no_reasons(rows: list[int]) -> tuple[np.typing.NDArray[np.float64], list[str]]:
    raise AssertionError("the heuristic has no contributions to give reasons from")
