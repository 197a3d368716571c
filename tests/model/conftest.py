"""The behavioural suite's one door to the model: the shipped predictor, loaded once, and the
headline judgement every test here reads (higher is better: 1 - closing risk).

The thresholds of these tests come from the task (the better-asked of two questions must be
judged better; junk must be riskier than the live site's closing rate), never from the
scores the model gives real questions, so a model that ranks junk high fails them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from askwell.explain.predictor import Predictor
from askwell.records import Question

HERE = Path(__file__).resolve().parent
CONTRAST_PAIRS = HERE / "contrast_pairs.yaml"


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


def question(fields: Mapping[str, Any]) -> Question:
    """A question from a ``{title, body, tags}`` mapping, as a person types it in the editor."""
    return Question.from_markdown(
        str(fields["title"]), str(fields["body"]), tuple(str(t) for t in fields["tags"])
    )


@functools.cache
def contrast_pairs() -> tuple[dict[str, Any], ...]:
    """The hand-written pairs of ``contrast_pairs.yaml``, in file order."""
    data = yaml.safe_load(CONTRAST_PAIRS.read_text(encoding="utf-8"))
    return tuple(data["pairs"])


def contrast_pair(pair_id: str) -> dict[str, Any]:
    return next(p for p in contrast_pairs() if p["id"] == pair_id)
