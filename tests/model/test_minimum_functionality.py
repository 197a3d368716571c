"""Minimum functionality of the headline: junk is judged riskier than the live site's closing
rate and gets the worst verdict; a well-asked question is judged safer than that rate.

The bar is the base rate the model itself corrects for (the share of questions closed on the
live site, about 6%): a question the model calls riskier than an average question is being
flagged. It comes from the task, not from the scores the model gives real questions.
"""

from __future__ import annotations

import pytest

from askwell.explain.predictor import Scored
from askwell.records import Question
from tests.model.conftest import contrast_pair, judge, predictor, question, worst_verdict

JUNK = [
    ("asdf", "asdf"),
    ("help!!! URGENT", "doesnt work plz fix!!!"),
    ("test", "test test test"),
    ("This isn't even a question.", ""),
]
# As typed with no tags yet, and with the first tag a new user would pick.
TAG_CHOICES = [(), ("python",)]
# Well-asked questions of the contrast pairs (their good members), on different subjects.
WELL_ASKED = ["pandas-read-csv-bad-lines", "git-undo-last-commit", "go-goroutines-exit"]


def _prior() -> float:
    prior = predictor().closing_prior
    assert prior is not None, "the shipped predictor has no closing model"
    return prior


def _risk(scored: Scored) -> float:
    assert scored.closing_risk is not None, "no closing risk: no closing model"
    return scored.closing_risk


def test_the_live_closing_rate_is_a_small_share() -> None:
    # About 6% of Stack Overflow questions were closed in 2008-2012 (the data's README).
    assert 0.01 < _prior() < 0.2


@pytest.mark.parametrize("tags", TAG_CHOICES, ids=lambda t: "+".join(t) or "no-tags")
@pytest.mark.parametrize(("title", "body"), JUNK, ids=[t for t, _ in JUNK])
def test_junk_is_riskier_than_the_live_closing_rate(
    title: str, body: str, tags: tuple[str, ...]
) -> None:
    scored = predictor().score(Question.from_markdown(title, body, tags))
    assert _risk(scored) > _prior(), (_risk(scored), _prior())
    assert scored.verdict == worst_verdict()


@pytest.mark.parametrize("pair_id", WELL_ASKED)
def test_a_well_asked_question_is_safer_than_the_live_closing_rate(pair_id: str) -> None:
    scored = predictor().score(question(contrast_pair(pair_id)["good"]))
    assert _risk(scored) < _prior(), (_risk(scored), _prior())
    assert scored.verdict != worst_verdict()


def test_the_judgement_is_one_minus_the_closing_risk() -> None:
    q = question(contrast_pair("pandas-read-csv-bad-lines")["good"])
    assert judge(q) == pytest.approx(1.0 - _risk(predictor().score(q)), abs=1e-9)
