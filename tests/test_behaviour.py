"""Behavioural tests of the bundled default model (CheckList style): invariance, direction,
minimum functionality. "Low" and "high" are read against the scores the model gave the real
questions of its own test split (the score bins of its evaluation, shipped beside it)."""

from __future__ import annotations

import json
from functools import cache

import pytest

from askwell.models.bundle import default_bundle
from askwell.records import Question
from tests.conftest import default_model

TAGS = ("python", "pandas", "csv")
TITLE = "How do I skip malformed lines when reading a CSV file with pandas?"
BODY = (
    "<p>I am reading a large CSV file with pandas. Some lines have too many fields and the "
    "read fails.</p>"
    "<pre><code>import pandas as pd\ndf = pd.read_csv('data.csv')\n</code></pre>"
    "<p>I get this error:</p>"
    "<pre><code>ParserError: Error tokenizing data. C error: Expected 3 fields in line 12, "
    "saw 4</code></pre>"
    "<p>I expected the bad lines to be skipped. I tried <code>on_bad_lines='skip'</code> but "
    "nothing changed. How can I skip these lines?</p>"
    "<p>My colleague John suggested a regex, but that seems fragile.</p>"
)
INVARIANT = 0.02  # an edit that changes nothing about the question moves the score less


def score(title: str, body: str, tags: tuple[str, ...] = TAGS) -> float:
    return float(default_model().predict_proba([Question.from_html(title, body, tags)])[0])


@cache
def _bins() -> list[dict[str, float]]:
    evaluation = json.loads(default_bundle().with_suffix(".evaluation.json").read_text())
    bins: list[dict[str, float]] = evaluation["test"]["kpi"]["deciles"]
    return bins


def low() -> float:
    """The top of the second-lowest score bin: 80% of real test questions score higher."""
    return _bins()[1]["upper"]


def high() -> float:
    """The bottom of the third-highest score bin: 70% of real test questions score lower."""
    return _bins()[-3]["lower"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("df = pd.read_csv", "frame = pd.read_csv"),  # renaming a variable
        ("too many fields", "to many fields"),  # a typo
        ("colleague John", "colleague Aisha"),  # a person's name
        ("colleague John", "colleague Wei"),
    ],
)
def test_invariance(old: str, new: str) -> None:
    assert old in BODY
    assert abs(score(TITLE, BODY.replace(old, new)) - score(TITLE, BODY)) < INVARIANT


def test_adding_a_clear_question_and_a_reproduction_raises_the_score() -> None:
    vague = "<p>My CSV reading with pandas does not work.</p>"
    clear = (
        vague
        + "<pre><code>import pandas as pd\ndf = pd.read_csv('data.csv')\n</code></pre>"
        + "<p>It fails with <code>ParserError: Expected 3 fields in line 12, saw 4</code>. "
        + "How can I skip these lines?</p>"
    )
    assert score(TITLE, clear) > score("pandas csv problem", vague)


def test_removing_every_question_mark_lowers_the_score() -> None:
    assert score(TITLE.replace("?", ""), BODY.replace("?", ".")) < score(TITLE, BODY)


def test_not_a_question_scores_low() -> None:
    assert score("This isn't even a question.", "", ()) < low()


def test_a_well_formed_question_scores_high() -> None:
    assert score(TITLE, BODY) > high()
