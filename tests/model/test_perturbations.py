"""Perturbations of real open questions: removing a question's code, removing the question
itself, or replacing its body with a plea for help must make the judgement worse.

The questions are open Stack Overflow questions from the newest 20% of the closed-questions
sample by creation date (the time split's test part: never trained on), taken evenly over
their PostId order so the choice is the same on every run. The bar, 95% of pairs per edit,
comes from the task (the better version must score better), not from the model's scores.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from askwell.records import Question
from tests.conftest import SHARED_DATA
from tests.model.conftest import judge_many
from tests.model.perturbations import (
    PLEAS,
    has_code,
    plea,
    remove_code,
    remove_question_sentences,
    remove_questions,
    title_as_statement,
)

CLOSED_QUESTIONS = SHARED_DATA / "stackoverflow-closed" / "train-sample.csv"
TEST_FRACTION = 0.2  # the newest share of questions: the time split's test part
SAMPLE = 800  # open test questions edited; each edit applies to a part of them
MIN_PER_EDIT = 300
MIN_PAIRS = 1000
BAR = 0.95  # share of pairs in which the original must be judged better
SHOWN = 5  # worst pairs printed on failure


@dataclass(frozen=True)
class Real:
    post_id: int
    title: str
    body: str
    tags: tuple[str, ...]

    def question(self, title: str | None = None, body: str | None = None) -> Question:
        return Question.from_markdown(
            self.title if title is None else title, self.body if body is None else body, self.tags
        )


@functools.cache
def open_test_questions() -> tuple[Real, ...]:
    """``SAMPLE`` open questions of the newest ``TEST_FRACTION``, evenly over PostId."""
    frame = pd.read_csv(CLOSED_QUESTIONS, dtype=str, keep_default_na=False)
    frame["PostId"] = frame["PostId"].astype(int)
    frame["created"] = pd.to_datetime(frame["PostCreationDate"], format="%m/%d/%Y %H:%M:%S")
    ordered = frame.sort_values(["created", "PostId"])
    newest = ordered.iloc[len(ordered) - round(len(ordered) * TEST_FRACTION) :]
    open_ = newest[newest["OpenStatus"] == "open"].sort_values("PostId")
    picked = open_.iloc[np.unique(np.linspace(0, len(open_) - 1, SAMPLE).round().astype(int))]
    return tuple(
        Real(
            int(str(row.PostId)),
            str(row.Title),
            str(row.BodyMarkdown),
            tuple(str(t) for t in (row.Tag1, row.Tag2, row.Tag3, row.Tag4, row.Tag5) if t),
        )
        for row in picked.itertuples(index=False)
    )


def _without_code(real: Real, _: int) -> Question | None:
    body = remove_code(real.body)
    if body is None or not real.question().body.code_blocks:
        return None
    edited = real.question(body=body)
    return None if edited.body.code_blocks else edited


def _without_the_question(real: Real, _: int) -> Question | None:
    removed = remove_questions(real.title, real.body)
    if removed is None:
        return None
    edited = real.question(*removed)
    # Dropping a sentence must not turn the prose after it into code (or the other way).
    return edited if len(edited.body.code_blocks) == len(real.question().body.code_blocks) else None


def _a_plea_instead(real: Real, i: int) -> Question | None:
    return real.question(body=plea(i))


EDITS: dict[str, Callable[[Real, int], Question | None]] = {
    "without-code": _without_code,
    "without-the-question": _without_the_question,
    "a-plea-instead": _a_plea_instead,
}


@functools.cache
def edited(name: str) -> tuple[tuple[Real, Question], ...]:
    """The questions ``name`` applies to, each with its edited version."""
    pairs = []
    for i, real in enumerate(open_test_questions()):
        question = EDITS[name](real, i)
        if question is not None:
            pairs.append((real, question))
    return tuple(pairs)


@functools.cache
def original_judgements() -> dict[int, float]:
    reals = open_test_questions()
    judged = judge_many(r.question() for r in reals)
    return {r.post_id: j for r, j in zip(reals, judged, strict=True)}


# ------------------------------------------------------------------ the edits themselves

BODY = """\
I read a file. How can I skip the bad lines? I tried `skip`.

    x = a ? b : c
    print(x)

```
more code
```

- a list item
- is this right?

Any ideas? Thanks!"""


def test_removing_code_removes_every_code_block_and_keeps_the_prose() -> None:
    body = remove_code(BODY)
    assert body is not None and has_code(BODY) and not has_code(body)
    assert not Question.from_markdown("t", body).body.code_blocks
    assert "I read a file." in body and "Any ideas? Thanks!" in body and "print(x)" not in body
    assert remove_code("No code here, only `inline` code.") is None


def test_removing_the_question_sentences_keeps_code_and_other_sentences() -> None:
    body = remove_question_sentences(BODY)
    assert body is not None
    assert "How can I" not in body and "Any ideas" not in body and "is this right" not in body
    assert "I read a file. I tried `skip`." in body and "Thanks!" in body
    assert "x = a ? b : c" in body  # code is not prose
    assert remove_question_sentences("A statement. Another one!") is None


@pytest.mark.parametrize(
    ("title", "statement"),
    [
        ("How do I skip malformed lines in a CSV?", "skip malformed lines in a CSV"),
        ("Why does my Go program exit early?", "my Go program exit early"),
        ("Python: how to parse XML?", "Python: parse XML"),
        ("Is it possible to use X with Y?", "use X with Y"),
        ("What's the difference between a and b?", "the difference between a and b"),
        ("XSD DataSets and foreign keys?", "XSD DataSets and foreign keys"),
        ("XSD DataSets and ignoring foreign keys", None),
    ],
)
def test_a_title_that_asks_becomes_a_statement(title: str, statement: str | None) -> None:
    assert title_as_statement(title) == statement


def test_the_pleas_rotate() -> None:
    assert [plea(i) for i in range(len(PLEAS) + 1)] == [*PLEAS, PLEAS[0]]


# ------------------------------------------------------------------ on real questions


@pytest.mark.data
def test_each_edit_applies_to_enough_real_questions() -> None:
    counts = {name: len(edited(name)) for name in EDITS}
    assert all(n >= MIN_PER_EDIT for n in counts.values()), counts
    assert sum(counts.values()) >= MIN_PAIRS, counts


# Known gaps of the shipped models, as strict xfails (reason: the measured share), so the day
# one passes, it says so. None today: "without-the-question" was at 92.7% until the question
# features became directional and "asks" joined the catalog (96.4% of 604 pairs).
_KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.data
@pytest.mark.slow  # 3,000+ scorings: about 20 s on 2 cores with the answer model alone
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=_KNOWN_GAPS[n], strict=True))
        if n in _KNOWN_GAPS
        else n
        for n in EDITS
    ],
)
def test_the_edit_makes_the_judgement_worse(name: str) -> None:
    pairs = edited(name)
    before = original_judgements()
    after = judge_many(q for _, q in pairs)
    rows = [(r.post_id, before[r.post_id], a) for (r, _), a in zip(pairs, after, strict=True)]
    rate = float(np.mean([b > a for _, b, a in rows]))
    worst = sorted(rows, key=lambda r: r[1] - r[2])[:SHOWN]
    report = f"{name}: original judged better in {rate:.1%} of {len(rows)} pairs (bar {BAR:.0%})"
    report += "".join(f"\n  PostId {p}: original {b:.3f}, edited {a:.3f}" for p, b, a in worst)
    print(report)
    assert rate >= BAR, report
