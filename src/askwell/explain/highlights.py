"""Sentence highlights: how much each sentence of a question's prose moves its score.

Leave-one-sentence-out: the question is re-scored once without each sentence (one batch, so
the cost is one model call), and a sentence's *effect* is the score with it minus the score
without it. Offsets index ``question.body.text``, the prose the editor shows. Removing a
sentence leaves the body's structure (code blocks, links, inline code counts) as it was: the
effect is that of the sentence's words and form.

The weakest sentences (the most negative effects) also get a short reason: the idea (a
feature group) whose contribution falls most because the sentence is there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from askwell.features.text_stats import split_sentences
from askwell.models.contributions import Contributions
from askwell.records import Question

WEAKEST = 3  # sentences that get a reason
_REASONS = {
    "length": "adds length without helping",
    "readability": "hard to read (long or dense)",
    "formatting": "its punctuation or capitals",
    "question": "blurs what is being asked",
    "code": "code-like text outside a code block",
    "structure": "its structure (links, lists)",
    "tone": "noise: greetings, thanks, urgency or shouting",
    "effort": "vague, without what was tried or seen",
    "wording": "its wording",
    "title wording": "its wording",
    "tags": "its wording",
}


class Scorer(Protocol):
    """What highlights need from a model (``QualityModel`` is one)."""

    def predict_proba(self, questions: list[Question]) -> npt.NDArray[np.float64]: ...

    def contributions(self, questions: list[Question]) -> Contributions: ...


@dataclass(frozen=True)
class Highlight:
    """One sentence: ``question.body.text[start:end]``, its effect on the score (positive:
    it helps), and, for the weakest, why it hurts."""

    start: int
    end: int
    text: str
    effect: float
    reason: str | None = None


def without(question: Question, start: int, end: int) -> Question:
    """The question with ``body.text[start:end]`` removed (one space kept between its
    neighbours)."""
    text = question.body.text
    joined = (text[:start].rstrip() + " " + text[end:].lstrip()).strip()
    return replace(question, body=replace(question.body, text=joined))


def sentence_highlights(
    model: Scorer, question: Question, weakest: int = WEAKEST
) -> list[Highlight]:
    """Every sentence of the prose, in text order, with its effect; the ``weakest`` sentences
    with a negative effect also carry a reason. No prose: no highlights."""
    spans = split_sentences(question.body.text)
    if not spans:
        return []
    variants = [without(question, a, b) for a, b in spans]
    scores = model.predict_proba([question, *variants])
    effects = scores[0] - scores[1:]
    # Most negative first; ties by position, so the same text always gives the same reasons.
    order = np.lexsort((np.arange(len(spans)), effects))
    hurting = [int(i) for i in order if effects[i] < 0][:weakest]
    reasons = dict(zip(hurting, _reasons(model, question, [variants[i] for i in hurting]),
                       strict=True))  # fmt: skip
    text = question.body.text
    return [
        Highlight(a, b, text[a:b], float(effects[i]), reasons.get(i))
        for i, (a, b) in enumerate(spans)
    ]


def _reasons(model: Scorer, question: Question, variants: list[Question]) -> list[str]:
    """For each variant (the question without one sentence): the reason named by the group
    whose contribution the sentence lowers most."""
    if not variants:
        return []
    grouped, groups = model.contributions([question, *variants]).grouped()
    drops = grouped[0] - grouped[1:]  # the sentence's push, per group
    return [_REASONS.get(groups[int(np.argmin(row))], "its wording") for row in drops]
