"""The rule-based baseline: readable, deterministic, and pointing the right way."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import askwell
from askwell.explain import suggestions
from askwell.features import rules
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
    good = {r.id for r in scorer.fired(GOOD)}
    bad = {r.id for r in scorer.fired(BAD)}
    assert {"title-as-question", "shows-code-or-error", "shows-effort", "paragraphs"} <= good
    assert {"drop-noise", "stop-shouting", "calm-punctuation", "too-short"} <= bad
    assert not good & {"drop-noise", "stop-shouting"}


def test_fit_learns_nothing_and_output_is_deterministic() -> None:
    scorer = HeuristicScorer()
    before = scorer.predict_proba([GOOD, BAD])
    assert scorer.fit([GOOD, BAD], np.array([0, 1])) is scorer
    assert np.array_equal(before, scorer.predict_proba([GOOD, BAD]))
    assert ((before > 0) & (before < 1)).all()


def test_every_rule_is_described_and_signed() -> None:
    for rule in rules.RULES:
        assert rule.description.endswith((".", ")")), rule.id
    for rule in RULES:
        assert rule.points != 0 and rule.features and rule.trigger is not None


def test_there_is_one_rule_table_and_both_halves_read_it() -> None:
    """The heuristic and the suggestions read selections of the registry's one table (the
    same objects, in its order), every rule of which scores, advises or both; no other
    module defines a rule or builds one."""
    assert HeuristicScorer().rules == RULES
    for view, wanted in ((RULES, "points"), (suggestions.RULES, "advice")):
        assert list(view) == [r for r in rules.RULES if getattr(r, wanted)]
        assert all(any(r is s for s in rules.RULES) for r in view)
    ids = [r.id for r in rules.RULES]
    assert len(set(ids)) == len(ids)
    assert set(ids) == {r.id for r in RULES} | {r.id for r in suggestions.RULES}
    builders = set()
    package = Path(askwell.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = (
                node.name
                if isinstance(node, ast.ClassDef)
                else node.func.id
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                else None
            )
            if named in ("Rule", "Advice"):
                builders.add(path.relative_to(package).as_posix())
    assert builders == {"features/rules.py"}


def test_a_rule_scores_advises_or_both_with_real_features() -> None:
    def never(f: rules.Features) -> bool:
        return False

    with pytest.raises(KeyError, match="valid names"):
        rules.Rule("typo", "A typo.", ("body_wrods",), +1, trigger=never, points=1.0)
    with pytest.raises(ValueError, match="together"):
        rules.Rule("no-points", "No points.", ("body_words",), +1, trigger=never)
    with pytest.raises(ValueError, match="neither"):
        rules.Rule("idle", "Nothing.", ("body_words",), +1)
    advice_only = next(r for r in rules.RULES if not r.points)
    with pytest.raises(ValueError, match="only advises"):
        HeuristicScorer([advice_only])
