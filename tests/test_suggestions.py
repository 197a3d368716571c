"""Suggestions on the bundled default model: specific, proven by their what-if, ranked,
deterministic, never contradictory; mechanical edits do exactly what they say."""

from __future__ import annotations

import itertools

import pytest

from askwell.explain.suggestions import RULES, Rule, apply_edit, code_lines, suggest
from askwell.features.catalog import get_feature
from askwell.features.text_stats import (
    LONG_SENTENCE_WORDS,
    repeated_punctuation,
    shouting_words,
    split_sentences,
    words,
)
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


RUN_ON_HTML = (
    "<p>I am reading a large CSV file with pandas and some of the lines have too many fields, "
    "and the read fails with an error that I do not understand at all, so I tried to set the "
    "separator and the engine; but nothing changed and I am stuck now after a whole day.</p>"
    "<p>df = pd.read_csv('a.csv', sep=';')<br>print(df.head())</p>"
    "<p>How can I skip the bad lines?</p>"
)
RUN_ON = Question.from_html(
    "pandas read_csv fails on some lines", RUN_ON_HTML, ("python", "pandas")
)


def test_splitting_long_sentences_cuts_at_clause_boundaries_and_keeps_every_word() -> None:
    rule = next(r for r in RULES if r.id == "split-long-sentences")
    assert rule.evidence(RUN_ON) == "1 of 4 sentences"
    edited = apply_edit(RUN_ON, "split-long-sentences").body.text
    lengths = [len(words(edited[a:b])) for a, b in split_sentences(edited)]
    assert max(lengths) <= LONG_SENTENCE_WORDS and len(lengths) > 4
    assert [w.lower() for w in words(edited)] == [w.lower() for w in words(RUN_ON.body.text)]
    assert "at all. So I tried" in edited
    # Without a semicolon or ", and/but/so/then" there is no cut to make: no mechanical advice.
    plain = Question.from_html("t", "<p>" + " ".join(["word"] * 40) + ".</p>")
    assert rule.evidence(plain) is None


def test_fencing_moves_code_lines_into_a_code_block() -> None:
    edited = apply_edit(RUN_ON, "fence-code")
    assert edited.body.code_blocks == ("df = pd.read_csv('a.csv', sep=';')\nprint(df.head())",)
    assert "read_csv" not in edited.body.text and "How can I skip" in edited.body.text
    show_code = next(r for r in RULES if r.id == "show-code")
    assert show_code.evidence(RUN_ON) is None  # the code is there: fencing it is the advice


@pytest.mark.parametrize(
    "line",
    ["import numpy as np", "from os import path", "def main(args):", "$ pip install pandas",
     ">>> len(x)", "x = foo(1);", "print(df.head())", "if (x > 1) {", "}",
     "SELECT name FROM users WHERE id = 1;", "#include <stdio.h>"],
)  # fmt: skip
def test_code_lines_are_found(line: str) -> None:
    assert code_lines(f"I ran this:\n{line}\nIt fails.") == [(12, 12 + len(line))]


@pytest.mark.parametrize(
    "line",
    ["UPDATE: it works now.", "Mention other answers by name in an answer's body;",
     "vote down;", "Cooking = The Frying Pan", "$ P(0) = 0.5 $", "let us stick to one proposal",
     "Should bolding be removed or added;", "I call f(x) twice (once per row)."],
)  # fmt: skip
def test_prose_is_not_code(line: str) -> None:
    assert code_lines(line) == []


@pytest.mark.parametrize("rule", [r for r in RULES if r.mechanical], ids=lambda r: r.id)
def test_a_followed_suggestion_is_not_given_again(rule: Rule) -> None:
    """Following advice must end it: after the edit the rule finds no evidence, and making
    the edit again changes nothing."""
    for question in (MESSY, RUN_ON):
        if rule.evidence(question) is None:
            continue
        edited = rule.what_if(question)
        assert rule.evidence(edited) is None, rule.id
        assert rule.what_if(edited) == edited, rule.id


def test_renaming_a_variable_keeps_the_advice() -> None:
    renamed = Question.from_html(
        RUN_ON.title,
        RUN_ON_HTML.replace("df", "frame"),
        RUN_ON.tags,
    )
    model = default_model()
    assert [s.id for s in suggest(model, renamed)] == [s.id for s in suggest(model, RUN_ON)]
