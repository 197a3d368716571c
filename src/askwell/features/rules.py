"""The rule registry: every check askwell makes of a question, in one table (``RULES``).

A rule is one idea a person would check ("the title asks", "no shouting"). It names the
catalog features it reads and the way it would move them (``direction``), and does one or
both of two things:

- it *scores*: its ``trigger`` reads the catalog features (thresholds defined once, below)
  and, when it fires, the rule-based heuristic adds its ``points`` (positive: a good sign;
  negative: a flaw);
- it *advises*: its ``advice`` finds the evidence in the text, words the message, and makes
  the what-if (the question with the advice followed; the very edit where it is
  ``mechanical``).

A rule that does both advises exactly where its trigger finds the flaw, or misses the good
sign, so the heuristic and the suggestions cannot disagree (tested on real questions).

Advice must be advice a person would take: a rule finds its evidence only where the advice
fits (acronyms and code are not shouting, code advice only for questions about code, a new
title only when the body asks a question fit to be one, tag advice never against the topic).
Nothing here judges a person's English: no rule is about grammar or spelling.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, replace

from askwell.data.text import BodyParts
from askwell.features.catalog import compute_features, get_feature
from askwell.features.text_stats import (
    LONG_SENTENCE_WORDS,
    collapse_repeated_punctuation,
    is_meta_site,
    is_question_title,
    phrase_spans,
    repeated_punctuation,
    shouting_spans,
    split_sentences,
    words,
)
from askwell.records import Question

__all__ = [
    "ADVISING",
    "CODE_SITES",
    "CODE_TAGS",
    "META_TAGS",
    "NOISE_LEXICONS",
    "RULES",
    "SCORING",
    "Advice",
    "Features",
    "Rule",
    "about_code",
    "code_lines",
    "features_of",
    "title_question",
]

Features = Mapping[str, float]  # a question's catalog features by name


@dataclass(frozen=True)
class Advice:
    """What a rule tells the writer: ``find`` the evidence in the text (None: nothing to
    point at), the ``message`` built from it, the ``what_if`` question with the advice
    followed, and whether that what-if is the edit itself (``mechanical``)."""

    find: Callable[[Question], str | None]
    message: Callable[[Question, str], str]
    what_if: Callable[[Question], Question]
    mechanical: bool


@dataclass(frozen=True)
class Rule:
    """One check, in one place: a ``trigger`` over the catalog features worth ``points`` to
    the heuristic, ``advice`` for the writer, or both (see the module's doc)."""

    id: str  # stable: suggestions and feedback carry it
    description: str
    features: tuple[str, ...]  # the catalog features it reads and moves
    direction: int  # +1: more of them is better; -1: less is
    _: KW_ONLY
    trigger: Callable[[Features], bool] | None = None
    points: float = 0.0  # 0: advice only
    advice: Advice | None = None

    def __post_init__(self) -> None:
        for name in self.features:
            get_feature(name)  # every rule reads real catalog features
        if self.direction not in (-1, 1):
            raise ValueError(f"rule {self.id!r}: direction must be +1 or -1")
        if (self.trigger is None) != (self.points == 0):
            raise ValueError(f"rule {self.id!r}: a trigger and points go together")
        if self.trigger is None and self.advice is None:
            raise ValueError(f"rule {self.id!r} neither scores nor advises")
        if self.trigger is not None and not self.features:
            raise ValueError(f"rule {self.id!r} scores but reads no feature")

    def fires(self, features: Features) -> bool:
        """Whether the trigger holds for these catalog features; False without one."""
        return self.trigger is not None and self.trigger(features)

    def evidence(self, question: Question) -> str | None:
        """What the advice points at in ``question``, or None where it gives none. A rule
        that scores advises only where its trigger finds a flaw or misses a good sign."""
        if self.advice is None:
            return None
        if self.trigger is not None and self.fires(features_of(question)) != (self.points < 0):
            return None  # no flaw to fix, or the good sign is there already
        return self.advice.find(question)

    def message(self, question: Question, evidence: str) -> str:
        return self._advice().message(question, evidence)

    def what_if(self, question: Question) -> Question:
        """``question`` with the advice followed (a stand-in where it needs the writer)."""
        return self._advice().what_if(question)

    @property
    def mechanical(self) -> bool:
        """Whether ``what_if`` is the edit itself, one the editor can make."""
        return self.advice is not None and self.advice.mechanical

    def _advice(self) -> Advice:
        if self.advice is None:
            raise ValueError(f"rule {self.id!r} gives no advice")
        return self.advice


@functools.lru_cache(maxsize=16)
def features_of(question: Question) -> Features:
    """``compute_features(question)``, kept for the question's other rules (read only)."""
    return compute_features(question)


def _with_text(question: Question, text: str) -> Question:
    return replace(question, body=replace(question.body, text=text))


_TIDY_STEPS = (  # in order; none crosses a line break, so paragraphs stay paragraphs
    (re.compile(r"(?<=[.!?])[ \t,;:.!?]+(?=[ \t\n]|$)", re.M), ""),  # "lines? !!!" -> "lines?"
    (re.compile(r"[ \t]+([,.;:!?])"), r"\1"),  # "word ," -> "word,"
    (re.compile(r"[,;:][ \t]*(?=[.!?]|$)", re.M), ""),  # "help, !" -> "help!"
    (re.compile(r"^[ \t,;:.!?]+", re.M), ""),  # a line left starting with punctuation
    (re.compile(r"[ \t]{2,}"), " "),
)


def _tidy(text: str) -> str:
    """Spaces and stray punctuation left where words were removed."""
    for pattern, repl in _TIDY_STEPS:
        text = pattern.sub(repl, text)
    return text.strip()


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    for a, b in sorted(spans, reverse=True):
        text = text[:a] + text[b:]
    return _tidy(text)


# --- the title


TITLE_CHARS = 150  # the longest title Stack Exchange accepts
TITLE_WORDS = 5  # a shorter question ("How does it work?") names no subject
_OPENS_QUESTION = re.compile(
    r"(?:how|what|why|when|where|which|who|whose|is|are|was|were|do|does|did|can|could"
    r"|should|would|will|may|might|must|has|have|had|shall)\b",
    re.I,
)
# "My question is: ...", "The question: ..." before the question itself.
_QUESTION_LEAD = re.compile(r"(?:[\w']+\s+){0,3}?questions?(?:\s+(?:is|was))?\s*[:,\-]?\s+", re.I)
# A question that leans on the text before it is no title: "Could it be harmful?", "Why
# do they fail?" ("is it possible to ..." stands on its own).
_POINTS_BACK = re.compile(r"\b(?:this|these|those|they|them|above|such)\b|(?<!is )\bit\b", re.I)
_TITLE_STOP = frozenset((
    "what", "when", "where", "which", "whose", "with", "that", "this", "from", "have", "does",
    "should", "would", "could", "there", "their", "about", "your", "into", "some", "been",
    "were", "will", "also", "just", "than", "then", "like", "more", "most", "very", "much",
    "between", "using", "without",
))  # fmt: skip


def _subject(text: str) -> set[str]:
    """The content words of ``text``, crudely stemmed (their first five letters)."""
    return {w[:5] for w in (w.lower() for w in words(text)) if len(w) >= 4 and w not in _TITLE_STOP}


def title_question(q: Question) -> str | None:
    """The question the body asks that could be the title, or None: a sentence of the body
    that asks (ends with "?" and opens like a question), short enough for a title, standing
    on its own, and about the title's subject (shares two of its content words, or its
    only one); of several, the one that shares most, then the first. None when the title
    already asks."""
    title = q.title.strip()
    if is_question_title(title):
        return None
    subject, best = _subject(title), None
    shared = min(2, len(subject)) - 1  # two words of the subject in common, or its one
    text = q.body.text
    for a, b in split_sentences(text):
        sentence = " ".join(text[a:b].split())
        lead = _QUESTION_LEAD.match(sentence)
        if lead is not None and len(lead.group()) < len(sentence):
            sentence = sentence[lead.end() :]
        sentence = sentence[:1].upper() + sentence[1:]
        n = len(subject & _subject(sentence))
        if (
            n > shared
            and sentence.endswith("?")
            and len(sentence) <= TITLE_CHARS
            and len(words(sentence)) >= TITLE_WORDS
            and _OPENS_QUESTION.match(sentence)
            and not _POINTS_BACK.search(sentence)
        ):
            best, shared = sentence, n
    return best


def _title_edit(q: Question) -> Question:
    found = title_question(q)
    return q if found is None else replace(q, title=found)


def _body_question_evidence(q: Question) -> str | None:
    return None if "?" in q.body.text else "no sentence of the body ends with a question mark"


def _body_question_what_if(q: Question) -> Question:
    return _with_text(q, (q.body.text.rstrip() + " How can I fix this?").strip())


# --- tone: noise, shouting, punctuation

#: The catalog's lexicons of words that add nothing: the noise rule counts and drops them.
NOISE_LEXICONS = ("greetings", "thanks", "apologies", "urgency")


def _noise_spans(text: str) -> list[tuple[int, int]]:
    return phrase_spans(text, NOISE_LEXICONS)


def _noise_evidence(q: Question) -> str | None:
    found = [t[a:b] for t in (q.title, q.body.text) for a, b in _noise_spans(t)]
    return ", ".join(f"“{f}”" for f in dict.fromkeys(found)) if found else None


_LEFTOVER_WORDS = 3  # a sentence left with this few words was only noise ("Hi all!!!")


def _noise_edit(q: Question) -> Question:
    """Drops the noise phrases from title and body, and a body sentence whole when little
    else is left of it."""
    text, noise = q.body.text, _noise_spans(q.body.text)
    cut: list[tuple[int, int]] = []
    for a, b in split_sentences(text):
        inside = [(x, y) for x, y in noise if a <= x and y <= b]
        if inside:
            rest = len(words(_remove(text[a:b], [(x - a, y - a) for x, y in inside])))
            whole = rest <= _LEFTOVER_WORDS or rest < len(words(text[a:b])) / 2
            cut += [(a, b)] if whole else inside
    title = q.title
    if spans := _noise_spans(title):
        title = _remove(title, spans)
        title = title[:1].upper() + title[1:]  # "Hey what is ..." -> "What is ..."
    return replace(_with_text(q, _remove(text, cut)), title=title)


def _shouting_spans(q: Question, text: str) -> list[tuple[int, int]]:
    return shouting_spans(text, (*q.body.inline_code, *q.tags), q.body.code_blocks)


def _shouting_evidence(q: Question) -> str | None:
    found = [t[a:b] for t in (q.title, q.body.text) for a, b in _shouting_spans(q, t)]
    return ", ".join(dict.fromkeys(found)) if found else None


_SENTENCE_START = re.compile(r"(?:^|[.!?\n])[\s\"'(\[*]*$")  # what comes before one


def _lower(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the words at ``spans`` in lower case, but for a capital where a
    sentence starts and the pronoun "I" ("I'M" becomes "I'm")."""
    for a, b in reversed(spans):
        word = text[a:b].lower()
        if word[:1] == "i" and word[1:2] in ("'", "\u2019"):
            word = "I" + word[1:]
        if _SENTENCE_START.search(text, max(0, a - 12), a):
            word = word[:1].upper() + word[1:]
        text = text[:a] + word + text[b:]
    return text


def _shouting_edit(q: Question) -> Question:
    edited = _with_text(q, _lower(q.body.text, _shouting_spans(q, q.body.text)))
    return replace(edited, title=_lower(q.title, _shouting_spans(q, q.title)))


def _punctuation_evidence(q: Question) -> str | None:
    n = repeated_punctuation(q.body.text) + repeated_punctuation(q.title)
    return f"{n} run{'s' if n > 1 else ''} like “!!!” or “??”" if n else None


def _punctuation_edit(q: Question) -> Question:
    edited = _with_text(q, collapse_repeated_punctuation(q.body.text))
    return replace(edited, title=collapse_repeated_punctuation(q.title))


# --- long sentences

# Where a run-on sentence can be cut without rewording: a semicolon, or a comma before a
# conjunction that can start a sentence of its own.
_SPLIT_POINT = re.compile(r";\s+|,\s+(?=(?:and|but|so|then)\s)", re.I)


def _split_once(sentence: str) -> tuple[str, str] | None:
    """``sentence`` cut in two at the split point nearest its middle (the second part
    capitalised), or None without one."""
    points = list(_SPLIT_POINT.finditer(sentence))
    if not points:
        return None
    cut = min(points, key=lambda m: (abs(m.start() - len(sentence) / 2), m.start()))
    rest = sentence[cut.end() :]
    return sentence[: cut.start()], rest[:1].upper() + rest[1:]


def _split_long(sentence: str) -> str:
    """``sentence`` cut until each piece is at most ``LONG_SENTENCE_WORDS`` words long, or
    no piece that long can be cut."""
    parts = _split_once(sentence) if len(words(sentence)) > LONG_SENTENCE_WORDS else None
    if parts is None:
        return sentence
    return f"{_split_long(parts[0])}. {_split_long(parts[1])}"


def _long_sentences(q: Question) -> list[tuple[int, int]]:
    text = q.body.text
    return [(a, b) for a, b in split_sentences(text) if len(words(text[a:b])) > LONG_SENTENCE_WORDS]


def _long_evidence(q: Question) -> str | None:
    spans = _long_sentences(q)
    n = len(split_sentences(q.body.text))
    return f"{len(spans)} of {n} sentence{'s' if n > 1 else ''}" if spans else None


def _long_edit(q: Question) -> Question:
    """Each long sentence cut where it can be without rewording; one that cannot stays, so
    the what-if of a text with nothing to cut is the text itself and is never shown."""
    text = q.body.text
    for a, b in reversed(_long_sentences(q)):
        text = text[:a] + _split_long(text[a:b]) + text[b:]
    return _with_text(q, text)


# --- code

# A prose line that is code. Shapes that only code has (an import, a definition, a prompt, a
# query) count as they are; a statement, a call or a brace counts unless the line also reads
# as prose (four plain words in a row), since lists in prose end with ";" too.
_CODE_SHAPE = re.compile(
    r"(?:import [\w.]+(?: as \w+)?|from [\w.]+ import [\w., *]+"
    r"|(?:def|function) \w+\(.*\)\s*[:{]?|class \w+.*[:{]|#include\s*[<\"].*"
    r"|\$ [a-z][\w.-]*(?: .*)?|>>> \S.*|<\?php.*|SELECT .+ FROM .+)"
)
_STATEMENT = re.compile(
    r"(?:[\w.\[\]'\"]+\s*[-+*/]?=\s*\S.*[;)\]'\"]"  # "x = f(a);", "s = 'a'"
    r"|[\w.]+\(.*\)\s*;?"  # "print(df.head())"
    r"|.*\)\s*\{|\}\s*(?:else.*)?;?)"  # "if (x) {", "}", "} else {"
)
_PROSE_RUN = re.compile(r"(?:\b[A-Za-z]+ ){3}[A-Za-z]+\b")


def code_lines(text: str) -> list[tuple[int, int]]:
    """Spans of the lines of ``text`` that look like code written as prose (an import, a
    definition, a prompt, a statement, a call, a brace), not a sentence."""
    spans, start = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if _CODE_SHAPE.fullmatch(stripped) or (
            _STATEMENT.fullmatch(stripped) and not _PROSE_RUN.search(stripped)
        ):
            spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


# What makes a question about code: not the words "code" or "function" alone (a dress
# code, a function in mathematics, an error in a measurement) but code itself.

#: Sites whose questions are about code (a question's ``site``; "stackoverflow.com" also
#: matches its language editions and dump slices).
CODE_SITES = (
    "stackoverflow.com", "codereview.stackexchange.com", "dba.stackexchange.com",
    "unix.stackexchange.com", "askubuntu.com", "superuser.com", "serverfault.com",
)  # fmt: skip
#: Tags that name a language or a programming library, or start with one ("python-3.x",
#: "asp.net-mvc"); outside meta sites, whose tags are about the site.
CODE_TAGS = (
    "python", "java", "javascript", "typescript", "c", "c++", "c#", "objective-c", "php",
    "ruby", "ruby-on-rails", "go", "rust", "r", "matlab", "perl", "bash", "powershell",
    "swift", "kotlin", "scala", "haskell", "sql", "mysql", "postgresql", "sqlite",
    "sql-server", "t-sql", "plsql", "oracle", "html", "css", "jquery", "node.js", "django",
    "pandas", "numpy", "tensorflow", "keras", "pytorch", "qiskit", "cirq", "q#", "regex",
    ".net", "asp.net", "vb.net", "vba", "android", "ios", "debugging",
)  # fmt: skip
_CODE_TAG = re.compile(
    "(?:"
    + "|".join(re.escape(t) for t in sorted(CODE_TAGS, key=len, reverse=True))
    + r")(?:$|[-\d.])"
)
_CODE_IN_TEXT = re.compile(
    r"(?<!\\)\b[A-Za-z][A-Za-z0-9]+_[A-Za-z0-9]{2,}"  # snake_case: read_csv (not x_i, \sum_i)
    r"|\b[a-z]{3,}[A-Z][a-z]+"  # camelCase: readLine (not arXiv, iPhone, macOS)
    r"|\w\.\w+\(|\b\w+\(\)"  # a call: df.head(, main()
    r"|\b[A-Z]\w*(?:Error|Exception)\b"  # an error's name: TypeError
    r"|\b\w+\.(?:py|js|ts|jsx|tsx|java|cpp|cs|php|rb|rs|sh|sql|ipynb|kt|swift)\b(?!\.\w)"
    r"|(?i:\btraceback\b|\bstack\s?trace|\bsegfault|\bsegmentation fault)"
)
_URL = re.compile(r"https?://\S+|\bwww\.\S+")  # "wiki/The_Royal_Navy" is no identifier
_CODE_ONLY_LINE = re.compile(r".*(?:[;{}]\s*$|==|!=|\+=|\+\+|->|=>|::).*")


def about_code(q: Question) -> bool:
    """Whether ``q`` is about programming: it shows code (a code block, a line only code
    has), or, but on a meta site (whose subject is the site: code there is an example), it
    is asked on a programming site or carries a programming tag (``CODE_SITES``,
    ``CODE_TAGS``), or its text shows an identifier (snake_case, camelCase, a call, a source
    file), an error's name or a stack trace."""
    text = q.body.text
    if q.body.code_blocks or any(
        _CODE_SHAPE.fullmatch(line) or _CODE_ONLY_LINE.fullmatch(line)
        for line in (text[a:b].strip() for a, b in code_lines(text))
    ):
        return True
    site = q.site or ""
    if is_meta_site(site):
        return False
    if any(c in site for c in CODE_SITES) or any(_CODE_TAG.match(t.lower()) for t in q.tags):
        return True
    return any(_CODE_IN_TEXT.search(_URL.sub(" ", t)) for t in (q.title, text))


def _fence_evidence(q: Question) -> str | None:
    found = [q.body.text[a:b].strip() for a, b in code_lines(q.body.text)]
    if not found or not about_code(q):
        return None  # "y = f(x)" on a mathematics site is not code
    return f"{len(found)} line{'s' if len(found) > 1 else ''} like “{found[0][:60]}”"


def _fence_edit(q: Question) -> Question:
    """The code-like lines moved, in order, into one code block."""
    text, spans = q.body.text, code_lines(q.body.text)
    if not spans:
        return q
    code = "\n".join(text[a:b].strip() for a, b in spans)
    for a, b in reversed(spans):
        text = text[:a] + text[b + 1 :]
    text = re.sub(r"\n{3,}", "\n\n", text).strip()  # a paragraph break where lines left
    body = replace(q.body, text=text, code_blocks=(*q.body.code_blocks, code))
    return replace(q, body=body)


_TECHNICAL = re.compile(r"\b(?:errors?|exceptions?|code|functions?|scripts?)\b")


def _code_evidence(q: Question) -> str | None:
    if q.body.code_blocks or code_lines(q.body.text):
        return None  # code written as prose: fence-code says what to do with it
    technical = bool(q.body.inline_code) or _TECHNICAL.search(q.body.text.lower()) is not None
    return "a question about code without a code block" if technical and about_code(q) else None


def _code_what_if(q: Question) -> Question:
    body: BodyParts = replace(q.body, code_blocks=(*q.body.code_blocks, "# the code you ran"))
    return replace(q, body=body)


# --- tags

#: Tags that name no topic: they tell who asks or how it feels, not what it is about, so
#: nobody follows them (Stack Exchange removes them). Not "homework": on some sites it is the
#: topic (teaching with homework).
META_TAGS = frozenset((
    "beginner", "beginners", "newbie", "noob", "novice", "help", "help-me", "please-help",
    "urgent", "question", "problem", "doubt", "easy", "simple", "code", "solved",
))  # fmt: skip
# A tag the model does not know: the what-ifs add it to measure what one more tag (any
# topic's) is worth, without the pull of a particular topic.
_TOPIC_STAND_IN = "?"


def _no_tags_evidence(q: Question) -> str | None:
    return None if q.tags else "no tags"


def _no_tags_what_if(q: Question) -> Question:
    return replace(q, tags=(*q.tags, _TOPIC_STAND_IN))


def _meta_tags(q: Question) -> list[str]:
    if is_meta_site(q.site):
        return []  # a meta site's tags are about the site: "bug", "help", "questions"
    return [t for t in q.tags if t.lower() in META_TAGS]


def _meta_tag_evidence(q: Question) -> str | None:
    found = _meta_tags(q)
    return ", ".join(f"“{t}”" for t in found) if found else None


def _meta_tag_what_if(q: Question) -> Question:
    """Each meta-tag replaced by a topic's tag (a stand-in): as many tags, one topic more."""
    found = set(_meta_tags(q))
    return replace(q, tags=tuple(_TOPIC_STAND_IN if t in found else t for t in q.tags))


# --- what gets questions closed as off topic or not constructive: asking which tool,
# library or approach is best, or for recommendations (answers would be opinions or lists).
_SHOPPING = re.compile(
    r"\b(?:recommend\w*|suggestions? (?:for|on)|(?:any|some) suggestions?"
    r"|what(?:'s| is| are) (?:the )?(?:best|better|good|recommended)\b"
    r"|which (?:\w+ )?(?:is|are|one is|would be) (?:the )?(?:best|better|preferred)\b"
    r"|(?:best|good|better|free|recommended) (?:\w+ )?(?:librar(?:y|ies)|tools?|frameworks?"
    r"|books?|tutorials?|resources?|ide|editors?|courses?|websites?)\b"
    r"|pros and cons|your (?:opinion|favou?rite)|what do you (?:think|prefer|use))",
    re.I,
)


def _shopping_sentences(text: str) -> list[tuple[int, int]]:
    return [(a, b) for a, b in split_sentences(text) if _SHOPPING.search(text[a:b])]


def _shopping_evidence(q: Question) -> str | None:
    found = [q.body.text[a:b].strip() for a, b in _shopping_sentences(q.body.text)]
    if _SHOPPING.search(q.title):
        found.insert(0, q.title.strip())
    return f"“{found[0][:80]}”" if found else None


_HOW_STAND_IN = "I tried one way, but it fails on my input. How can I make it work?"


def _shopping_what_if(q: Question) -> Question:
    """The sentences that ask for a pick asked as a problem instead (a stand-in: the
    writer says what they tried and asks how; removing them alone would only shorten it)."""
    text, spans = q.body.text, _shopping_sentences(q.body.text)
    if not spans:
        return q
    return _with_text(q, (_remove(text, spans) + " " + _HOW_STAND_IN).strip())


# --- what gets a debugging question closed as not a real question: no expected result.
_EXPECTED = re.compile(
    r"\b(?:expect\w*|instead|actual(?:ly)?|should (?:be|return|print|show|give|output)"
    r"|supposed to|(?:but|and) (?:i )?(?:get|got|see|saw)|returns?|output)\b",
    re.I,
)
_EXPECTED_STAND_IN = "I expected it to return the right result, but got a different one instead."
_FAILING = re.compile(
    r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|can'?t|cannot|not) (?:work|run|compile|start)"
    r"|\b(?:fails?|failing|failed|errors?|exceptions?|crash\w*|bugs?|wrong|broken|problem)\b",
    re.I,
)


def _expected_evidence(q: Question) -> str | None:
    """A debugging question (about code, and something fails) that never says what it
    should do or what it did instead."""
    text = q.body.text
    if not about_code(q) or not _FAILING.search(f"{q.title} {text}") or _EXPECTED.search(text):
        return None
    return "a question about code that never says what it should do and what it did"


def _expected_what_if(q: Question) -> Question:
    return _with_text(q, (q.body.text.rstrip() + " " + _EXPECTED_STAND_IN).strip())


# --- thresholds, each defined once: the heuristic scores by them and the advice fires by them

CONTEXT_WORDS = (40, 400)  # body words that give context without burying the question
TOO_SHORT_WORDS = 15  # under this a body says too little to answer
PARAGRAPHS = 2  # at least this many: not one wall of text
VAGUE_WORDS = 1  # more than this: one "something" is prose, several are vagueness
# Above this share of body sentences over LONG_SENTENCE_WORDS words, the text runs on. Any
# one: each is worth splitting and the advice names them all (the heuristic alone once asked
# for most, > 0.5, and disagreed with the advice on half the questions with a long one).
RUN_ON_SHARE = 0.0


def _noise(f: Features) -> float:
    return sum(f[name] for name in NOISE_LEXICONS)


RULES: tuple[Rule, ...] = (
    # --- the question
    Rule(
        "title-as-question", "The title asks a question.",
        ("title_is_question", "title_question_marks"), +1,
        trigger=lambda f: f["title_is_question"] > 0, points=1.0,
        advice=Advice(
            title_question,
            lambda q, e: (f"Your title is not a question: “{q.title.strip()}”."
                          if q.title.strip() else "No title yet.")
            + f" Your body asks one that could be: “{e}”",
            _title_edit, mechanical=True,
        ),
    ),
    Rule(
        "ask-in-the-body", "No sentence of the body asks (ends with a question mark).",
        ("body_question_marks",), +1,
        advice=Advice(
            _body_question_evidence,
            lambda q, e: "The body never asks: end it with the exact question you want "
            "answered.",
            _body_question_what_if, mechanical=False,
        ),
    ),
    # --- length and structure
    Rule(
        "enough-context",
        f"The body gives context: {CONTEXT_WORDS[0]} to {CONTEXT_WORDS[1]} words of prose.",
        ("body_words",), +1,
        trigger=lambda f: CONTEXT_WORDS[0] <= f["body_words"] <= CONTEXT_WORDS[1], points=1.0,
    ),
    Rule(
        "too-short", f"The body is under {TOO_SHORT_WORDS} words: too little to answer.",
        ("body_words",), +1,
        trigger=lambda f: f["body_words"] < TOO_SHORT_WORDS, points=-1.0,
    ),
    Rule(
        "paragraphs", "The body is split into paragraphs.", ("n_paragraphs",), +1,
        trigger=lambda f: f["n_paragraphs"] >= PARAGRAPHS, points=0.5,
    ),
    # --- tone
    Rule(
        "drop-noise", "Greetings, thanks, apologies or urgency that add nothing.",
        ("greetings", "thanks", "apologies", "urgency"), -1,
        trigger=lambda f: _noise(f) > 0, points=-1.0,
        advice=Advice(
            _noise_evidence,
            lambda q, e: f"Remove {e}: they add words, not information.",
            _noise_edit, mechanical=True,
        ),
    ),
    Rule(
        # Shouting words only: a high share of capitals alone (once also a trigger, > 0.3)
        # is acronyms and names as often as shouting, and there is nothing to lower-case.
        "stop-shouting", "Ordinary words written in capitals to shout.",
        ("shouting_words",), -1,
        trigger=lambda f: f["shouting_words"] > 0, points=-1.0,
        advice=Advice(
            _shouting_evidence,
            lambda q, e: f"Write {e} in lower case: capitals read as shouting.",
            _shouting_edit, mechanical=True,
        ),
    ),
    Rule(
        "calm-punctuation", "Repeated punctuation (!!, ??).", ("repeated_punctuation",), -1,
        trigger=lambda f: f["repeated_punctuation"] > 0, points=-0.5,
        advice=Advice(
            _punctuation_evidence,
            lambda q, e: f"One mark is enough: {e}.",
            _punctuation_edit, mechanical=True,
        ),
    ),
    # --- effort and readability
    Rule(
        "vague", 'Vague words ("doesn\'t work", "stuff") instead of specifics.',
        ("vague_words",), -1,
        trigger=lambda f: f["vague_words"] > VAGUE_WORDS, points=-0.5,
    ),
    Rule(
        "split-long-sentences", f"A sentence runs past {LONG_SENTENCE_WORDS} words.",
        ("long_sentence_share",), -1,
        trigger=lambda f: f["long_sentence_share"] > RUN_ON_SHARE, points=-0.5,
        advice=Advice(
            _long_evidence,
            lambda q, e: f"{e} run over {LONG_SENTENCE_WORDS} words: split them where a new "
            "thought starts.",
            _long_edit, mechanical=True,
        ),
    ),
    # --- code
    Rule(
        "shows-code-or-error", "It shows code or the error message.",
        ("n_code_blocks", "n_inline_code", "has_error_text"), +1,
        trigger=lambda f: f["n_code_blocks"] + f["n_inline_code"] + f["has_error_text"] > 0,
        points=1.0,
    ),
    Rule(
        "fence-code", "Code written as prose lines, not in a code block.",
        ("n_code_blocks",), +1,
        advice=Advice(
            _fence_evidence,
            lambda q, e: f"Code written as prose ({e}): format it as a code block, so it "
            "keeps its lines and reads as code.",
            _fence_edit, mechanical=True,
        ),
    ),
    Rule(
        "show-code", "A question about code without a code block.", ("n_code_blocks",), +1,
        advice=Advice(
            _code_evidence,
            lambda q, e: "No code block: show the code you ran and the exact error you got, "
            "formatted as code.",
            _code_what_if, mechanical=False,
        ),
    ),
    Rule(
        "shows-effort", "It says what was tried or expected.", ("effort_markers",), +1,
        trigger=lambda f: f["effort_markers"] > 0, points=1.0,
    ),
    Rule(
        "expected-vs-actual",
        "A debugging question that never says what it should do and what it did.",
        ("effort_markers",), +1,
        advice=Advice(
            _expected_evidence,
            lambda q, e: "Say what you expected to happen and what happened instead (the "
            "exact output or error): without it, a debugging question is closed as unclear.",
            _expected_what_if, mechanical=False,
        ),
    ),
    # --- what gets questions closed: asking for a pick
    Rule(
        "ask-how-not-which", "It asks which tool or library is best, or for recommendations.",
        (), +1,  # its words' own weights: no catalog feature moves
        advice=Advice(
            _shopping_evidence,
            lambda q, e: f"Asking which tool or library is best, or for recommendations ({e}), "
            "gets questions closed as off topic or not constructive: describe the problem "
            "you need to solve and what you tried, and ask how to solve it.",
            _shopping_what_if, mechanical=False,
        ),
    ),
    # --- tags
    Rule(
        "add-tags", "The question has no tags.", ("n_tags",), +1,
        advice=Advice(
            _no_tags_evidence,
            lambda q, e: "No tags: add a tag for each topic the question is about (up to "
            "five), so the people who follow those topics see it.",
            _no_tags_what_if, mechanical=False,
        ),
    ),
    Rule(
        "topic-tags", "A tag names no topic (beginner, help, urgent).",
        (), +1,  # the tags' own weights: no catalog feature moves
        advice=Advice(
            _meta_tag_evidence,
            lambda q, e: f"Replace {e} with a tag that names the topic: tags say what a "
            "question is about, and nobody follows a tag like that.",
            _meta_tag_what_if, mechanical=False,
        ),
    ),
)  # fmt: skip

#: The rules the heuristic scores by, and the rules that give advice: selections of
#: ``RULES``, in its order, never tables of their own.
SCORING: tuple[Rule, ...] = tuple(r for r in RULES if r.points)
ADVISING: tuple[Rule, ...] = tuple(r for r in RULES if r.advice is not None)
