"""Suggestions on the bundled default model: specific, proven by their what-if, ranked,
deterministic, never contradictory; mechanical edits do exactly what they say."""

from __future__ import annotations

import itertools

import pytest

from askwell.explain.suggestions import RULES, apply_edit, suggest
from askwell.features.catalog import get_feature
from askwell.features.text_stats import repeated_punctuation, shouting_words
from askwell.records import Question
from tests.conftest import default_model

MESSY = Question.from_html(
    "csv problem",
    "<p>Hi all!!! I am reading a CSV with pandas and the read fails with an error. I expected "
    "the bad lines to be skipped. Thanks in advance, plz help, it is URGENT!!!</p>"
    "<p>I tried <code>on_bad_lines</code> but NOTHING changed.</p>",
    ("python", "pandas"),
)


def test_every_kept_suggestion_raises_the_score_by_its_effect() -> None:
    model = default_model()
    found = suggest(model, MESSY)
    assert found and [s.effect for s in found] == sorted((s.effect for s in found), reverse=True)
    base = float(model.predict_proba([MESSY])[0])
    for s in found:
        rule = next(r for r in RULES if r.id == s.id)
        after = float(model.predict_proba([rule.what_if(MESSY)])[0])
        assert after - base == pytest.approx(s.effect) and s.effect > 0
    assert "“csv problem”" in next(s.message for s in found if s.id == "title-as-question")


def test_same_text_same_suggestions() -> None:
    assert suggest(default_model(), MESSY) == suggest(default_model(), MESSY)


def test_no_two_rules_pull_a_feature_opposite_ways() -> None:
    for a, b in itertools.combinations(RULES, 2):
        shared = set(a.features) & set(b.features)
        assert not shared or a.direction == b.direction, (a.id, b.id)
    for rule in RULES:  # and each rule moves its features the way the catalog calls better
        for name in rule.features:
            better = get_feature(name).better
            assert better in ("moderate", "neutral") or better == (
                "higher" if rule.direction > 0 else "lower"
            ), (rule.id, name)


def test_a_good_question_gets_nothing_to_fix_mechanically() -> None:
    good = Question.from_html(
        "How do I skip malformed lines when reading a CSV with pandas?",
        "<p>Some lines have too many fields.</p><pre><code>pd.read_csv('a.csv')</code></pre>"
        "<p>How can I skip them?</p>",
        ("python",),
    )
    assert not [r.id for r in RULES if r.mechanical and r.evidence(good) is not None]


def test_mechanical_edits_do_what_they_say() -> None:
    assert apply_edit(MESSY, "title-as-question").title == "csv problem?"
    calm = apply_edit(MESSY, "calm-punctuation")
    assert repeated_punctuation(calm.body.text) == 0 and "Hi all!" in calm.body.text
    quiet = apply_edit(MESSY, "stop-shouting")
    assert shouting_words(quiet.body.text) == 0 and "nothing changed" in quiet.body.text
    clean = apply_edit(MESSY, "drop-noise").body.text
    assert "Hi all" not in clean and "Thanks" not in clean and "plz" not in clean
    assert clean.startswith("I am reading a CSV") and "I tried on_bad_lines" in clean
    with pytest.raises(KeyError, match="show-code"):
        apply_edit(MESSY, "show-code")  # needs the writer: no mechanical edit
