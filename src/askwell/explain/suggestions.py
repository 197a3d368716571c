"""Ranked, specific suggestions, each proven on the model before it is shown.

Every rule names the catalog features behind it and the way it moves them, finds its evidence
in the text, and has a *what-if*: the question with the suggestion applied. Where the change
is mechanical (end the title with "?", drop "thanks in advance", lower-case a shouted word,
collapse "!!!"), the what-if is that very edit, offered as ``edit``; where it needs the
writer (show your code, ask in the body), a stand-in plays the part (a placeholder code
block, a generic question) to measure what the change would be worth. A suggestion is kept
only if its what-if raises the score; the gain is its ``effect``, and suggestions are ranked
by it (then by id, so the same text always gives the same list). Rules never pull one
feature two ways (tested over the whole table), so no two suggestions contradict.

Nothing here judges a person's English: no rule is about grammar or spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from askwell.data.text import BodyParts
from askwell.features.text_stats import (
    collapse_repeated_punctuation,
    phrase_spans,
    repeated_punctuation,
    shouting_spans,
    split_sentences,
    words,
)
from askwell.records import Question

NOISE_LEXICONS = ("greetings", "thanks", "apologies", "urgency")
_TIDY_STEPS = (  # in order; none crosses a line break, so paragraphs stay paragraphs
    (re.compile(r"(?<=[.!?])[ \t,;:.!?]+(?=[ \t\n]|$)", re.M), ""),  # "lines? !!!" -> "lines?"
    (re.compile(r"[ \t]+([,.;:!?])"), r"\1"),  # "word ," -> "word,"
    (re.compile(r"[,;:][ \t]*(?=[.!?]|$)", re.M), ""),  # "help, !" -> "help!"
    (re.compile(r"^[ \t,;:.!?]+", re.M), ""),  # a line left starting with punctuation
    (re.compile(r"[ \t]{2,}"), " "),
)


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


@dataclass(frozen=True)
class Rule:
    id: str
    features: tuple[str, ...]
    direction: int
    evidence: Callable[[Question], str | None]  # None: the rule does not apply
    message: Callable[[Question, str], str]
    what_if: Callable[[Question], Question]
    mechanical: bool


def _with_text(question: Question, text: str) -> Question:
    return replace(question, body=replace(question.body, text=text))


def _tidy(text: str) -> str:
    """Spaces and stray punctuation left where words were removed."""
    for pattern, repl in _TIDY_STEPS:
        text = pattern.sub(repl, text)
    return text.strip()


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    for a, b in sorted(spans, reverse=True):
        text = text[:a] + text[b:]
    return _tidy(text)


# --- the rules: evidence, message, what-if


def _title_evidence(q: Question) -> str | None:
    title = q.title.strip()
    return title if title and not title.endswith("?") else None


def _title_edit(q: Question) -> Question:
    return replace(q, title=q.title.strip().rstrip(".!:;,") + "?")


def _body_question_evidence(q: Question) -> str | None:
    return None if "?" in q.body.text else "no sentence of the body ends with a question mark"


def _body_question_what_if(q: Question) -> Question:
    return _with_text(q, (q.body.text.rstrip() + " How can I fix this?").strip())


def _noise_spans(q: Question) -> list[tuple[int, int]]:
    return phrase_spans(q.body.text, NOISE_LEXICONS)


def _noise_evidence(q: Question) -> str | None:
    found = [q.body.text[a:b] for a, b in _noise_spans(q)]
    return ", ".join(f"“{f}”" for f in dict.fromkeys(found)) if found else None


_LEFTOVER_WORDS = 3  # a sentence left with this few words was only noise ("Hi all!!!")


def _noise_edit(q: Question) -> Question:
    """Drops the noise phrases, and the whole sentence when little else is left of it."""
    text, noise = q.body.text, _noise_spans(q)
    cut: list[tuple[int, int]] = []
    for a, b in split_sentences(text):
        inside = [(x, y) for x, y in noise if a <= x and y <= b]
        if inside:
            rest = len(words(_remove(text[a:b], [(x - a, y - a) for x, y in inside])))
            whole = rest <= _LEFTOVER_WORDS or rest < len(words(text[a:b])) / 2
            cut += [(a, b)] if whole else inside
    return _with_text(q, _remove(text, cut))


def _shouting_spans(q: Question) -> list[tuple[int, int]]:
    return shouting_spans(q.body.text, (*q.body.inline_code, *q.tags))


def _shouting_evidence(q: Question) -> str | None:
    found = [q.body.text[a:b] for a, b in _shouting_spans(q)]
    return ", ".join(dict.fromkeys(found)) if found else None


def _shouting_edit(q: Question) -> Question:
    text = q.body.text
    for a, b in _shouting_spans(q):
        text = text[:a] + text[a:b].lower() + text[b:]
    return _with_text(q, text)


def _punctuation_evidence(q: Question) -> str | None:
    n = repeated_punctuation(q.body.text) + repeated_punctuation(q.title)
    return f"{n} run{'s' if n > 1 else ''} like “!!!” or “??”" if n else None


def _punctuation_edit(q: Question) -> Question:
    edited = _with_text(q, collapse_repeated_punctuation(q.body.text))
    return replace(edited, title=collapse_repeated_punctuation(q.title))


def _code_evidence(q: Question) -> str | None:
    technical = bool(q.body.inline_code) or any(
        w in q.body.text.lower() for w in ("error", "exception", "code", "function", "script")
    )
    return (
        "a technical question without a code block"
        if technical and not q.body.code_blocks
        else None
    )


def _code_what_if(q: Question) -> Question:
    body: BodyParts = replace(q.body, code_blocks=(*q.body.code_blocks, "# the code you ran"))
    return replace(q, body=body)


RULES: tuple[Rule, ...] = (
    Rule(
        "title-as-question", ("title_is_question", "title_question_marks"), +1,
        _title_evidence,
        lambda q, e: f"Your title is not a question: “{e}”. Ask what you want to know, "
        f"e.g. “{_title_edit(q).title}” or “How do I …?”",
        _title_edit, True,
    ),
    Rule(
        "ask-in-the-body", ("body_question_marks",), +1,
        _body_question_evidence,
        lambda q, e: "The body never asks: end it with the exact question you want answered.",
        _body_question_what_if, False,
    ),
    Rule(
        "drop-noise", ("greetings", "thanks", "apologies", "urgency"), -1,
        _noise_evidence,
        lambda q, e: f"Remove {e}: they add words, not information.",
        _noise_edit, True,
    ),
    Rule(
        "stop-shouting", ("shouting_words",), -1,
        _shouting_evidence,
        lambda q, e: f"Write {e} in lower case: capitals read as shouting.",
        _shouting_edit, True,
    ),
    Rule(
        "calm-punctuation", ("repeated_punctuation",), -1,
        _punctuation_evidence,
        lambda q, e: f"One mark is enough: {e}.",
        _punctuation_edit, True,
    ),
    Rule(
        "show-code", ("n_code_blocks",), +1,
        _code_evidence,
        lambda q, e: "No code block: show the code you ran and the exact error you got, "
        "formatted as code.",
        _code_what_if, False,
    ),
)  # fmt: skip


def suggest(model: Scorer, question: Question) -> list[Suggestion]:
    """The rules that apply and whose what-if raises the score, best first."""
    applying = [(r, e) for r in RULES if (e := r.evidence(question)) is not None]
    if not applying:
        return []
    scores = model.predict_proba([question, *(r.what_if(question) for r, _ in applying)])
    found = [
        Suggestion(r.id, r.message(question, e), r.features, r.direction, float(gain), r.mechanical)
        for (r, e), gain in zip(applying, scores[1:] - scores[0], strict=True)
        if gain > 0
    ]
    return sorted(found, key=lambda s: (-s.effect, s.id))


def apply_edit(question: Question, suggestion_id: str) -> Question:
    """The question with a mechanical suggestion's edit made; KeyError for another id."""
    rule = next((r for r in RULES if r.id == suggestion_id and r.mechanical), None)
    if rule is None:
        raise KeyError(f"no mechanical edit for suggestion {suggestion_id!r}")
    return rule.what_if(question)
