"""The feature catalog: the one registry of askwell's interpretable question features.

Each ``Feature`` has a stable snake_case ``name``, a ``display`` name for people, a one-line
``description`` of what it measures and which way is better, the direction ``better``, the
``group`` (idea) it belongs to, its ``unit``, and how to measure it from a
``QuestionProfile``. Nothing else in the code base names features; models, explanations and
the web page read names, display names and directions from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from askwell.features.text_stats import QuestionProfile, is_question_title, profile_question
from askwell.records import Question

__all__ = [
    "BETTER",
    "FEATURES",
    "GROUPS",
    "Better",
    "Feature",
    "UnknownFeatureError",
    "compute_features",
    "feature_matrix",
    "feature_names",
    "get_feature",
]

Better = Literal["higher", "lower", "moderate", "neutral"]
#: "moderate": best in a middle range; "neutral": no direction on its own.
BETTER: tuple[Better, ...] = ("higher", "lower", "moderate", "neutral")
GROUPS: tuple[str, ...] = (
    "length", "structure", "code", "question", "readability", "tone", "effort",
    "formatting", "tags",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Feature:
    """One interpretable feature. ``measure`` reads a profile (so that all features of a
    question share one read of its text); ``compute`` is the same from a ``Question``."""

    name: str
    display: str
    description: str
    better: Better
    group: str
    unit: str
    measure: Callable[[QuestionProfile], float]

    def compute(self, question: Question) -> float:
        """This feature's value for ``question``: a finite float for any question."""
        return float(self.measure(profile_question(question)))


class UnknownFeatureError(KeyError):
    """A feature name that is not in the catalog; the message lists the valid names."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown feature {self.name!r}; valid names: {', '.join(_BY_NAME)}"


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _code_share(p: QuestionProfile) -> float:
    code = sum(map(len, p.question.body.code_blocks))
    return _share(code, code + p.body.n_chars)


FEATURES: tuple[Feature, ...] = (
    # --- length
    Feature(
        "title_chars", "Title length",
        "Characters in the title; moderate is better: too short says too little, too long "
        "is a paragraph, not a title.",
        "moderate", "length", "chars", lambda p: len(p.question.title.strip()),
    ),
    Feature(
        "title_words", "Title words",
        "Words in the title; moderate is better (a specific title needs several words, "
        "not dozens).",
        "moderate", "length", "words", lambda p: p.title_words,
    ),
    Feature(
        "body_chars", "Body length",
        "Characters of prose in the body, code blocks excluded; moderate is better: enough "
        "context without burying the question.",
        "moderate", "length", "chars", lambda p: p.body.n_chars,
    ),
    Feature(
        "body_words", "Body words",
        "Words of prose in the body, code blocks excluded; moderate is better.",
        "moderate", "length", "words", lambda p: p.body.n_words,
    ),
    Feature(
        "n_sentences", "Sentences",
        "Sentences in the body prose; moderate is better: a one-liner lacks context, "
        "dozens lose the reader.",
        "moderate", "length", "count", lambda p: p.body.n_sentences,
    ),
    # --- readability
    Feature(
        "mean_sentence_words", "Sentence length",
        "Mean words per sentence of the body; moderate is better (short, complete "
        "sentences read best).",
        "moderate", "readability", "words", lambda p: p.body.mean_sentence_words,
    ),
    Feature(
        "sentence_words_std", "Sentence length spread",
        "Standard deviation of words per sentence; neutral: some variety reads naturally, "
        "it is no quality signal on its own.",
        "neutral", "readability", "words", lambda p: p.body.sentence_words_std,
    ),
    Feature(
        "long_sentence_share", "Long sentences",
        "Share of body sentences longer than 35 words; lower is better (run-on sentences "
        "are hard to follow).",
        "lower", "readability", "share", lambda p: p.body.long_sentence_share,
    ),
    Feature(
        "flesch_reading_ease", "Reading ease",
        "Flesch reading ease of the body prose (0-100, plain English is 60-70); higher is "
        "better, up to plain English.",
        "higher", "readability", "score", lambda p: p.body.reading_ease,
    ),
    Feature(
        "fk_grade", "Reading grade",
        "Flesch-Kincaid school grade needed to read the body prose; lower is better, down "
        "to plain English (about grade 8).",
        "lower", "readability", "grade", lambda p: p.body.grade,
    ),
    # --- formatting
    Feature(
        "punctuation_rate", "Punctuation",
        "Punctuation marks per word of body prose; moderate is better: none means run-on "
        "text, very many means noise.",
        "moderate", "formatting", "per word",
        lambda p: _share(p.body_punctuation, p.body.n_words),
    ),
    Feature(
        "caps_share", "Capital letters",
        "Share of the cased letters of title and body prose that are capitals; moderate is "
        "better: all lower case is careless, many capitals shout.",
        "moderate", "formatting", "share", lambda p: p.caps_share,
    ),
    # --- question
    Feature(
        "title_is_question", "Title is a question",
        "1 when the title ends with \"?\" or starts with a wh-word or \"how do I\"; higher "
        "is better: the title states the question.",
        "higher", "question", "flag", lambda p: is_question_title(p.question.title),
    ),
    Feature(
        "title_question_marks", "Question marks in title",
        "Question marks in the title (log-scaled); higher is better: the title asks. "
        "Several are rare, and the exasperated kind (\"?!?\") is counted as repeated "
        "punctuation.",
        "higher", "question", "count", lambda p: p.question.title.count("?"),
    ),
    Feature(
        "body_question_marks", "Question marks in body",
        "Question marks in the body prose (log-scaled); higher is better: the body states "
        "its question.",
        "higher", "question", "count", lambda p: p.question.body.text.count("?"),
    ),
    Feature(
        "asks", "Asks a question",
        "1 when the title asks or a sentence of the body ends with \"?\"; higher is better: "
        "a post that asks nothing cannot be answered.",
        "higher", "question", "flag",
        lambda p: float(is_question_title(p.question.title) or "?" in p.question.body.text),
    ),
    Feature(
        "wh_words", "Wh-words",
        "What/why/how/when/where/which/who words in title and body (log-scaled); higher "
        "is better: they are how a question is asked.",
        "higher", "question", "count", lambda p: p.phrases["wh"],
    ),
    Feature(
        "how_do_i", "\"How do I\" phrasing",
        "\"How do I\", \"how can I\", \"how to\", \"is it possible\" phrases in title and "
        "body; neutral: common in good and poor questions alike.",
        "neutral", "question", "count", lambda p: p.phrases["how_do_i"],
    ),
    # --- code
    Feature(
        "n_code_blocks", "Code blocks",
        "Code blocks in the body; higher is better where code is on topic (it shows what "
        "was actually run).",
        "higher", "code", "count", lambda p: len(p.question.body.code_blocks),
    ),
    Feature(
        "code_chars_share", "Code share",
        "Share of body characters inside code blocks; moderate is better: code dumps "
        "without explanation do as badly as no code.",
        "moderate", "code", "share",
        _code_share,
    ),
    Feature(
        "n_inline_code", "Inline code",
        "Inline code spans in the body (names, commands, values); higher is better: "
        "precise references.",
        "higher", "code", "count", lambda p: len(p.question.body.inline_code),
    ),
    # --- structure
    Feature(
        "n_links", "Links",
        "Links in the body; moderate is better: a few show research, many look like spam.",
        "moderate", "structure", "count", lambda p: len(p.question.body.links),
    ),
    Feature(
        "n_images", "Images",
        "Images in the body; neutral: a screenshot can help, a picture of code or text "
        "hurts.",
        "neutral", "structure", "count", lambda p: len(p.question.body.images),
    ),
    Feature(
        "n_lists", "Lists",
        "Bulleted or numbered lists in the body; higher is better: steps and options are "
        "easier to scan.",
        "higher", "structure", "count", lambda p: p.question.body.n_lists,
    ),
    Feature(
        "n_paragraphs", "Paragraphs",
        "Paragraphs in the body; moderate is better: no wall of text, no scattered "
        "fragments.",
        "moderate", "structure", "count", lambda p: p.question.body.n_paragraphs,
    ),
    # --- tags
    Feature(
        "n_tags", "Tags",
        "Tags on the question (sites allow up to 5); higher is better: the right experts "
        "find it.",
        "higher", "tags", "count", lambda p: len(p.question.tags),
    ),
    # --- tone
    Feature(
        "greetings", "Greetings",
        "Greetings (hi, hello, hey, dear); lower is better: sites ask for the question "
        "without salutations.",
        "lower", "tone", "count", lambda p: p.phrases["greetings"],
    ),
    Feature(
        "thanks", "Thanks",
        "Thanks (thanks, thank you, thx, thanks in advance, TIA); lower is better: "
        "votes and accepting an answer say thanks.",
        "lower", "tone", "count", lambda p: p.phrases["thanks"],
    ),
    Feature(
        "apologies", "Apologies",
        "Apologies (sorry, apologies, apologize); lower is better: they add words, not "
        "information.",
        "lower", "tone", "count", lambda p: p.phrases["apologies"],
    ),
    Feature(
        "urgency", "Urgency",
        "Pleas of urgency (urgent, ASAP, plz, pls, please help); lower is better: urgency "
        "puts helpers off.",
        "lower", "tone", "count", lambda p: p.phrases["urgency"],
    ),
    Feature(
        "shouting_words", "Shouting",
        "Ordinary words written in capitals to shout (\"it does NOT work\", a sentence in "
        "capitals), not acronyms, identifiers, tags or code; lower is better.",
        "lower", "tone", "count", lambda p: p.shouting_words,
    ),
    Feature(
        "repeated_punctuation", "Repeated punctuation",
        "Runs like \"!!\", \"??\" or \"?!\" in title and body; lower is better.",
        "lower", "tone", "count", lambda p: p.repeated_punctuation,
    ),
    # --- effort
    Feature(
        "vague_words", "Vague words",
        "Vague words (something, stuff, thing, somehow, etc., doesn't work, not working); "
        "lower is better: say what exactly.",
        "lower", "effort", "count", lambda p: p.phrases["vague"],
    ),
    Feature(
        "effort_markers", "Effort shown",
        "Signs of effort (I tried, I expected, expected/actual output, error message, "
        "traceback, here is my code); higher is better.",
        "higher", "effort", "count", lambda p: p.phrases["effort"],
    ),
    Feature(
        "has_error_text", "Error details",
        "1 when the question names an error, exception or traceback or quotes text (often "
        "the error itself); higher is better.",
        "higher", "effort", "flag", lambda p: p.has_error_text,
    ),
)  # fmt: skip

_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}


def feature_names() -> list[str]:
    """Every feature name, in catalog order (the column order of ``feature_matrix``)."""
    return list(_BY_NAME)


def get_feature(name: str) -> Feature:
    """The feature called ``name``; ``UnknownFeatureError`` (a ``KeyError``) otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownFeatureError(name) from None


def _values(question: Question) -> list[float]:
    return profile_values(profile_question(question))


def profile_values(profile: QuestionProfile) -> list[float]:
    """Every feature from a profile already read, in catalog order."""
    return [float(f.measure(profile)) for f in FEATURES]


def compute_features(question: Question) -> dict[str, float]:
    """Every feature of ``question`` by name, in catalog order; all values finite floats."""
    return dict(zip(_BY_NAME, _values(question), strict=True))


def feature_matrix(questions: Iterable[Question]) -> npt.NDArray[np.float64]:
    """Features of many questions: float64, shape (n, len(FEATURES)), columns in
    ``FEATURES`` order (row i equals ``compute_features(questions[i])``)."""
    rows = [_values(q) for q in questions]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
