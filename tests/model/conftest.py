"""The behavioural suite's one door to the model: the shipped predictor, loaded once, and the
headline judgement every test here reads (higher is better: 1 - closing risk).

The thresholds of these tests come from the task (the better-asked of two questions must be
judged better; junk must be riskier than the live site's closing rate), never from the
scores the model gives real questions, so a model that ranks junk high fails them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from askwell.explain.predictor import Predictor
from askwell.models.behaviour import contrast_pair, contrast_pairs, question
from askwell.records import Question

# The pairs live in the package (askwell/assets/contrast_pairs.yaml), read by
# askwell.models.behaviour: the promotion gate puts any bundle through them too.
__all__ = ["contrast_pair", "contrast_pairs", "judge", "judge_many", "predictor", "question"]


@functools.cache
def predictor() -> Predictor:
    """The model askwell ships, loaded (and verified) once per test session."""
    return Predictor.load()


def judge(question: Question) -> float:
    """The headline judgement of ``question``: higher is better."""
    return float(predictor().score(question).judgement)


def judge_many(questions: Iterable[Question]) -> list[float]:
    """``judge`` over many questions, in order, in one batched call (``Predictor.judge``;
    tests/test_predictor.py holds it equal to ``score``'s judgement)."""
    return [float(v) for v in predictor().judge(list(questions))]


def worst_verdict() -> str:
    """The name of the headline's worst band: the verdict junk must get."""
    from askwell.models.bands import LIKELY_CLOSED  # read when used: collecting needs no model

    return LIKELY_CLOSED
