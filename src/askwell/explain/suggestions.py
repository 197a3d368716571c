"""Ranked, specific suggestions, each proven on the model before it is shown.

The advice comes from the one rule registry (``askwell.features.rules``), which the
heuristic reads too: every rule that advises names the catalog features behind it and the
way it moves them, finds its evidence in the text, and has a *what-if*: the question with
the suggestion applied. Where the change is mechanical (title the question with the one its
body asks, drop "thanks in advance", lower-case a shouted word, collapse "!!!"), the what-if
is that very edit, offered as ``edit``; where it needs the writer (show your code, ask in
the body, name the topic in a tag), a stand-in plays the part (a placeholder code block, a
generic question, a tag the model does not know) to measure what the change would be worth.
A suggestion is kept only if its what-if raises the score; the gain is its ``effect``, and
suggestions are ranked by it (then by id, so the same text always gives the same list).
Rules never pull one feature two ways (tested over the whole table), so no two suggestions
contradict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from askwell.features.rules import ADVISING, Rule
from askwell.records import Question

#: The rules that give advice, in registry order: a selection of the one table
#: (``askwell.features.rules.RULES``), not a table of its own.
RULES: tuple[Rule, ...] = ADVISING


class Scorer(Protocol):
    def predict_proba(self, questions: list[Question]) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class Suggestion:
    id: str  # stable: the rule's
    message: str  # what to do, with the evidence from the text
    features: tuple[str, ...]  # the catalog features it moves
    direction: int  # +1 raises them, -1 lowers them
    effect: float  # the score's rise when the suggestion is applied (the what-if)
    editable: bool  # the change is mechanical: ``apply_edit`` makes it


Candidate = tuple[Rule, str, Question]  # a rule that applies, its evidence, its what-if


def candidates(question: Question) -> list[Candidate]:
    """The rules that apply to ``question``, each with its evidence and its what-if."""
    return [(r, e, r.what_if(question)) for r in RULES if (e := r.evidence(question)) is not None]


def ranked(
    question: Question, found: list[Candidate], gains: npt.NDArray[np.float64]
) -> list[Suggestion]:
    """The candidates whose what-if raised the score (``gains``: what-if score minus the
    question's), best first."""
    kept = [
        Suggestion(r.id, r.message(question, e), r.features, r.direction, float(g), r.mechanical)
        for (r, e, _), g in zip(found, gains, strict=True)
        if g > 0
    ]
    return sorted(kept, key=lambda s: (-s.effect, s.id))


def suggest(model: Scorer, question: Question) -> list[Suggestion]:
    """The rules that apply and whose what-if raises the score, best first."""
    found = candidates(question)
    if not found:
        return []
    scores = model.predict_proba([question, *(w for _, _, w in found)])
    return ranked(question, found, scores[1:] - scores[0])


def apply_edit(question: Question, suggestion_id: str) -> Question:
    """The question with a mechanical suggestion's edit made; KeyError for another id."""
    rule = next((r for r in RULES if r.id == suggestion_id and r.mechanical), None)
    if rule is None:
        raise KeyError(f"no mechanical edit for suggestion {suggestion_id!r}")
    return rule.what_if(question)
