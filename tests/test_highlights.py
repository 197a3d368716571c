"""Sentence highlights on the bundled default model: offsets, effects, reasons, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from lxml import etree

from askwell.data.text import parse_tags
from askwell.explain.highlights import (
    ASKING,
    CHAR_BUDGET,
    MIN_PIECES,
    WEAKEST,
    asks,
    assemble,
    pieces,
    sentence_highlights,
)
from askwell.features.leave_one_out import without
from askwell.features.text_stats import split_sentences
from askwell.records import Question
from tests.conftest import DUMPS, default_model

QUESTION = Question.from_html(
    "How do I skip malformed lines when reading a CSV file with pandas?",
    "<p>Hi all!!! I am reading a large CSV file with pandas. Some lines have too many fields "
    "and the read fails.</p><pre><code>df = pd.read_csv('a.csv')</code></pre>"
    "<p>I expected the bad lines to be skipped. How can I skip these lines? Thanks in "
    "advance, plz help, it is URGENT!!!</p>",
    ("python", "pandas"),
)


def test_one_highlight_per_sentence_with_offsets_into_the_prose() -> None:
    highlights = sentence_highlights(default_model(), QUESTION)
    text = QUESTION.body.text
    assert [h.text for h in highlights] == [text[h.start : h.end] for h in highlights]
    assert highlights[0].text == "Hi all!!!"
    assert highlights[-1].text == "Thanks in advance, plz help, it is URGENT!!!"
    assert all(a.end <= b.start for a, b in itertools.pairwise(highlights))


def test_an_effect_is_the_score_with_the_sentence_minus_without_it() -> None:
    model = default_model()
    for h in sentence_highlights(model, QUESTION):
        with_it, without_it = model.predict_proba([QUESTION, without(QUESTION, h.start, h.end)])
        assert abs(h.effect - (with_it - without_it)) < 1e-12


def test_the_question_sentence_helps_and_only_the_weakest_get_reasons() -> None:
    highlights = sentence_highlights(default_model(), QUESTION)
    asking = next(h for h in highlights if h.text == "How can I skip these lines?")
    assert asking.effect > 0 and asking.reason is None
    reasoned = [h for h in highlights if h.reason]
    assert 0 < len(reasoned) <= WEAKEST
    assert all(h.effect < 0 for h in reasoned)
    weakest = sorted((h for h in highlights if h.effect < 0), key=lambda h: h.effect)[:WEAKEST]
    assert {h.start for h in reasoned} == {h.start for h in weakest}


def test_same_text_same_highlights_and_no_prose_none() -> None:
    assert sentence_highlights(default_model(), QUESTION) == sentence_highlights(
        default_model(), QUESTION
    )
    assert (
        sentence_highlights(default_model(), Question.from_html("Title?", "<pre>x = 1</pre>")) == []
    )


def test_removing_a_sentence_keeps_its_neighbours_apart() -> None:
    q = Question.from_html("T", "<p>One. Two. Three.</p>")
    assert without(q, 5, 9).body.text == "One. Three."


def test_a_long_text_is_scored_in_passages_within_the_budget() -> None:
    text = " ".join(f"Sentence number {i} says something." for i in range(2000))
    spans = pieces(text)
    assert MIN_PIECES <= len(spans) <= max(MIN_PIECES, CHAR_BUDGET // len(text))
    starts = {a for a, _ in split_sentences(text)}
    ends = {b for _, b in split_sentences(text)}
    assert all(a in starts and b in ends for a, b in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_a_short_text_is_scored_sentence_by_sentence() -> None:
    assert pieces(QUESTION.body.text) == split_sentences(QUESTION.body.text)


def test_removing_a_sentence_keeps_line_breaks_before_it() -> None:
    q = Question.from_markdown("T", "Line one  \nRemoved here.  \nLine three")  # hard breaks
    text = q.body.text
    start = text.index("Removed")
    cut = without(q, start, start + len("Removed here."))
    assert cut.body.text == "Line one\nLine three"
    assert split_sentences(cut.body.text) == [(0, 8), (9, 19)]


def test_a_reason_names_only_an_idea_the_sentence_itself_shows() -> None:
    """A calm sentence dilutes the question's capitals and punctuation rates like any other:
    that is not "its punctuation or capitals" (it was, before reasons needed evidence)."""
    from askwell.explain.predictor import Predictor

    q = Question.from_markdown(
        "pandas read_csv fails help!!!",
        "Hi all!!! I read a CSV file with pandas and it FAILS. I tried everything and nothing "
        "works. How can I skip the bad lines? Thanks in advance!!!",
        (),
    )
    from askwell.explain.highlights import _REASONS, _shows

    given = [h for h in Predictor.load().score(q).highlights if h.reason]
    assert given  # "Hi all!!!" and "Thanks in advance!!!" hurt the judgement
    for h in given:
        groups = [g for g, reason in _REASONS.items() if reason == h.reason]
        assert any(_shows(g, h.text) for g in groups), (h.text, h.reason)
    calm = next(h for h in Predictor.load().score(q).highlights if h.text.startswith("I tried"))
    assert calm.reason in (None, "its wording", "adds length without helping")


@pytest.mark.parametrize(
    ("group", "shown", "not_shown"),
    [
        ("formatting", "It FAILS EVERY TIME!!", "I tried everything and nothing works."),
        ("tone", "Thanks in advance.", "I read the file with pandas."),
        ("question", "Why does it fail?", "It fails on line 3."),
        ("readability", " ".join(["word"] * 30) + ".", "It fails."),
        ("code", "df = pd.read_csv('a.csv')", "I read the file with pandas."),
        ("structure", "See https://pandas.pydata.org for the docs.", "See the docs."),
        ("effort", "It does not work.", "I read the file with pandas."),
        ("length", "Anything at all.", None),
    ],
)
def test_what_each_idea_looks_for_in_a_sentence(
    group: str, shown: str, not_shown: str | None
) -> None:
    from askwell.explain.highlights import _shows

    assert _shows(group, shown)
    if not_shown is not None:
        assert not _shows(group, not_shown)


# --- the sentence that asks is never the one to cut (real posts, Stack Exchange, CC BY-SA)


def _dump_question(site: str, post_id: int) -> Question:
    """One question of a site's dump in the shared data."""
    for _, row in etree.iterparse(str(DUMPS / site / "Posts.xml"), tag="row"):
        if row.get("Id") == str(post_id):
            return Question.from_html(
                row.get("Title"), row.get("Body"), tuple(parse_tags(row.get("Tags"))), site
            )
        row.clear()
    raise KeyError(post_id)


# quantumcomputing.stackexchange.com/q/1917: its one question, the last sentence.
ASKS = "My question is, since heat release is often governed by surface properties"


def test_the_question_sentence_is_never_told_it_adds_length() -> None:
    """Pattern 5d: removing a question's own question raised its score, and the sentence was
    told it "adds length without helping"."""
    q = _dump_question("quantumcomputing.stackexchange.com", 1917)
    highlights = sentence_highlights(default_model(), q)
    asking = next(h for h in highlights if h.text.startswith(ASKS))
    assert asking.effect < 0  # the model's view: the words cost points ...
    # ... but the sentence is the question: keep it (no reason at all when it is not among
    # the weakest pieces, which get one; never "adds length without helping").
    assert asking.reason in (None, ASKING)
    for h in highlights:
        if h.reason and asks(q.body.text, h.start, h.end):
            assert h.reason == ASKING


def test_a_weakest_piece_that_asks_is_told_to_stay_whatever_the_drops() -> None:
    """The same real text, with the question sentence made the weakest and its words the
    idea that falls most (as the default model had it): the reason still says keep it."""
    q = _dump_question("quantumcomputing.stackexchange.com", 1917)
    spans = pieces(q.body.text)
    i = next(k for k, (a, _) in enumerate(spans) if q.body.text[a:].startswith(ASKS))
    effects = np.full(len(spans), -0.01)
    effects[i] = -0.2
    groups = ["length", "question"]

    def grouped(rows: list[int]) -> tuple[np.ndarray, list[str]]:
        values = np.zeros((1 + len(rows), 2))
        values[1:, 0] = 1.0  # without each piece "length" would push up more: it costs
        return values, groups

    highlights = assemble(q, spans, effects, grouped)
    assert highlights[i].reason == ASKING
    others = [h.reason for k, h in enumerate(highlights) if h.reason and k != i]
    assert others and set(others) == {"adds length without helping"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It fails. How can I skip the bad lines?", [False, True]),
        ('He asked "why?" Then he left.', [True, False]),
        ("How to skip the bad lines. It fails.", [True, False]),  # no "?" anywhere
        ("How to skip the bad lines. Why does it fail?", [False, True]),
        ("My question is whether it scales. It fails.", [True, False]),
    ],
)
def test_which_pieces_ask(text: str, expected: list[bool]) -> None:
    assert [asks(text, a, b) for a, b in split_sentences(text)] == expected
