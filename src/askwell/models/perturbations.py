"""Edits of a real question for the behavioural checks (``askwell.models.behaviour``): each
takes a question and its place in the batch, and returns the edited question, or None where
the edit does not apply to it.

- ``DIRECTIONAL``: edits that make a question worse (its code removed, the question itself
  removed, a plea for help in place of its body): the original must be judged better.
- ``INVARIANT``: edits that change nothing about how well it is asked (an identifier of its
  code renamed everywhere, its tags in another order, a number in its code changed, a typo
  in one word of its prose): the judgement must barely move.

They edit the parsed question (``Question``: the prose with code blocks taken out, the code
blocks, inline code, tags), not its Markdown: a dataset's test part holds parsed questions
only (an ingested dump keeps no body HTML), and the parser has already told code from prose.
On the behavioural suite's 800 real open questions, re-parsing the edited Markdown gives the
same question for 438 of the 441 whose code was removed and 562 of the 603 whose question
was removed (the rest differ in a count or a link, since which block a sentence stood in is
not kept, or in a sentence one reading finds and the other misses).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable

from askwell.records import Question

Edit = Callable[[Question, int], Question | None]

PLEAS = (
    "Please help, it doesn't work!!!",
    "plz fix urgent",
    "Can anyone give me the code? Thanks",
    "help me plz, i need this working today!!",
)

# A sentence ends at ".", "!" or "?" (and any closing quotes, brackets or emphasis after it)
# followed by white space; a line break ends one too.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]*_])\s+")
_TRAILING = " \t\"')]*_"
# A title that asks: a wh-word or "How do I", "Is it possible to", "Can I"… at its start
# (after an optional "Python: " prefix). What the edit strips to leave a statement.
_ASKING = re.compile(
    r"""^(?P<prefix>[^:?]{1,40}:\s+)?
    (?:
        (?:how|what|why|when|where|which|who)(?:'s|\s+is|\s+are|\s+do|\s+does|\s+did|\s+can
            |\s+could|\s+should|\s+would|\s+will|\s+to)?
        (?:\s+(?:i|we|you|one|it|they))?
      | is\s+(?:it\s+possible|there\s+(?:a|any)\s+(?:way|method|function))\s+to
      | (?:can|could|should|would|do|does|did|is|are)\s+(?:i|we|you|one|it)
    )\b[\s,]*""",
    re.IGNORECASE | re.VERBOSE,
)
# A name assigned to at the start of a code line (``x = …``, ``int count = …``,
# ``$total = …``), not compared (``==``): a variable of the question's own code.
_ASSIGNED = re.compile(
    r"^[ \t]*(?:(?:var|let|const|my|[A-Za-z_][\w<>\[\],]*)[ \t]+)?\$?([A-Za-z_]\w*)[ \t]*=(?!=)",
    re.MULTILINE,
)
# A name that reads as an identifier, not as an English word of the prose around it: with
# an underscore or a digit, in camelCase, or short and lower-case (``df``, ``arr``).
_IDENTIFIER_LIKE = re.compile(r"\w*[_\d]\w*|[a-z]+[A-Z]\w*|[a-z]{2,3}")
_PROSE_WORDS = frozenset(
    re.findall(
        r"\w+",
        "an as at be by do go he if in is it me my no of on or so to up us we "
        "all and any are but can for get has how its let new not now one out put run see set "
        "the two use was way why yes you",
    )
)
NEW_NAMES = ("result", "items", "value", "output", "thing")
_NUMBER = re.compile(r"(?<![\w.])[1-9]\d{0,5}(?![\w.])")
_WORD = re.compile(r"(?<![\w'`])[a-z]{6,}(?![\w'`])")


# -- the edits' text operations ----------------------------------------------------------------


def _is_question(sentence: str) -> bool:
    return sentence.rstrip(_TRAILING).endswith("?")


def _without_questions(line: str) -> str:
    sentences = _SENTENCE_END.split(line)
    return " ".join(s for s in sentences if s.strip() and not _is_question(s))


def remove_question_sentences(text: str) -> str | None:
    """Prose without its sentences that end in "?" (None where it has none). A line left
    empty is dropped, and a block left empty with it."""
    out: list[str] = []
    changed = False
    for line in text.split("\n"):
        if "?" in line:
            kept = _without_questions(line)
            if kept.strip() != line.strip():
                changed = True
                if not kept.strip():
                    continue
                indent = line[: len(line) - len(line.lstrip())]
                line = indent + kept.strip()
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n") if changed else None


def title_as_statement(title: str) -> str | None:
    """A title that asks, turned into one that does not: "How do I parse X?" becomes
    "parse X" (None where the title does not ask)."""
    stripped = title.strip()
    match = _ASKING.match(stripped)
    if not stripped.endswith("?") and not match:
        return None
    statement = stripped
    if match and match.end() < len(stripped):
        statement = (match["prefix"] or "") + stripped[match.end() :]
    statement = statement.replace("?", "").strip(" ,")
    return statement or None


def plea(index: int) -> str:
    """A plea for help in place of a body, rotating among a few as people type them."""
    return PLEAS[index % len(PLEAS)]


def _blocks(text: str) -> int:
    return sum(1 for block in text.split("\n\n") if block.strip())


def _still_in(parts: tuple[str, ...], text: str) -> tuple[str, ...]:
    """Those of ``parts`` that ``text`` still holds, each as often as it still holds it."""
    kept: list[str] = []
    used: Counter[str] = Counter()
    for part in parts:
        if text.count(part) > used[part]:
            used[part] += 1
            kept.append(part)
    return tuple(kept)


# -- directional: each makes a question worse ----------------------------------------------------


def without_code(question: Question, _: int) -> Question | None:
    """Every code block removed (the prose, inline code included, as it was)."""
    if not question.body.code_blocks:
        return None
    return dataclasses.replace(question, body=dataclasses.replace(question.body, code_blocks=()))


def without_the_question(question: Question, _: int) -> Question | None:
    """The question removed: the sentences asking it from the prose and the asking from the
    title (None where neither asks)."""
    body, text = question.body, remove_question_sentences(question.body.text)
    statement = title_as_statement(question.title)
    if text is None and statement is None:
        return None
    if text is not None:
        collapsed = " ".join(text.split())
        body = dataclasses.replace(
            body,
            text=text,
            inline_code=_still_in(body.inline_code, text),
            quotes=tuple(q for q in body.quotes if q in collapsed),
            n_paragraphs=max(0, body.n_paragraphs - (_blocks(body.text) - _blocks(text))),
        )
    return dataclasses.replace(question, title=statement or question.title, body=body)


def a_plea_instead(question: Question, index: int) -> Question | None:
    """A plea for help in place of the body (the title and tags kept)."""
    return dataclasses.replace(question, body=Question.from_markdown("", plea(index)).body)


DIRECTIONAL: dict[str, Edit] = {
    "without-code": without_code,
    "without-the-question": without_the_question,
    "a-plea-instead": a_plea_instead,
}


# -- invariant: each changes nothing about how well a question is asked ----------------------


def _assigned_name(question: Question) -> str | None:
    """The first variable the question's code assigns to that cannot be mistaken for a word
    of its prose: it reads as an identifier, or the prose never uses it."""
    for code in question.body.code_blocks:
        for match in _ASSIGNED.finditer(code):
            name = match[1]
            if len(name) < 2 or name.lower() in _PROSE_WORDS:
                continue
            if _IDENTIFIER_LIKE.fullmatch(name) or not _whole_word(name).search(question.body.text):
                return name
    return None


def _whole_word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


def identifier_renamed(question: Question, _: int) -> Question | None:
    """A variable of the question's code renamed everywhere it appears (code blocks, inline
    code, prose, title) to a name the question does not use."""
    name = _assigned_name(question)
    if name is None:
        return None
    body = question.body
    everything = "\n".join((question.title, body.text, *body.code_blocks)).lower()
    new = next((n for n in NEW_NAMES if n not in everything), None)
    if new is None:
        return None
    word = _whole_word(name)

    def rename(text: str) -> str:
        return word.sub(new, text)

    return dataclasses.replace(
        question,
        title=rename(question.title),
        body=dataclasses.replace(
            body,
            text=rename(body.text),
            code_blocks=tuple(rename(c) for c in body.code_blocks),
            inline_code=tuple(rename(c) for c in body.inline_code),
        ),
    )


def tags_reversed(question: Question, _: int) -> Question | None:
    """The same tags in reverse order."""
    if len(question.tags) < 2:
        return None
    return dataclasses.replace(question, tags=question.tags[::-1])


def number_in_code_changed(question: Question, _: int) -> Question | None:
    """The first number in the question's code (a line number of an error, a size, a
    value) changed to another one."""
    blocks = list(question.body.code_blocks)
    for i, code in enumerate(blocks):
        match = _NUMBER.search(code)
        if match:
            number = str(int(match[0]) + 7)
            blocks[i] = code[: match.start()] + number + code[match.end() :]
            body = dataclasses.replace(question.body, code_blocks=tuple(blocks))
            return dataclasses.replace(question, body=body)
    return None


def typo_in_prose(question: Question, _: int) -> Question | None:
    """Two letters swapped in the middle of the prose's first long word (one that no
    inline code holds): "received" becomes "recieved"."""
    body = question.body
    for match in _WORD.finditer(body.text):
        word = match[0]
        middle = len(word) // 2
        if word[middle - 1] == word[middle] or any(word in c for c in body.inline_code):
            continue
        typo = word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
        text = body.text[: match.start()] + typo + body.text[match.end() :]
        return dataclasses.replace(question, body=dataclasses.replace(body, text=text))
    return None


INVARIANT: dict[str, Edit] = {
    "identifier-renamed": identifier_renamed,
    "tags-reversed": tags_reversed,
    "number-in-code-changed": number_in_code_changed,
    "typo-in-prose": typo_in_prose,
}
