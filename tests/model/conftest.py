"""The behavioural suite's one door to the model: the shipped predictor, loaded once, and the
headline judgement every test here reads (higher is better: 1 - closing risk); and the real
questions the perturbation and invariance tests edit.

The thresholds of these tests come from the task (the better-asked of two questions must be
judged better; junk must be riskier than the live site's closing rate), never from the
scores the model gives real questions, so a model that ranks junk high fails them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from askwell.explain.predictor import Predictor
from askwell.models.behaviour import contrast_pair, contrast_pairs, question
from askwell.records import Question
from tests.conftest import SHARED_DATA

# The pairs and the edits live in the package (askwell/assets/contrast_pairs.yaml,
# askwell.models.perturbations), read by askwell.models.behaviour: the promotion gate puts
# any bundle through them too.
__all__ = ["contrast_pair", "contrast_pairs", "judge", "judge_many", "predictor", "question"]

CLOSED_QUESTIONS = SHARED_DATA / "stackoverflow-closed" / "train-sample.csv"
TEST_FRACTION = 0.2  # the newest share of questions: the time split's test part
SAMPLE = 800  # open test questions edited; each edit applies to a part of them


@functools.cache
def predictor() -> Predictor:
    """The model askwell ships, loaded (and verified) once per test session."""
    return Predictor.load()


def judge(question: Question) -> float:
    """The headline judgement of ``question``: higher is better."""
    return float(predictor().score(question).judgement)


def judge_many(questions: Iterable[Question]) -> list[float]:
    """``judge`` over many questions, in order, in one batched call (``Predictor.judge``;
    tests/test_predictor.py holds it equal to ``score``'s judgement)."""
    return [float(v) for v in predictor().judge(list(questions))]


def worst_verdict() -> str:
    """The name of the headline's worst band: the verdict junk must get."""
    from askwell.models.bands import LIKELY_CLOSED  # read when used: collecting needs no model

    return LIKELY_CLOSED


@dataclass(frozen=True)
class Real:
    """A real question as its author typed it (the body in Markdown)."""

    post_id: int
    title: str
    body: str
    tags: tuple[str, ...]

    def question(self) -> Question:
        return Question.from_markdown(self.title, self.body, self.tags)


@functools.cache
def open_test_questions() -> tuple[Real, ...]:
    """``SAMPLE`` open Stack Overflow questions from the newest ``TEST_FRACTION`` of the
    closed-questions sample by creation date (the time split's test part: never trained on),
    taken evenly over their PostId order so the choice is the same on every run."""
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


@functools.cache
def real_questions() -> tuple[Question, ...]:
    """``open_test_questions`` as askwell reads them."""
    return tuple(r.question() for r in open_test_questions())
