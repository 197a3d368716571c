"""Invariance: edits that change nothing about how well a question is asked (a variable's
name, a typo, a person's name, a file name, the tags' order) move the headline judgement by
less than a small fixed amount: on one hand-written question, each edit typed by hand; on
real open questions, the package's edits (``askwell.models.perturbations.INVARIANT``, the
ones the promotion gate puts every challenger through), nearly always."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from askwell.models.behaviour import invariance_check
from askwell.models.perturbations import (
    INVARIANT,
    identifier_renamed,
    number_in_code_changed,
    tags_reversed,
    typo_in_prose,
)
from askwell.records import Question
from tests.model.conftest import judge, judge_many, predictor, real_questions

TAGS = ("python", "pandas", "csv")
TITLE = "How do I skip malformed lines when reading a CSV file with pandas?"
BODY = """\
I am reading a large CSV file with pandas. Some lines have too many fields and the read fails.

    import pandas as pd
    df = pd.read_csv('data.csv')

I get this error:

    ParserError: Error tokenizing data. C error: Expected 3 fields in line 12, saw 4

I expected the bad lines to be skipped. I tried `on_bad_lines='skip'` but nothing changed. \
How can I skip these lines?

My colleague John suggested a regex, but that seems fragile.
"""
TOLERANCE = 0.02  # on a 0-1 judgement: an edit that changes nothing moves it less
BAR = 0.95  # share of real questions per edit that an edit may move by less than TOLERANCE
MIN_PER_EDIT = 150


def _judge(title: str, body: str) -> float:
    return judge(Question.from_markdown(title, body, TAGS))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("df = pd.read_csv", "frame = pd.read_csv"),  # renaming a variable
        ("too many fields", "to many fields"),  # a typo
        ("colleague John", "colleague Aisha"),  # a person's name
        ("colleague John", "colleague Wei"),
        ("'data.csv'", "'orders_2023.csv'"),  # a file name
        ("in line 12, saw 4", "in line 4077, saw 6"),  # the numbers in the error
    ],
)
def test_an_edit_that_changes_nothing_barely_moves_the_judgement(old: str, new: str) -> None:
    assert old in BODY
    before, after = _judge(TITLE, BODY), _judge(TITLE, BODY.replace(old, new))
    assert abs(after - before) < TOLERANCE, (before, after)


def test_a_typo_in_the_title_barely_moves_the_judgement() -> None:
    before = _judge(TITLE, BODY)
    after = _judge(TITLE.replace("malformed", "malfomed"), BODY)
    assert abs(after - before) < TOLERANCE, (before, after)


# ------------------------------------------------------------------ the package's edits


def test_an_identifier_is_renamed_everywhere_it_appears() -> None:
    question = Question.from_markdown(TITLE, BODY.replace("read fails.", "read of `df` fails."))
    edited = identifier_renamed(question, 0)
    assert edited is not None
    assert edited.body.code_blocks[0] == "import pandas as pd\nresult = pd.read_csv('data.csv')"
    assert "read of result fails" in edited.body.text and "result" in edited.body.inline_code
    assert "df" not in edited.body.inline_code
    prose_word = Question.from_markdown("t", "The total is wrong.\n\n    total = 1")
    assert identifier_renamed(prose_word, 0) is None  # "total" is a word of the prose too


def test_tags_numbers_and_typos() -> None:
    question = Question.from_markdown(TITLE, BODY, TAGS)
    reordered = tags_reversed(question, 0)
    assert reordered is not None and reordered.tags == ("csv", "pandas", "python")
    assert tags_reversed(dataclasses.replace(question, tags=("python",)), 0) is None
    renumbered = number_in_code_changed(question, 0)
    assert renumbered is not None
    assert "Expected 10 fields in line 12, saw 4" in renumbered.body.code_blocks[1]
    assert renumbered.body.code_blocks[0] == question.body.code_blocks[0]  # no number there
    typo = typo_in_prose(question, 0)
    assert typo is not None and typo.body.text.startswith("I am redaing a large CSV")
    assert typo.body.text.replace("redaing", "reading", 1) == question.body.text


@pytest.mark.data
@pytest.mark.parametrize("name", list(INVARIANT))
def test_an_edit_that_changes_nothing_barely_moves_real_questions(name: str) -> None:
    pairs = [
        (i, edited)
        for i, question in enumerate(real_questions())
        if (edited := INVARIANT[name](question, i)) is not None
    ]
    assert len(pairs) >= MIN_PER_EDIT, len(pairs)
    before = np.array(judge_many(real_questions()))[[i for i, _ in pairs]]
    moves = np.abs(np.array(judge_many(q for _, q in pairs)) - before)
    share = float(np.mean(moves < TOLERANCE))
    assert share >= BAR, f"{name}: {share:.1%} of {len(pairs)} moved < {TOLERANCE}"


@pytest.mark.data
def test_the_gates_check_holds_for_the_shipped_model() -> None:
    check = invariance_check(predictor().judge, real_questions(), 200, TOLERANCE, seed=0)
    assert check["n"] >= 4 * MIN_PER_EDIT and check["share"] >= BAR, check
    assert all(edit["n"] >= MIN_PER_EDIT for edit in check["edits"].values()), check
