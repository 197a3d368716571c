"""Invariance: edits that change nothing about how well a question is asked (a variable's
name, a typo, a person's name, a file name) move the headline judgement by less than a small
fixed amount."""

from __future__ import annotations

import pytest

from askwell.records import Question
from tests.model.conftest import judge

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
INVARIANT = 0.02  # on a 0-1 judgement: an edit that changes nothing moves it less


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
    assert abs(after - before) < INVARIANT, (before, after)


def test_a_typo_in_the_title_barely_moves_the_judgement() -> None:
    before = _judge(TITLE, BODY)
    after = _judge(TITLE.replace("malformed", "malfomed"), BODY)
    assert abs(after - before) < INVARIANT, (before, after)
