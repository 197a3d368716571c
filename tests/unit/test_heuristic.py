"""The rule-based baseline: readable, deterministic, and pointing the right way."""

from __future__ import annotations

import numpy as np

from askwell.models.heuristic import RULES, HeuristicScorer
from askwell.records import Question

GOOD = Question.from_html(
    "How do I parse a date with a time zone in Python?",
    "<p>I have timestamps like <code>2019-06-25T06:46:58+02:00</code> in a log file and I need "
    "them in UTC so that I can compare them with the rest of the data we collect.</p>\n"
    "<p>I tried <code>datetime.strptime</code> with the format below, but I get an error "
    "message and I expected a datetime object:</p>\n"
    "<pre><code>datetime.strptime(s, '%Y-%m-%dT%H:%M:%S%z')</code></pre>\n"
    "<p>What is the right way to do this with the standard library?</p>",
    ("python", "datetime"),
)
BAD = Question.from_html(
    "URGENT plz help!!!",
    "<p>hi my code doesnt work and stuff. PLEASE HELP ASAP thanks in advance</p>",
)


def test_a_well_formed_question_scores_high_and_a_poor_one_low() -> None:
    good, bad = HeuristicScorer().predict_proba([GOOD, BAD])
    assert good > 0.7 > 0.3 > bad


def test_rules_that_fire_explain_the_score() -> None:
    scorer = HeuristicScorer()
    good = {r.name for r in scorer.fired(GOOD)}
    bad = {r.name for r in scorer.fired(BAD)}
    assert {"asks_in_title", "shows_code_or_error", "shows_effort", "paragraphs"} <= good
    assert {"noise", "shouting", "repeated_punctuation", "too_short"} <= bad
    assert not good & {"noise", "shouting"}


def test_fit_learns_nothing_and_output_is_deterministic() -> None:
    scorer = HeuristicScorer()
    before = scorer.predict_proba([GOOD, BAD])
    assert scorer.fit([GOOD, BAD], np.array([0, 1])) is scorer
    assert np.array_equal(before, scorer.predict_proba([GOOD, BAD]))
    assert ((before > 0) & (before < 1)).all()


def test_every_rule_is_described_and_signed() -> None:
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.description.endswith((".", ")")) and rule.points != 0 and rule.features
