"""HTML post bodies → plain prose plus the structure that matters for question quality.

Stack Exchange stores bodies as sanitised HTML. Code is one of the strongest quality signals
on these sites, so code blocks, inline code, links, images, lists and quotes are extracted and
counted separately instead of vanishing into (or polluting) the prose. The scan itself is the
C extension ``askwell.data._html`` (ingestion handles millions of bodies, and serving scores
every keystroke); this module is its typed face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from askwell.data._html import extract

__all__ = [
    "BODY_PART_NAMES",
    "BodyParts",
    "extract_bodies",
    "html_to_parts",
    "lone_surrogate",
    "parse_tags",
]


@dataclass(frozen=True, slots=True)
class BodyParts:
    """What a post body is made of.

    - ``text``: the readable prose. Code blocks (``<pre>``) are removed: they are in
      ``code_blocks``. Inline code stays inline, as it reads as part of a sentence, and is
      also in ``inline_code``. Quotes stay (they are prose too) and are also in ``quotes``
      (outermost ``<blockquote>`` only, whitespace collapsed).
    - Blocks (paragraphs, headings, lists, quotes, code blocks) are separated by a blank line,
      line breaks and list items by a newline; other runs of ASCII whitespace become one
      space; entities are decoded exactly as ``html.unescape`` does.
    - ``code_blocks`` keep their whitespace (leading and trailing newlines dropped).
    - ``links`` are the ``href`` of each ``<a>`` that has one; ``images`` the ``src`` of
      each ``<img>`` ("" when it has none), in document order.
    - Counts are of opening tags: ``<ul>``/``<ol>``, ``<li>``, ``<p>``, ``<blockquote>``.
    """

    text: str
    code_blocks: tuple[str, ...]
    inline_code: tuple[str, ...]
    links: tuple[str, ...]
    images: tuple[str, ...]
    quotes: tuple[str, ...]
    n_lists: int
    n_list_items: int
    n_paragraphs: int
    n_blockquotes: int


BODY_PART_NAMES: tuple[str, ...] = BodyParts.__slots__
_EMPTY = ("", (), (), (), (), (), 0, 0, 0, 0)


def html_to_parts(body: str | None) -> BodyParts:
    """Split one HTML body into prose and its structural parts; total on any input."""
    return BodyParts(*(extract(body) if body else _EMPTY))


def extract_bodies(bodies: Sequence[str | None]) -> dict[str, list[Any]]:
    """``html_to_parts`` for many bodies, as columns named by ``BODY_PART_NAMES``."""
    rows = [extract(b) if b else _EMPTY for b in bodies]
    return {name: [r[k] for r in rows] for k, name in enumerate(BODY_PART_NAMES)}


def lone_surrogate(text: str) -> int | None:
    """The position of the first lone surrogate in ``text`` (JSON can carry "\\ud800": no
    character, and no database or file encoding stores it), or None."""
    return next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)


def parse_tags(value: str | None) -> list[str]:
    """Tags as a list from either dump spelling: ``<a><b>`` (classic) or ``|a|b|`` (2024+)."""
    if not value:
        return []
    value = value.strip()
    if value.startswith("<"):
        return [t for t in value[1:-1].split("><") if t] if value.endswith(">") else []
    return [t for t in value.strip("|").split("|") if t]
