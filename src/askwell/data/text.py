"""HTML post bodies → plain prose plus the structure that matters for question quality.

Stack Exchange stores bodies as sanitised HTML. Code is one of the strongest quality signals
on these sites, so code blocks, inline code, links, images, lists and quotes are extracted and
counted separately instead of vanishing into (or polluting) the prose.

The work is done by a handful of compiled regular expressions rather than a DOM: bodies are a
sanitised subset of HTML, ingestion handles millions of them, and a DOM build per body costs
several times more (bench/ingest). ``html_to_parts`` is total: any string yields parts.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

__all__ = ["BodyParts", "html_to_parts", "parse_tags"]

# Tag names are matched in lower case, as the Stack Exchange sanitiser writes them.
_FLAGS = re.S
# Sanitised bodies escape ">" inside attribute values, so a tag ends at the first ">".
_ATTRS = r"[^>]*"
_PRE = re.compile(rf"<pre\b{_ATTRS}>(.*?)(?:</pre\s*>|\Z)", _FLAGS)
_CODE = re.compile(rf"<code\b{_ATTRS}>(.*?)(?:</code\s*>|\Z)", _FLAGS)
_QUOTE_TAG = re.compile(rf"<(/?)blockquote\b{_ATTRS}>", _FLAGS)
_A = re.compile(rf"<a\s{_ATTRS}>", _FLAGS)
_IMG = re.compile(rf"<img\b{_ATTRS}>", _FLAGS)
_COUNTED = re.compile(r"<(ul|ol|li|p|blockquote)(?=[\s>/])")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_BLOCK_NAMES = (
    "p|div|h[1-6]|ul|ol|blockquote|pre|table|tr|thead|tbody|dl|dt|dd|hr|section|article"
    "|aside|header|footer|figure|figcaption|details|summary"
)
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK_NAMES})(?![A-Za-z0-9]){_ATTRS}>", _FLAGS)
_LINE_TAG = re.compile(rf"</?(?:br|li|td|th)(?![A-Za-z0-9]){_ATTRS}>", _FLAGS)
_ANY_TAG = re.compile(
    rf"<(?:/?[A-Za-z][A-Za-z0-9]{{0,20}}{_ATTRS}>|!--.*?-->|!\[CDATA\[.*?\]\]>|[!?][^>]{{0,4000}}>)",
    re.S,
)
# Private-use characters stand for block and line breaks while tags are stripped.
_PARA, _LINE = "\ue000", "\ue001"


@dataclass(frozen=True, slots=True)
class BodyParts:
    """What a post body is made of.

    ``text`` is the readable prose: code blocks removed (they are in ``code_blocks``), inline
    code kept inline (it reads as part of a sentence), quotes kept (they are prose too, and
    also listed in ``quotes``). Blocks are separated by a blank line, line breaks and list
    items by a newline, and runs of whitespace inside a line collapse to one space.
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


def _unescape(s: str) -> str:
    return html.unescape(s) if "&" in s else s


def _plain(fragment: str) -> str:
    """Tags dropped, entities decoded, whitespace kept as it was (for code)."""
    return _unescape(_ANY_TAG.sub("", fragment))


def _attr_values(tag_re: re.Pattern[str], attr_re: re.Pattern[str], body: str) -> list[str]:
    values = []
    for tag in tag_re.finditer(body):
        m = attr_re.search(tag.group(0))
        values.append(_unescape(next((g for g in m.groups() if g is not None), "")) if m else "")
    return values


def _quotes(body: str) -> list[str]:
    """Text of each outermost blockquote (nested quotes belong to their parent)."""
    quotes, depth, start = [], 0, 0
    for m in _QUOTE_TAG.finditer(body):
        if not m.group(1):
            if depth == 0:
                start = m.end()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                quotes.append(body[start : m.start()])
    if depth:
        quotes.append(body[start:])
    flat = (" ".join(_plain(_LINE_TAG.sub(" ", _BLOCK_TAG.sub(" ", q))).split()) for q in quotes)
    return [q for q in flat if q]


def _prose(body: str) -> str:
    text = " ".join(_plain(_LINE_TAG.sub(_LINE, _BLOCK_TAG.sub(_PARA, body))).split())
    # str methods run in C; whitespace and break-run regexes were the slowest steps here.
    for mark in (_PARA, _LINE):
        text = text.replace(" " + mark, mark).replace(mark + " ", mark)
    paragraphs = []
    for block in text.split(_PARA):
        lines = [line for line in block.split(_LINE) if line]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def parse_tags(value: str | None) -> list[str]:
    """Tags as a list from either dump spelling: ``<a><b>`` (classic) or ``|a|b|`` (2024+)."""
    if not value:
        return []
    value = value.strip()
    if value.startswith("<"):
        return [t for t in value[1:-1].split("><") if t] if value.endswith(">") else []
    return [t for t in value.strip("|").split("|") if t]


def html_to_parts(body: str | None) -> BodyParts:
    """Split an HTML body into prose and its structural parts; total on any input."""
    if not body:
        return _EMPTY
    if _PARA in body or _LINE in body:
        body = body.replace(_PARA, "").replace(_LINE, "")
    if "<" not in body:
        return BodyParts(_prose(body), (), (), (), (), (), 0, 0, 0, 0)
    code_blocks = []
    for m in _PRE.finditer(body):
        block = _plain(m.group(1)).strip("\n")
        if block.strip():
            code_blocks.append(block)
    rest = _PRE.sub(_PARA, body) if "<pre" in body else body
    # Substring tests are C-fast and skip whole regex passes on the typical body.
    inline = (
        [s for s in (_plain(m.group(1)) for m in _CODE.finditer(rest)) if s.strip()]
        if "<code" in rest
        else []
    )
    counts = {"ul": 0, "ol": 0, "li": 0, "p": 0, "blockquote": 0}
    for name in _COUNTED.findall(rest):
        counts[name] += 1
    return BodyParts(
        text=_prose(rest),
        code_blocks=tuple(code_blocks),
        inline_code=tuple(inline),
        links=tuple(_attr_values(_A, _HREF, rest)) if "<a" in rest else (),
        images=tuple(_attr_values(_IMG, _SRC, rest)) if "<img" in rest else (),
        quotes=tuple(_quotes(rest)) if counts["blockquote"] else (),
        n_lists=counts["ul"] + counts["ol"],
        n_list_items=counts["li"],
        n_paragraphs=counts["p"],
        n_blockquotes=counts["blockquote"],
    )


_EMPTY = BodyParts("", (), (), (), (), (), 0, 0, 0, 0)
