"""Edits that make a real question worse, for the perturbation tests: each returns the
perturbed Markdown (or title), or None where the edit does not apply to the question.

Code blocks and prose are found with a CommonMark parser (markdown-it-py, which askwell's own
Markdown reader uses), so code inside lists and quotes is found and prose inside code is not
mistaken for sentences.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt

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


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True})


def _lines(markdown: str) -> list[str]:
    return markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _code_ranges(lines: list[str]) -> list[tuple[int, int]]:
    """Line ranges [start, end) of indented and fenced code blocks, and of raw HTML blocks
    holding ``<pre>``."""
    ranges = []
    for token in _parser().parse("\n".join(lines)):
        if token.map is None:
            continue
        if token.type in ("code_block", "fence") or (
            token.type == "html_block" and "<pre" in token.content.lower()
        ):
            ranges.append((token.map[0], token.map[1]))
    return ranges


def _prose_lines(lines: list[str]) -> set[int]:
    """Lines that hold prose (paragraphs, headings, list items, quotes), never code."""
    prose: set[int] = set()
    for token in _parser().parse("\n".join(lines)):
        if token.type == "inline" and token.map is not None:
            prose.update(range(token.map[0], token.map[1]))
    return prose


def has_code(markdown: str) -> bool:
    return bool(_code_ranges(_lines(markdown)))


def remove_code(markdown: str) -> str | None:
    """Every code block removed (None where there is none)."""
    lines = _lines(markdown)
    ranges = _code_ranges(lines)
    if not ranges:
        return None
    dropped = {i for start, end in ranges for i in range(start, end)}
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)


def _is_question(sentence: str) -> bool:
    return sentence.rstrip(_TRAILING).endswith("?")


def _without_questions(line: str) -> str:
    sentences = _SENTENCE_END.split(line)
    return " ".join(s for s in sentences if s.strip() and not _is_question(s))


def remove_question_sentences(markdown: str) -> str | None:
    """The body without its sentences that end in "?" (None where it has none); code is
    left as it is. A line left empty is dropped, so no prose turns into anything else."""
    lines = _lines(markdown)
    prose = _prose_lines(lines)
    out: list[str] = []
    changed = False
    for i, line in enumerate(lines):
        if i in prose and "?" in line:
            kept = _without_questions(line)
            if kept.strip() != line.strip():
                changed = True
                if not kept.strip():
                    continue
                indent = line[: len(line) - len(line.lstrip())]
                line = indent + kept.strip()
        out.append(line)
    return "\n".join(out) if changed else None


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


def remove_questions(title: str, markdown: str) -> tuple[str, str] | None:
    """The question removed: the sentences asking it from the body and the asking from the
    title (None where neither asks)."""
    body = remove_question_sentences(markdown)
    statement = title_as_statement(title)
    if body is None and statement is None:
        return None
    return (statement or title, markdown if body is None else body)


def plea(index: int) -> str:
    """A plea for help in place of a body, rotating among a few as people type them."""
    return PLEAS[index % len(PLEAS)]
