"""The rule-based baseline ("be the algorithm"): what an experienced asker would check.

Readable rules over the feature catalog, each worth some points; the points become a
probability through a fixed logistic curve. It learns nothing, yet sits behind the same
interface as the learned models (``fit`` / ``predict_proba``) and is evaluated like them, so
every learned model has to beat it to be worth its complexity. It is also the fallback when a
model cannot load.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from askwell.features.catalog import compute_features, get_feature
from askwell.records import Question

Features = dict[str, float]


@dataclass(frozen=True)
class Rule:
    """A check a person would make, in words, with the catalog features it reads."""

    name: str
    description: str
    points: float
    features: tuple[str, ...]
    test: Callable[[Features], bool]


RULES: tuple[Rule, ...] = (
    Rule(
        "asks_in_title",
        "The title asks a question.",
        1.0,
        ("title_is_question",),
        lambda f: f["title_is_question"] > 0,
    ),
    Rule(
        "enough_context",
        "The body gives context: 40 to 400 words of prose.",
        1.0,
        ("body_words",),
        lambda f: 40 <= f["body_words"] <= 400,
    ),
    Rule(
        "too_short",
        "The body is under 15 words: too little to answer.",
        -1.0,
        ("body_words",),
        lambda f: f["body_words"] < 15,
    ),
    Rule(
        "shows_code_or_error",
        "It shows code or the error message.",
        1.0,
        ("n_code_blocks", "n_inline_code", "has_error_text"),
        lambda f: f["n_code_blocks"] + f["n_inline_code"] + f["has_error_text"] > 0,
    ),
    Rule(
        "shows_effort",
        "It says what was tried or expected.",
        1.0,
        ("effort_markers",),
        lambda f: f["effort_markers"] > 0,
    ),
    Rule(
        "paragraphs",
        "The body is split into paragraphs.",
        0.5,
        ("n_paragraphs",),
        lambda f: f["n_paragraphs"] >= 2,
    ),
    Rule(
        "noise",
        "Greetings, thanks or urgency that add nothing.",
        -1.0,
        ("greetings", "thanks", "urgency"),
        lambda f: f["greetings"] + f["thanks"] + f["urgency"] > 0,
    ),
    Rule(
        "shouting",
        "Words in capitals, or mostly capitals.",
        -1.0,
        ("shouting_words", "caps_share"),
        lambda f: f["shouting_words"] > 0 or f["caps_share"] > 0.3,
    ),
    Rule(
        "repeated_punctuation",
        "Repeated punctuation (!!, ??).",
        -0.5,
        ("repeated_punctuation",),
        lambda f: f["repeated_punctuation"] > 0,
    ),
    Rule(
        "vague",
        'Vague words ("doesn\'t work", "stuff") instead of specifics.',
        -0.5,
        ("vague_words",),
        lambda f: f["vague_words"] > 1,
    ),
    Rule(
        "run_on_sentences",
        "Most sentences run past 35 words.",
        -0.5,
        ("long_sentence_share",),
        lambda f: f["long_sentence_share"] > 0.5,
    ),
)
# Points at which a question is a coin flip: about two good signs and no bad one.
_MIDPOINT = 1.5
_SLOPE = 1.0


class HeuristicScorer:
    """Scores questions by the rules above; ``fit`` learns nothing."""

    name = "heuristic"

    def __init__(self, rules: Sequence[Rule] = RULES) -> None:
        self.rules = tuple(rules)
        for rule in self.rules:
            for feature in rule.features:
                get_feature(feature)  # every rule reads real catalog features

    def fit(self, questions: Sequence[Question], y: npt.ArrayLike) -> Self:
        return self

    def fired(self, question: Question) -> list[Rule]:
        """The rules that apply to ``question``, in rule order."""
        features = compute_features(question)
        return [rule for rule in self.rules if rule.test(features)]

    def points(self, question: Question) -> float:
        return sum(rule.points for rule in self.fired(question))

    def predict_proba(self, questions: Sequence[Question]) -> npt.NDArray[np.float64]:
        """P(good) per question, from a fixed logistic curve over the points."""
        return np.array(
            [1.0 / (1.0 + math.exp(-_SLOPE * (self.points(q) - _MIDPOINT))) for q in questions],
            dtype=np.float64,
        )
