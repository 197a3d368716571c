"""Pure text statistics behind the feature catalog: sentences, words, syllables, readability
and English phrase lexicons.

Everything here is offline (no NLTK or spaCy data: their syllable counters download
dictionaries at run time), total on any unicode string and free of state; the only work at
import is compiling regular expressions. ``profile_question`` reads a ``Question`` once so that
the catalog's features are cheap lookups instead of repeated scans.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from askwell.records import Question

__all__ = [
    "ACRONYMS",
    "APOLOGIES",
    "CODE_KEYWORDS",
    "EFFORT_MARKERS",
    "GREETINGS",
    "HOW_DO_I",
    "LEXICONS",
    "LONG_SENTENCE_WORDS",
    "NEUTRAL_GRADE",
    "NEUTRAL_READING_EASE",
    "ORDINARY_WORDS",
    "SHOUTED_WORDS",
    "THANKS",
    "URGENCY",
    "VAGUE_WORDS",
    "WH_WORDS",
    "ProseStats",
    "QuestionParts",
    "QuestionProfile",
    "Tally",
    "caps_share",
    "collapse_repeated_punctuation",
    "count_phrases",
    "count_syllables",
    "flesch_kincaid_grade",
    "flesch_reading_ease",
    "is_question_title",
    "mentions_error",
    "phrase_spans",
    "profile_question",
    "prose_stats",
    "punctuation_marks",
    "question_parts",
    "repeated_punctuation",
    "shouting_spans",
    "shouting_words",
    "split_sentences",
    "syllables",
    "tally",
    "words",
]

# --- English lexicons: matched case-insensitively on word boundaries, any run of whitespace
# between words, and "'" standing for an optional straight or curly apostrophe.
GREETINGS = ("hi", "hello", "hey", "dear", "greetings", "howdy", "good morning", "good evening")
#: Phrases that hold a lexicon's word but name something: "Hello World" is a program, not a
#: greeting. Counted under their own name, so the longer match keeps them out of the others.
NAMES = ("hello world",)
THANKS = (
    "thanks", "thank you", "thx", "thanks in advance", "tia", "many thanks", "cheers",
    "appreciated", "appreciate it", "appreciate any help",
)  # fmt: skip
APOLOGIES = ("sorry", "apologies", "apologize", "apologise", "my bad", "excuse my english")
URGENCY = ("urgent", "urgently", "asap", "plz", "pls", "please help", "help me please")
VAGUE_WORDS = (
    "something", "stuff", "thing", "things", "somehow", "etc.", "and so on",
    "doesn't work", "does not work", "don't work", "not working", "isn't working", "won't work",
)  # fmt: skip
EFFORT_MARKERS = (
    "i tried", "i have tried", "i've tried", "i also tried", "i expected", "i was expecting",
    "expected output", "expected result", "actual output", "actual result", "error message",
    "traceback", "stack trace", "here is my code", "what i have so far",
    "i searched", "i have searched", "i've searched", "i have read", "i've read", "according to",
)  # fmt: skip
WH_WORDS = ("what", "why", "how", "when", "where", "which", "who", "whom", "whose")
HOW_DO_I = (
    "how do i", "how can i", "how to", "how would i", "how should i", "is it possible",
    "is there a way",
)  # fmt: skip

#: The lexicons ``count_phrases`` counts, in one scan. A match counts for the lexicon of the
#: longest phrase it is ("thanks in advance" once, as thanks); a wh-word that opens a longer
#: phrase ("how do I", "what I have so far") counts as a wh-word too.
LEXICONS: Mapping[str, tuple[str, ...]] = {
    "greetings": GREETINGS,
    "thanks": THANKS,
    "apologies": APOLOGIES,
    "urgency": URGENCY,
    "vague": VAGUE_WORDS,
    "effort": EFFORT_MARKERS,
    "wh": WH_WORDS,
    "how_do_i": HOW_DO_I,
    "names": NAMES,
}

#: ALL-CAPS names that a general rule could mistake for words (short capitals that are not
#: ordinary English words are acronyms already: see ``shouting_spans``).
ACRONYMS = frozenset((
    "API", "URL", "URI", "HTML", "CSS", "SQL", "JSON", "XML", "YAML", "HTTP", "HTTPS", "FTP",
    "SSH", "SSL", "TLS", "TCP", "UDP", "DNS", "REST", "CPU", "GPU", "TPU", "RAM", "ROM", "SSD",
    "HDD", "USB", "PDF", "PNG", "JPG", "JPEG", "GIF", "SVG", "CSV", "IDE", "SDK", "CLI", "GUI",
    "OOP", "MVC", "ORM", "AWS", "GCP", "NPM", "PHP", "JVM", "JDK", "JRE", "LLM", "GPT", "NLP",
    "CNN", "RNN", "LSTM", "GAN", "MLP", "SVM", "BERT", "UTF", "ASCII", "ANSI", "UNIX", "POSIX",
    "BIOS", "VPN", "LAN", "WAN", "ISP", "MAC", "IOS", "USA", "NASA", "FAQ", "TODO", "FYI",
    "IIRC", "AFAIK", "IMHO", "IMO", "ISO", "UTC", "GMT", "DIY", "IPA", "APA", "ABV", "IBU",
    "SRM", "EBC", "DIPA", "NEIPA", "ESB", "DME", "LME", "BIAB", "QED", "GCD", "LCM", "ODE",
    "PDE", "CNOT", "QFT", "VQE", "QAOA", "NISQ", "MIDI",
))  # fmt: skip

#: Words that shout in capitals on their own ("it does NOT work", "PLEASE", "URGENT"):
#: pleas, negations, insistence and trouble. Lower case, apostrophes dropped ("DON'T": dont).
SHOUTED_WORDS = (
    "please", "plz", "pls", "help", "urgent", "urgently", "asap", "important", "need",
    "needed", "must", "now", "hello", "thanks", "thank", "sorry",
    "not", "no", "never", "nothing", "none", "nobody", "cannot", "cant", "dont", "doesnt",
    "didnt", "isnt", "arent", "wasnt", "wont", "wouldnt", "shouldnt", "couldnt",
    "all", "any", "anything", "everything", "anyone", "anybody", "everyone", "every",
    "always", "only", "just", "still", "even", "really", "very", "exactly", "totally",
    "completely", "absolutely", "definitely", "seriously", "extremely", "same", "different",
    "whole", "huge", "big", "lot", "lots", "much", "many", "more", "most", "again", "both",
    "without", "before", "after", "this", "that", "these", "those", "here", "the", "and",
    "but", "you", "your", "why", "how", "what", "does", "did", "great", "best", "worst",
    "work", "works", "working", "worked", "fail", "fails", "failed", "failing", "broken",
    "wrong", "problem", "stuck", "crash", "crashes", "crashed", "impossible", "weird",
)  # fmt: skip

#: Short ordinary words (up to five letters): the most frequent lower-case words of the Stack
#: Exchange prose in the shared data, less names (java, linux) and words also written as
#: acronyms (sql, api, id). In a shouted sentence these are shouting, while a short capital
#: word that is none of them is taken for an acronym (CUDA, RSA, UTXO).
ORDINARY_WORDS = (
    "hi", "im", "ive", "youre", "thats", "whats", "theres", "lets",
    "a", "able", "about", "above", "add", "added", "after", "again", "ago", "all", "allow",
    "along", "also", "am", "an", "and", "any", "app", "apply", "are", "area", "array", "as",
    "ask", "asked", "at", "audio", "auto", "avoid", "aware", "away", "back", "bad", "bar",
    "base", "based", "basic", "be", "been", "being", "below", "best", "beta", "big", "bit",
    "block", "blog", "book", "books", "both", "box", "break", "bug", "build", "built",
    "bunch", "but", "buy", "by", "call", "calls", "came", "can", "cant", "card", "care",
    "cases", "cause", "cell", "chat", "check", "child", "class", "clean", "clear", "click",
    "close", "code", "codes", "color", "come", "comes", "copy", "core", "cost", "could",
    "cross", "data", "day", "days", "deal", "did", "disk", "do", "does", "doing", "done",
    "dont", "down", "draw", "drive", "due", "each", "easy", "else", "email", "empty",
    "enter", "equal", "even", "ever", "every", "exact", "exist", "extra", "fact", "fails",
    "far", "fast", "feel", "few", "field", "file", "files", "fill", "final", "find", "fine",
    "first", "fit", "fix", "fixed", "flag", "focus", "for", "force", "form", "forms",
    "forum", "found", "frame", "free", "front", "full", "game", "games", "gets", "give",
    "given", "gives", "go", "goal", "goes", "going", "good", "got", "graph", "great",
    "grid", "guess", "guide", "guys", "had", "hand", "happy", "hard", "has", "have", "he",
    "heard", "help", "here", "hide", "high", "his", "hit", "hold", "hope", "hours", "how",
    "idea", "ideas", "if", "image", "in", "input", "into", "is", "issue", "it", "item",
    "items", "its", "job", "just", "keep", "keys", "kind", "know", "known", "knows",
    "label", "large", "last", "later", "layer", "learn", "least", "leave", "let", "level",
    "life", "light", "like", "line", "lines", "link", "links", "list", "lists", "load",
    "loads", "local", "log", "logic", "logs", "long", "look", "looks", "loop", "lost",
    "lot", "lots", "love", "low", "made", "mail", "main", "major", "make", "makes", "many",
    "map", "match", "math", "may", "maybe", "me", "mean", "means", "media", "might", "mind",
    "mode", "model", "month", "more", "most", "move", "much", "music", "must", "my", "name",
    "named", "names", "need", "needs", "never", "new", "next", "nice", "no", "non", "none",
    "not", "now", "of", "off", "offer", "often", "old", "on", "once", "one", "ones", "only",
    "open", "or", "other", "our", "out", "over", "own", "page", "pages", "paper", "part",
    "parts", "party", "pass", "past", "per", "phone", "piece", "place", "plan", "play",
    "plus", "point", "port", "posts", "press", "price", "print", "pull", "push", "put",
    "query", "queue", "quick", "quite", "ran", "range", "read", "real", "reset", "right",
    "route", "row", "rows", "rule", "rules", "run", "runs", "said", "same", "save", "saved",
    "saw", "say", "says", "scale", "scope", "see", "seem", "seems", "seen", "self", "send",
    "sense", "sent", "set", "sets", "setup", "share", "sheet", "short", "show", "shown",
    "shows", "side", "sign", "since", "site", "sites", "size", "slow", "small", "solve",
    "some", "soon", "sort", "sound", "space", "speed", "split", "stack", "start", "state",
    "step", "steps", "still", "stop", "store", "stuck", "study", "stuff", "style", "such",
    "sure", "tag", "take", "taken", "takes", "task", "tasks", "team", "tell", "term",
    "terms", "test", "tests", "text", "than", "that", "the", "their", "them", "theme",
    "then", "there", "these", "they", "thing", "think", "third", "this", "those", "three",
    "time", "times", "tips", "to", "today", "told", "too", "tool", "tools", "top", "topic",
    "track", "tree", "tried", "try", "turn", "two", "type", "types", "under", "unit",
    "until", "up", "upon", "usage", "use", "used", "user", "users", "uses", "using",
    "valid", "value", "very", "via", "video", "view", "views", "vote", "votes", "wait",
    "want", "wants", "was", "way", "ways", "we", "web", "week", "weird", "well", "went",
    "were", "what", "when", "which", "while", "white", "who", "whole", "why", "width",
    "will", "wish", "with", "word", "words", "work", "works", "world", "worth", "would",
    "write", "wrong", "wrote", "year", "years", "yet", "you", "your", "zero"
)  # fmt: skip

#: Capitals that are code in a sentence that reads as code (SQL, logic gates): "LEFT JOIN ...
#: WHERE x IS NOT NULL", "the AND and OR gates".
CODE_KEYWORDS = (
    "select", "insert", "update", "delete", "create", "alter", "drop", "table", "from",
    "where", "join", "inner", "outer", "left", "right", "full", "cross", "group", "order",
    "by", "having", "union", "all", "any", "distinct", "into", "values", "set", "null", "is",
    "in", "not", "and", "or", "as", "on", "exists", "like", "between", "case", "when", "then",
    "else", "end", "begin", "declare", "primary", "foreign", "key", "index", "unique",
    "default", "limit", "top", "asc", "desc", "count", "sum", "max", "min", "avg", "with",
    "go", "exec", "procedure", "trigger", "view", "cursor", "commit", "rollback", "before",
    "after", "varchar", "int", "char", "date", "true", "false", "xor", "nand", "nor", "xnor",
    "cnot", "if",
)  # fmt: skip

LONG_SENTENCE_WORDS = 35  # above this a sentence is hard to follow (plain-language guides)
NEUTRAL_READING_EASE = 65.0  # no prose: the middle of Flesch's "plain English" band ...
NEUTRAL_GRADE = 8.0  # ... and the school grade that band corresponds to

_WORD = re.compile(r"\w+(?:['\u2019.\-]\w+)*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")
# A sentence ends at a run of terminators (with closing quotes/brackets) followed by
# whitespace or the end, or at a newline (blocks, list items and line breaks). Requiring the
# whitespace keeps "3.5", "file.txt" and "e.g.," inside their sentence. (Written to start
# with one character class, which lets the regex engine skip ahead: ~2x faster.)
_BOUNDARY = re.compile(r"[\n.!?\u2026](?:(?<=\n)|[.!?\u2026]*[\"'\u201d\u2019)\]]*(?=\s|\Z))")
_ABBREVIATION = re.compile(
    r"(?<![\w.])(?:e\.g|i\.e|vs|mr|mrs|dr|prof|jr|sr|cf|approx|fig|al|incl|esp|ca|(etc))\Z",
    re.IGNORECASE,
)
_NEXT_VISIBLE = re.compile(r"\s*(\S)")


_TRIE_PIECE = {" ": r"\s+", "'": "['\u2019]?"}
_SQUEEZE = re.compile(r"[\s'\u2019]+")  # what _TRIE_PIECE lets vary between spellings


def is_meta_site(site: str | None) -> bool:
    """Meta sites discuss the site itself (``x.meta.stackexchange.com``, ``meta.x.net``)."""
    return site is not None and (".meta." in site or site.startswith("meta."))


def _trie(phrases: Iterable[str]) -> str:
    """A regex matching any of the lower-case ``phrases``, factored by shared prefixes (the
    engine then tries one branch per next letter, not one per phrase: ~3x faster), longest
    first. Spaces match any whitespace, "'" an optional straight or curly apostrophe."""
    root: dict[str, Any] = {}
    for phrase in phrases:
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}  # a phrase ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [
            _TRIE_PIECE.get(ch, re.escape(ch)) + emit(child)
            for ch, child in sorted(node.items())
            if ch
        ]
        if not branches:
            return ""
        return "(?:" + "|".join(branches) + (")?" if "" in node else ")")

    return emit(root)


_LEXICON = re.compile(rf"(?<!\w){_trie(p for ps in LEXICONS.values() for p in ps)}(?!\w)")
_LEXICON_ANY_CASE = re.compile(_LEXICON.pattern, re.IGNORECASE)  # spans in the original text
_LEXICON_OF = {_SQUEEZE.sub("", p): name for name, ps in LEXICONS.items() for p in ps}
_WH = frozenset(WH_WORDS)
_QUESTION_START = re.compile(rf"{_trie(WH_WORDS + HOW_DO_I)}(?!\w)")

_UPPER = r"A-Z\xc0-\xd6\xd8-\xde\u0391-\u03a9\u0401\u0410-\u042f"  # Latin, Greek, Cyrillic
_LOWER = r"a-z\xdf-\xf6\xf8-\xff\u03ac-\u03ce\u0430-\u045f"
_UPPER_RUN = re.compile(f"[{_UPPER}]+")
_CASED_RUN = re.compile(f"[{_UPPER}{_LOWER}]+")
# An ALL-CAPS word: letters only (identifiers with digits or underscores, SHA256, MAX_SIZE,
# are never words), with inner apostrophes (DON'T).
_CAPS_WORD = re.compile(rf"(?<!\w)[{_UPPER}]+(?:['\u2019][{_UPPER}]+)*(?!\w)")
_TWO_CAPITALS = re.compile(f"[{_UPPER}]{{2}}")  # no two in a row: nothing to look at
_CODE_CAPITALS = re.compile(r"(?<![^\W\d_])[A-Z]{2,}(?![^\W\d_])")  # NULL, MAX in MAX_SIZE
# Capitals that mark a sentence as code on their own, or as a pair.
_CODE_MARKERS = frozenset((
    "select", "insert", "join", "null", "varchar", "union", "distinct", "having", "exists",
    "xor", "nand", "nor", "xnor", "cnot",
))  # fmt: skip
_CODE_PAIR = re.compile(
    r"(?<!\w)(?:GROUP BY|ORDER BY|INSERT INTO|DELETE FROM|(?:PRIMARY|FOREIGN) KEY"
    r"|(?:CREATE|ALTER|DROP) (?:TABLE|INDEX|VIEW|PROCEDURE|TRIGGER|DATABASE|SCHEMA))(?!\w)"
)
# Code written as a sentence: snake_case, a method call, a comparison, an assignment, a
# statement's closing ";".
_CODE_SHAPE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|\w\.\w+\(|==|!=|<>|:=|\s=\s|;$")
_LOGIC = frozenset(("and", "or", "not", "xor", "nand", "nor", "xnor"))
# SQL words rarely shouted: two of them make a sentence code ("WHEN 1 THEN", "TABLE ACCESS BY
# INDEX").
_SQL = frozenset((
    "select", "insert", "update", "delete", "create", "alter", "drop", "table", "join",
    "where", "group", "order", "having", "union", "values", "null", "exists", "between",
    "case", "when", "then", "else", "end", "begin", "declare", "primary", "foreign", "key",
    "index", "distinct", "limit", "varchar", "char", "int", "procedure", "trigger", "cursor",
    "commit", "rollback", "exec", "set",
))  # fmt: skip
# A capital word named as a piece of code: "the NOT gate", "an UPDATE statement".
_CODE_NOUN = re.compile(
    r"[ \t]+(?:gates?|operators?|operations?|clauses?|statements?|keywords?|quer(?:y|ies)"
    r"|commands?|constraints?|conditions?|triggers?|functions?|joins?|instructions?)(?!\w)"
)
_RUN_GAP = re.compile(r",?[ \t]+")  # between the words of a run of capitals
SHOUTED_SENTENCE_CAPS = 0.6  # of a sentence's cased letters: above this it is in capitals
_SHOUTED = frozenset(SHOUTED_WORDS)
_ORDINARY = _SHOUTED | frozenset(ORDINARY_WORDS)
_CODE_KEYWORDS = frozenset(CODE_KEYWORDS)
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# . , ; : ! ? … ' " brackets, curly quotes, guillemets, en and em dashes, hyphen
_PUNCTUATION = re.compile(r"[.,;:!?\u2026'\"()\[\]{}\u2018\u2019\u201c\u201d\xab\xbb\u2013\u2014-]")
_REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")
# On lower-cased text (case-insensitive matching is ~2x slower), plus CamelCase names.
_ERROR_WORD = re.compile(
    r"(?<!\w)(?:errors?|exceptions?|traceback|stack\s*traces?|errno|segfault"
    r"|segmentation\s+fault)(?!\w)"
)
_ERROR_NAME = re.compile(r"[A-Z]\w*(?:Error|Exception)")


# --- words and sentences


def words(text: str) -> list[str]:
    """Word tokens: runs of letters/digits/underscore, joined by inner apostrophes, dots or
    hyphens ("doesn't", "e.g", "3.5", "well-known" are one word each)."""
    return _WORD.findall(text)


def _sentences(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, words) of each sentence that has at least one word; the words of all
    sentences together are exactly ``words(text)``."""
    ends = [
        m.end()
        for m in _BOUNDARY.finditer(text)
        if _ends_sentence(text, m.group(), m.start(), m.end())
    ]
    out: list[tuple[int, int, list[str]]] = []
    start = 0
    for end in (*ends, len(text)):
        segment = text[start:end]
        a = start + len(segment) - len(segment.lstrip())
        b = a + len(segment.strip())
        found = _WORD.findall(text, a, b)
        if found:
            out.append((a, b, found))
        start = end
    return out


def _ends_sentence(text: str, mark: str, start: int, end: int) -> bool:
    """Whether the boundary candidate ``mark`` at ``text[start:end]`` ends a sentence."""
    if mark == "\n" or "!" in mark or "?" in mark:
        return True
    if mark[0] == "." and mark[1:2] != ".":
        abbreviation = _ABBREVIATION.search(text, max(0, start - 8), start)
        if abbreviation is None:
            return True
        if abbreviation.group(1) is None:
            return False  # "e.g.", "vs.", "Mr." introduce what follows
    # "etc." and "..." end a sentence unless it plainly goes on in lower case.
    after = _NEXT_VISIBLE.match(text, end)
    return after is None or not after.group(1).islower()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``: ``text[a:b]`` is one sentence, trimmed
    of whitespace, in order, never overlapping. Pieces without a word are dropped."""
    return [(a, b) for a, b, _ in _sentences(text)]


# --- syllables and readability


# Text is mostly the same few thousand words, and the editor re-reads one question many times
# (once per left-out sentence): remembering each word's estimate saves a fifth of that work.
@functools.lru_cache(maxsize=1 << 16)
def syllables(word: str) -> int:
    """English syllables in one word, estimated offline from vowel groups with the usual
    corrections (silent final "e", "-le", "-ed", "-es"); at least 1."""
    if len(word) <= 3:
        return 1  # "the", "and", "ago": the short words that dominate text
    w = word.lower()
    n = len(_VOWEL_GROUP.findall(w))
    if n <= 1:
        return 1
    vowels = "aeiouy"
    base = w[:-1] if w.endswith(("les", "led")) else w
    if base.endswith("le") and base[-3] not in vowels:
        return n  # "table", "tables", "bottled": the final "-le" is heard
    if w.endswith("e") and not w.endswith(("ee", "ye")):
        n -= 1  # "make", "whole", but "agree"
    elif w.endswith("ed") and w[-3] not in vowels + "td":
        n -= 1  # "jumped", but "wanted", "agreed"
    elif w.endswith("es") and w[-3] not in vowels + "sxzcg" and not w.endswith("hes"):
        n -= 1  # "makes", but "boxes", "pages", "matches"
    return max(n, 1)


def count_syllables(tokens: Iterable[str]) -> int:
    """Sum of ``syllables`` over word tokens (each distinct word is estimated once)."""
    return sum(syllables(w) * k for w, k in Counter(tokens).items())


def flesch_reading_ease(n_words: int, n_sentences: int, n_syllables: int) -> float:
    """Flesch reading ease (higher is easier; 60-70 is plain English). No words gives
    ``NEUTRAL_READING_EASE``; always finite."""
    if n_words <= 0:
        return NEUTRAL_READING_EASE
    return 206.835 - 1.015 * n_words / max(n_sentences, 1) - 84.6 * n_syllables / n_words


def flesch_kincaid_grade(n_words: int, n_sentences: int, n_syllables: int) -> float:
    """Flesch-Kincaid US school grade (lower is easier). No words gives ``NEUTRAL_GRADE``;
    always finite."""
    if n_words <= 0:
        return NEUTRAL_GRADE
    return 0.39 * n_words / max(n_sentences, 1) + 11.8 * n_syllables / n_words - 15.59


@dataclass(frozen=True, slots=True)
class ProseStats:
    """Counts over one piece of prose; the derived values are defined (finite) for any text."""

    n_chars: int
    n_words: int
    n_syllables: int
    sentence_words: tuple[int, ...]  # words in each sentence, in order

    @property
    def n_sentences(self) -> int:
        return len(self.sentence_words)

    @property
    def mean_sentence_words(self) -> float:
        return self.n_words / self.n_sentences if self.sentence_words else 0.0

    @property
    def sentence_words_std(self) -> float:
        """Population standard deviation of words per sentence (0 for fewer than two)."""
        if self.n_sentences < 2:
            return 0.0
        mean = self.mean_sentence_words
        return math.sqrt(sum((k - mean) ** 2 for k in self.sentence_words) / self.n_sentences)

    @property
    def long_sentence_share(self) -> float:
        """Share of sentences longer than ``LONG_SENTENCE_WORDS`` words (0 with none)."""
        if not self.sentence_words:
            return 0.0
        long = sum(k > LONG_SENTENCE_WORDS for k in self.sentence_words)
        return long / self.n_sentences

    @property
    def reading_ease(self) -> float:
        return flesch_reading_ease(self.n_words, self.n_sentences, self.n_syllables)

    @property
    def grade(self) -> float:
        return flesch_kincaid_grade(self.n_words, self.n_sentences, self.n_syllables)


def prose_stats(text: str) -> ProseStats:
    """Sentences, words and syllables of ``text`` in one tokenisation pass."""
    found = [words for _, _, words in _sentences(text)]
    return _prose(len(text), found, [count_syllables(w) for w in found])


def _prose(n_chars: int, sentences: Sequence[list[str]], syllables: Sequence[int]) -> ProseStats:
    """Prose stats from each sentence's words and syllable count."""
    return ProseStats(
        n_chars=n_chars,
        n_words=sum(map(len, sentences)),
        n_syllables=sum(syllables),
        sentence_words=tuple(map(len, sentences)),
    )


# --- phrases, tone and formatting


def count_phrases(text: str) -> dict[str, int]:
    """Matches of each lexicon in ``LEXICONS`` (every name present, 0 when absent),
    case-insensitive and on word boundaries."""
    counts = dict.fromkeys(LEXICONS, 0)
    for m in _LEXICON.finditer(text.lower()):
        phrase = m.group()
        name = _LEXICON_OF[_SQUEEZE.sub("", phrase)]
        counts[name] += 1
        if name != "wh" and phrase.split(None, 1)[0] in _WH:
            counts["wh"] += 1
    return counts


def is_question_title(title: str) -> bool:
    """A title reads as a question: it ends with "?" or starts with a wh-word or a
    "how do I"-style phrase."""
    stripped = title.strip()
    return stripped.endswith("?") or _QUESTION_START.match(stripped.lower()) is not None


def caps_share(text: str) -> float:
    """Share of the cased letters of ``text`` (Latin, Greek, Cyrillic: scripts without case
    do not dilute it) that are capitals; 0 when there are none."""
    return _share(*_case_counts(text))


def _case_counts(text: str) -> tuple[int, int]:
    """Capitals, and letters with case, in ``text``."""
    return sum(map(len, _UPPER_RUN.findall(text))), sum(map(len, _CASED_RUN.findall(text)))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def shouting_spans(
    text: str, allowed: Iterable[str] = (), code: Iterable[str] = ()
) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` written in capitals to shout.

    Capitals are how names are written too, so a capital word counts only when it reads as
    ordinary English: on its own, a word of ``SHOUTED_WORDS`` ("it does NOT work",
    "PLEASE"); in a shouted context (a sentence mostly in capitals, or a run of three or
    more capital words, holding an ordinary word and another word, ordinary or of six
    letters or more), also any ``ORDINARY_WORDS`` and any word of six letters or more.

    Never shouting: a short capital word that is no ordinary word (an acronym, whatever the
    site: RSA, UTXO, CUDA), identifiers (with digits or underscores: SHA256, MAX_SIZE),
    ``ACRONYMS``, the letter runs of ``allowed`` (inline code and tags), the capital words
    of ``code`` (code blocks), a word named as code ("the NOT gate"), and the keywords of a
    sentence that reads as code (SQL, logic gates). Each sentence is read on its own, so
    the counts add up over sentences; linear in the text's length."""
    return _shouting(text, _allowed_names(allowed, code))


def _shouting(text: str, names: frozenset[str]) -> list[tuple[int, int]]:
    """``shouting_spans`` with the allowed names already upper-cased (``_allowed_names``)."""
    if _TWO_CAPITALS.search(text) is None:
        return []  # the usual sentence: at most single capitals
    found: list[tuple[int, int]] = []
    for a, b in split_sentences(text):
        found += _shouting_in(text, a, b, names)
    return found


def _shouting_in(text: str, a: int, b: int, names: frozenset[str]) -> list[tuple[int, int]]:
    """The shouted words of the sentence ``text[a:b]``."""
    caps = list(_CAPS_WORD.finditer(text, a, b))
    if not caps:
        return []
    keys = [m.group().replace("'", "").replace("\u2019", "").lower() for m in caps]
    code = _reads_as_code(text, a, b, caps, keys)
    named = [
        k.upper() in ACRONYMS
        or k.upper() in names
        or (code and k in _CODE_KEYWORDS)
        or _CODE_NOUN.match(text, m.end(), b) is not None
        for m, k in zip(caps, keys, strict=True)
    ]
    ordinary = [not n and len(k) >= 2 and k in _ORDINARY for k, n in zip(keys, named, strict=True)]
    wordy = [o or (not n and len(k) >= 6) for o, n, k in zip(ordinary, named, keys, strict=True)]
    loud = [False] * len(caps)  # in a shouted context
    if not code and any(ordinary) and sum(wordy) >= 2:
        upper, cased = _case_counts(text[a:b])
        if upper > SHOUTED_SENTENCE_CAPS * cased:
            loud = [True] * len(caps)
        else:  # runs of capital words in a calm sentence: "it STILL DOES NOT WORK AT ALL"
            start = 0
            for i in range(1, len(caps) + 1):
                if i < len(caps) and _RUN_GAP.fullmatch(text, caps[i - 1].end(), caps[i].start()):
                    continue
                if i - start >= 3 and any(ordinary[start:i]) and sum(wordy[start:i]) >= 2:
                    loud[start:i] = [True] * (i - start)
                start = i
    return [
        m.span()
        for m, k, n, o, s in zip(caps, keys, named, ordinary, loud, strict=True)
        if not n
        and k != "i"
        and ((len(k) >= 2 and k in _SHOUTED) or (s and (o or k == "a" or len(k) >= 6)))
    ]


def _reads_as_code(text: str, a: int, b: int, caps: list[re.Match[str]], keys: list[str]) -> bool:
    """Whether the sentence ``text[a:b]``, with capital words ``caps`` (lower-cased:
    ``keys``), is code: code-shaped, two logic gates or SQL words, a code-only keyword or
    pair, or a lone keyword on its line ("AND" between lines of a query)."""
    return (
        _CODE_SHAPE.search(text, a, b) is not None
        or len({k for k in keys if k in _LOGIC}) >= 2
        or len({k for k in keys if k in _SQL}) >= 2
        or any(k in _CODE_MARKERS for k in keys)
        or _CODE_PAIR.search(text, a, b) is not None
        or (len(caps) == 1 and keys[0] in _CODE_KEYWORDS and caps[0].span() == (a, b))
    )


def shouting_words(text: str, allowed: Iterable[str] = (), code: Iterable[str] = ()) -> int:
    """How many words ``shouting_spans`` finds."""
    return len(shouting_spans(text, allowed, code))


def phrase_spans(text: str, names: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of the phrases of the lexicons ``names`` (see ``LEXICONS``) in ``text``, as
    ``count_phrases`` finds them, case-insensitive."""
    wanted = set(names)
    # Case-insensitive matching also pairs "I" with the dotless "\u0131" and the dotted "İ",
    # whose lower case is no phrase of the lexicons: count_phrases (on the lower-cased text)
    # does not count those, so neither does this.
    return [
        m.span()
        for m in _LEXICON_ANY_CASE.finditer(text)
        if _LEXICON_OF.get(_SQUEEZE.sub("", m.group().lower())) in wanted
    ]


def repeated_punctuation(text: str) -> int:
    """Runs of two or more "!"/"?" ("!!", "??", "?!", "!!!" count once each)."""
    return len(_REPEATED_PUNCTUATION.findall(text))


def collapse_repeated_punctuation(text: str) -> str:
    """Each run ``repeated_punctuation`` counts, as its first mark."""
    return _REPEATED_PUNCTUATION.sub(lambda m: m.group()[0], text)


def punctuation_marks(text: str) -> int:
    """Prose punctuation marks (. , ; : ! ? … quotes brackets dashes)."""
    return len(_PUNCTUATION.findall(text))


def mentions_error(text: str) -> bool:
    """Whether ``text`` mentions an error, exception, traceback or stack trace (any case),
    including names like ``TypeError`` or ``NullPointerException``."""
    return _ERROR_NAME.search(text) is not None or _ERROR_WORD.search(text.lower()) is not None


# --- one read of a question


@dataclass(frozen=True, slots=True)
class Tally:
    """What the catalog counts in a piece of prose, in a form that adds up. A question's
    counts are defined as the sums over its pieces (the title, each sentence of the body and
    the word-less stretches between them, all split at whitespace), so the counts of the
    question without a sentence are its counts minus that sentence's: the editor's
    leave-one-out highlights need no second read."""

    phrases: Mapping[str, int]
    cased: int  # letters with case (Latin, Greek, Cyrillic)
    upper: int  # of which capitals
    shouting: int
    repeated: int  # runs like "!!"
    punctuation: int
    errors: int  # pieces that mention an error

    def __add__(self, other: Tally) -> Tally:
        return self._combine(other, 1)

    def __sub__(self, other: Tally) -> Tally:
        return self._combine(other, -1)

    def _combine(self, other: Tally, sign: int) -> Tally:
        return Tally(
            {k: v + sign * other.phrases[k] for k, v in self.phrases.items()},
            self.cased + sign * other.cased,
            self.upper + sign * other.upper,
            self.shouting + sign * other.shouting,
            self.repeated + sign * other.repeated,
            self.punctuation + sign * other.punctuation,
            self.errors + sign * other.errors,
        )


def _allowed_names(allowed: Iterable[str], code: Iterable[str] = ()) -> frozenset[str]:
    """Names, not shouting, upper-cased: the letter runs of ``allowed`` (inline code and
    tags) and the capital words of ``code`` (code blocks)."""
    runs = frozenset(run.upper() for s in allowed for run in _LETTER_RUN.findall(s))
    return runs | _code_names(tuple(code))


@functools.lru_cache(maxsize=256)
def _code_names(code: tuple[str, ...]) -> frozenset[str]:
    """The capital words of code blocks (a question's what-ifs share its blocks: read once)."""
    return frozenset(w for block in code for w in _CODE_CAPITALS.findall(block))


def tally(text: str, names: frozenset[str] = frozenset()) -> Tally:
    """The counts of one piece of prose; ``names`` from ``_allowed_names``."""
    upper, cased = _case_counts(text)
    return Tally(
        phrases=count_phrases(text),
        cased=cased,
        upper=upper,
        shouting=len(_shouting(text, names)),
        repeated=repeated_punctuation(text),
        punctuation=punctuation_marks(text),
        errors=int(mentions_error(text)),
    )


@dataclass(frozen=True, slots=True)
class QuestionProfile:
    """What the catalog's features are computed from: the question plus each scan of its
    text done once. Phrase, tone and error counts are over title and body prose together."""

    question: Question
    title_words: int
    body: ProseStats
    phrases: Mapping[str, int]
    caps_share: float
    shouting_words: int
    repeated_punctuation: int
    body_punctuation: int
    has_error_text: bool


@dataclass(frozen=True)
class QuestionParts:
    """A question read piece by piece: its profile, and the profile of the question without
    any run of its sentences, from the same read."""

    question: Question
    names: frozenset[str]  # not shouting: from inline code, tags and code blocks
    title_words: int
    title: Tally
    sentences: list[tuple[int, int, list[str]]]  # (start, end, words) in body.text
    sentence_tallies: list[Tally]
    sentence_syllables: list[int]
    gaps: list[tuple[int, int, Tally]]  # the word-less stretches between sentences
    body: Tally  # every piece of the body

    def profile(self) -> QuestionProfile:
        return self._profile(self.question, self.body, range(0))

    def retitled(self, question: Question) -> QuestionParts:
        """The parts of ``question``: this one under another title (same body and tags)."""
        return replace(
            self,
            question=question,
            title_words=len(words(question.title)),
            title=tally(question.title, self.names),
        )

    def profile_without(self, first: int, last: int, variant: Question) -> QuestionProfile:
        """The profile of ``variant``: the question without sentences ``first..last``."""
        if not self._junction_holds(first, last):
            # The sentence before now ends differently ("... then" reads on in lower case):
            # read the variant whole, so the fast path always equals the reference.
            return profile_question(variant)
        removed = range(first, last + 1)
        body = self.body
        for i in removed:
            body = body - self.sentence_tallies[i]
        start, end = self.sentences[first][0], self.sentences[last][1]
        for a, b, gap in self.gaps:  # a passage's own gaps go with it ("......")
            if start <= a and b <= end:
                body = body - gap
        return self._profile(variant, body, removed)

    def _junction_holds(self, first: int, last: int) -> bool:
        """Whether the sentences around a removed run stay the sentences they were. Whether
        a sentence ends at "..." or "etc." depends on what follows it, so the neighbours are
        split again, locally, as the variant joins them (``leave_one_out.without``)."""
        if first == 0 or last + 1 >= len(self.sentences):
            return True  # nothing before, or nothing after: no neighbour to rejoin
        text = self.question.body.text
        a_prev, b_prev, _ = self.sentences[first - 1]
        start, end = self.sentences[first][0], self.sentences[last][1]
        a_next, b_next, _ = self.sentences[last + 1]
        tail = text[end:b_next].lstrip()
        window = text[a_prev:start] + tail
        offset = start - a_prev + (a_next - (b_next - len(tail)))
        expected = [(0, b_prev - a_prev), (offset, len(window))]
        return [(a, b) for a, b, _ in _sentences(window)] == expected

    def _profile(self, question: Question, body: Tally, removed: range) -> QuestionProfile:
        kept = [i for i in range(len(self.sentences)) if i not in removed]
        both = self.title + body
        return QuestionProfile(
            question=question,
            title_words=self.title_words,
            body=_prose(
                len(question.body.text),
                [self.sentences[i][2] for i in kept],
                [self.sentence_syllables[i] for i in kept],
            ),
            phrases=both.phrases,
            caps_share=_share(both.upper, both.cased),
            shouting_words=both.shouting,
            repeated_punctuation=both.repeated,
            body_punctuation=body.punctuation,
            # A quote in a question is most often the error message itself.
            has_error_text=bool(question.body.quotes)
            or both.errors > 0
            or any(map(mentions_error, question.body.code_blocks)),
        )


def question_parts(
    question: Question, memo: dict[tuple[str, frozenset[str]], Tally] | None = None
) -> QuestionParts:
    """Read ``question`` once, piece by piece. ``memo`` keeps each piece's tally for other
    reads in the same request: a what-if shares most of its sentences with the question."""
    body = question.body
    names = _allowed_names((*body.inline_code, *question.tags), body.code_blocks)
    text = body.text
    memo = {} if memo is None else memo

    def counted(piece: str) -> Tally:
        found = memo.get((piece, names))
        if found is None:
            found = memo[piece, names] = tally(piece, names)
        return found

    sentences = _sentences(text)
    tallies = [counted(text[a:b]) for a, b, _ in sentences]
    gaps = [(a, b, counted(text[a:b])) for a, b in _gaps(text, sentences)]
    total = tally("", names)
    for piece in (*tallies, *(t for _, _, t in gaps)):
        total = total + piece
    return QuestionParts(
        question=question,
        names=names,
        title_words=len(words(question.title)),
        title=counted(question.title),
        sentences=sentences,
        sentence_tallies=tallies,
        sentence_syllables=[count_syllables(found) for _, _, found in sentences],
        gaps=gaps,
        body=total,
    )


def _gaps(text: str, sentences: list[tuple[int, int, list[str]]]) -> Iterator[tuple[int, int]]:
    """The stretches between sentences that hold more than whitespace ("--", "!!!")."""
    start = 0
    for a, b in (*((a, b) for a, b, _ in sentences), (len(text), len(text))):
        if text[start:a].strip():
            yield start, a
        start = b


def profile_question(question: Question) -> QuestionProfile:
    """Read ``question`` once for every feature; total on any question."""
    return question_parts(question).profile()
