"""The rule-based baseline ("be the algorithm"): what an experienced asker would check.

It scores by the rules of the one rule registry (``askwell.features.rules``) that carry
points: readable triggers over the feature catalog, the same rules and thresholds the
suggestions advise by. The points become a probability through a fixed logistic curve. It
learns nothing, yet sits behind the same interface as the learned models (``fit`` /
``predict_proba``) and is evaluated like them, so every learned model has to beat it to be
worth its complexity. It is also the fallback when a model cannot load.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

import numpy as np
import numpy.typing as npt

from askwell.features.rules import SCORING, Rule, features_of
from askwell.records import Question

__all__ = ["RULES", "HeuristicScorer", "Rule"]

#: The rules the heuristic scores by: a selection of the one table
#: (``askwell.features.rules.RULES``), not a table of its own.
RULES: tuple[Rule, ...] = SCORING
# Points at which a question is a coin flip: about two good signs and no bad one.
_MIDPOINT = 1.5
_SLOPE = 1.0


class HeuristicScorer:
    """Scores questions by the registry's scoring rules; ``fit`` learns nothing."""

    name = "heuristic"

    def __init__(self, rules: Sequence[Rule] = RULES) -> None:
        self.rules = tuple(rules)
        for rule in self.rules:
            if not rule.points:
                raise ValueError(f"rule {rule.id!r} carries no points: it only advises")

    def fit(self, questions: Sequence[Question], y: npt.ArrayLike) -> Self:
        return self

    def fired(self, question: Question) -> list[Rule]:
        """The rules that apply to ``question``, in rule order."""
        features = features_of(question)  # one read, shared with the question's advice
        return [rule for rule in self.rules if rule.fires(features)]

    def points(self, question: Question) -> float:
        return sum(rule.points for rule in self.fired(question))

    def predict_proba(self, questions: Sequence[Question]) -> npt.NDArray[np.float64]:
        """P(good) per question, from a fixed logistic curve over the points."""
        return np.array(
            [1.0 / (1.0 + math.exp(-_SLOPE * (self.points(q) - _MIDPOINT))) for q in questions],
            dtype=np.float64,
        )
