"""Sentence highlights: how much each sentence of a question's prose moves its score.

Leave-one-sentence-out: the question is re-scored once without each sentence (one batch, so
the cost is one model call; a very long text is cut into passages instead, see ``pieces``),
and a sentence's *effect* is the score with it minus the score without it. Offsets index
``question.body.text``, the prose the editor shows. Removing a sentence leaves the body's
structure (code blocks, links, inline code counts) as it was: the effect is that of the
sentence's words and form.

The weakest sentences (the most negative effects) also get a short reason: the idea (a
feature group) whose contribution falls most because the sentence is there, among the ideas
the sentence itself shows (``_shows``). Rates and shares (capitals, punctuation per word)
move when any sentence comes or goes: a calm sentence that only dilutes them is not told
"its punctuation or capitals". The sentence that asks is never one to cut, whatever its
words cost: a weak piece that asks (``asks``) is told so (``ASKING``), never "adds length
without helping".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from askwell.features.leave_one_out import without
from askwell.features.rules import code_lines
from askwell.features.text_stats import (
    HOW_DO_I,
    count_syllables,
    mentions_error,
    split_sentences,
    tally,
    words,
)
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
_ANY_SENTENCE = frozenset({"length", "wording", "title wording", "tags"})  # every one adds them
# A weak piece that asks the question: removing it would leave nothing to answer.
ASKING = "it asks the question: keep it, and ask it as plainly as you can"
_ENDS_ASKING = re.compile(r"\?[\"'\u201d\u2019)\]]*$")
# Where no sentence ends with "?", the one that says what is asked ("How to skip bad lines.").
_STATES_QUESTION = re.compile(
    "(?:" + "|".join(p.replace(" ", r"\s+") for p in HOW_DO_I) + r"|(?:my|the)\s+question\s+is"
    r"|i(?:\s+want|\s+would\s+like|['\u2019]d\s+like|\s+need)\s+to\s+know|i\s+wonder)\b",
    re.IGNORECASE,
)
DENSE_WORDS = 25  # a sentence this long, or of long words, is what the readability ideas see
_LIST_OR_LINK = re.compile(r"https?://|^\s*(?:[-*+]|\d+[.)])\s", re.MULTILINE)


def _shows(group: str, text: str) -> bool:
    """Whether the piece ``text`` itself carries evidence of the idea ``group``."""
    if group in _ANY_SENTENCE:
        return True
    counts = tally(text)
    said = counts.phrases
    if group == "formatting":
        shouty = counts.cased >= 8 and counts.upper >= 0.3 * counts.cased
        return bool(counts.repeated or counts.shouting or shouty) or (
            counts.punctuation > len(words(text))
        )
    if group == "tone":
        polite = said["greetings"] + said["thanks"] + said["apologies"] + said["urgency"]
        return bool(polite or counts.shouting or counts.repeated)
    if group == "readability":
        found = words(text)
        return len(found) >= DENSE_WORDS or (
            len(found) >= 8 and count_syllables(found) >= 1.7 * len(found)
        )
    if group == "question":
        return "?" in text or bool(said["wh"] + said["how_do_i"])
    if group == "effort":
        return bool(said["vague"] or said["effort"] or mentions_error(text))
    if group == "code":
        return bool(code_lines(text))
    if group == "structure":
        return bool(_LIST_OR_LINK.search(text))
    return False


def asks(text: str, a: int, b: int) -> bool:
    """Whether the piece ``text[a:b]`` of the prose ``text`` carries the question: a
    sentence of it ends with "?", or, in prose where none does, opens by saying what is
    asked ("How do I …", "Is there a way …", "My question is …")."""
    piece = text[a:b]
    sentences = [piece[x:y] for x, y in split_sentences(piece)]
    if any(_ENDS_ASKING.search(t) for t in sentences):
        return True
    return "?" not in text and any(_STATES_QUESTION.match(t) for t in sentences)


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


# Leave-one-out re-reads the whole text once per piece, so its cost grows with the square of
# the text's length. Past this many characters re-read in all, neighbouring sentences are
# scored together as passages (never fewer than MIN_PIECES): a 50 kB question then costs a
# few times a 5 kB one, not a hundred.
CHAR_BUDGET = 120_000
MIN_PIECES = 8
# Each piece costs a feature row per model (and its variant is counted against every other
# sentence), so a text of very many short sentences is scored in passages too: never more
# pieces than this. A 2,000-character question has about 20; of the 44,506 Stack Overflow
# bodies in ../shared/data/stackoverflow-closed, 13 have more than 40 (at most 57).
MAX_PIECES = 40


def pieces(text: str) -> list[tuple[int, int]]:
    """The spans that get an effect: the sentences of ``text``, or for a long text or one of
    very many sentences, runs of neighbouring sentences (as even as can be) so that
    leave-one-out stays within ``CHAR_BUDGET`` and ``MAX_PIECES``."""
    spans = split_sentences(text)
    most = min(MAX_PIECES, max(MIN_PIECES, CHAR_BUDGET // max(len(text), 1)))
    if len(spans) <= most:
        return spans
    cuts = np.linspace(0, len(spans), most + 1).round().astype(int)
    return [(spans[a][0], spans[b - 1][1]) for a, b in itertools.pairwise(cuts) if b > a]


def leave_one_out(question: Question) -> tuple[list[tuple[int, int]], list[Question]]:
    """The pieces of the prose, and the question without each."""
    spans = pieces(question.body.text)
    return spans, [without(question, a, b) for a, b in spans]


GroupedDrops = Callable[[list[int]], tuple[npt.NDArray[np.float64], list[str]]]


def assemble(
    question: Question,
    spans: list[tuple[int, int]],
    effects: npt.NDArray[np.float64],
    grouped: GroupedDrops,
    weakest: int = WEAKEST,
) -> list[Highlight]:
    """Highlights from each piece's effect. ``grouped(rows)`` gives the grouped contributions
    of the question and then of its variants without the pieces ``rows`` (and the group
    names), from which the weakest pieces' reasons are read; a weak piece that asks the
    question gets ``ASKING`` instead."""
    # Most negative first; ties by position, so the same text always gives the same reasons.
    order = np.lexsort((np.arange(len(spans)), effects))
    hurting = [int(i) for i in order if effects[i] < 0][:weakest]
    reasons: dict[int, str] = {}
    text = question.body.text
    if hurting:
        values, groups = grouped(hurting)
        drops = values[0] - values[1:]  # each piece's push, per group
        reasons = {
            i: ASKING if asks(text, *spans[i]) else _reason(groups, row, text[slice(*spans[i])])
            for i, row in zip(hurting, drops, strict=True)
        }
    return [
        Highlight(a, b, text[a:b], float(effects[i]), reasons.get(i))
        for i, (a, b) in enumerate(spans)
    ]


def _reason(groups: list[str], pushes: npt.NDArray[np.float64], piece: str) -> str:
    """The idea the piece pushes down most among those it shows; its words otherwise."""
    for j in np.argsort(pushes, kind="stable"):
        if pushes[j] >= 0:
            break
        if _shows(groups[int(j)], piece):
            return _REASONS.get(groups[int(j)], "its wording")
    return "its wording"


def sentence_highlights(
    model: Scorer, question: Question, weakest: int = WEAKEST
) -> list[Highlight]:
    """Every sentence (or passage) of the prose, in text order, with its effect; the
    ``weakest`` with a negative effect also carry a reason. No prose: no highlights."""
    spans, variants = leave_one_out(question)
    if not spans:
        return []
    scores = model.predict_proba([question, *variants])
    return assemble(
        question,
        spans,
        scores[0] - scores[1:],
        lambda rows: model.contributions([question, *(variants[i] for i in rows)]).grouped(),
        weakest,
    )
