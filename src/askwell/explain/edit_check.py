"""The offline check of the advice, on text: do the mechanical edits raise the score?

For every question, each mechanical rule that finds evidence in it is applied to the *text*
and the edited question re-scored through the whole pipeline (features from the new text,
model, calibration). Two numbers per rule, and over all questions:

- *applicable*: of the questions where the rule finds evidence, how often its edit raises the
  score: whether the rule is good advice for this model, before any filtering;
- *shown*: for the questions whose top mechanical suggestion is shown (``suggest`` keeps a
  suggestion only when its edit raises the score), how often applying it raises the score.
  That is every time by construction; the check is that the pipeline agrees with itself on
  real questions (same text, same score), and how much the score rises.

It also counts the questions whose suggestions contradict each other (pull one feature both
ways): the rules are built so that none does, and this proves it on real questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from askwell.explain.suggestions import RULES, Scorer, Suggestion, apply_edit, suggest
from askwell.records import Question


def check_edits(model: Scorer, questions: Sequence[Question]) -> dict[str, Any]:
    """Per mechanical rule and overall: how often the text edit raises the score."""
    base = model.predict_proba(list(questions))
    per_rule: dict[str, dict[str, Any]] = {}
    gains = []
    for rule in (r for r in RULES if r.mechanical):
        rows = [i for i, q in enumerate(questions) if rule.evidence(q) is not None]
        if rows:
            edited = model.predict_proba([rule.what_if(questions[i]) for i in rows])
            gain = edited - base[rows]
        else:
            gain = np.zeros(0)
        per_rule[rule.id] = _summary(gain)
        gains.append(gain)
    shown_rows, shown_ids, contradictory = [], [], 0
    for i, q in enumerate(questions):
        found = suggest(model, q)
        contradictory += bool(contradictions(found))
        top = next((s for s in found if s.editable), None)
        if top is not None:
            shown_rows.append(i)
            shown_ids.append(top.id)
    if shown_rows:
        edited = model.predict_proba(
            [apply_edit(questions[i], sid) for i, sid in zip(shown_rows, shown_ids, strict=True)]
        )
        shown = _summary(edited - base[shown_rows])
    else:
        shown = _summary(np.zeros(0))
    return {
        "n_questions": len(questions),
        "with_a_shown_edit": len(shown_rows),
        "shown": shown,
        "applicable": _summary(np.concatenate(gains)),  # every (question, rule) pair
        "applicable_by_rule": per_rule,
        # Questions whose suggestions pull one feature both ways: must be 0.
        "with_contradictory_suggestions": contradictory,
    }


def contradictions(found: Sequence[Suggestion]) -> list[tuple[str, str, str]]:
    """(feature, id, id) for each pair of suggestions moving one feature opposite ways."""
    pairs = []
    for i, a in enumerate(found):
        for b in found[i + 1 :]:
            for name in sorted(set(a.features) & set(b.features)):
                if a.direction != b.direction:
                    pairs.append((name, a.id, b.id))
    return pairs


def _summary(gain: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, Any]:
    if not gain.size:
        return {"n": 0, "share_raised": None, "mean_gain": None, "median_gain": None}
    return {
        "n": int(gain.size),
        "share_raised": float((gain > 0).mean()),
        "mean_gain": float(gain.mean()),
        "median_gain": float(np.median(gain)),
    }
