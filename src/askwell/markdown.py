"""Stack Exchange-style Markdown, as a person types it in the editor, to the HTML askwell
reads (``askwell.data.text.html_to_parts``): CommonMark, parsed by markdown-it-py.

What Stack Overflow's Markdown of 2008-2012 uses comes out as the site showed it: indented
and fenced code blocks, inline code, lists, block quotes, headings, emphasis, inline and
``[text][1]`` reference links and images. Where the site's converter (Markdown.pl's rules)
differs from CommonMark, askwell reads the text as the site did: tabs are spaces to the next
multiple of 4 and a line of only spaces is empty (so code keeps no stray whitespace), a link
definition (``  [1]: http://…``) counts even right under a line of text (67 of the 44,506
closed-questions sample's bodies), and a bare ``http://``, ``https://`` or ``ftp://``
address in the text is a link (3,208).

Raw HTML follows Stack Exchange's whitelist (``<b>``, ``<br>``, ``<pre>``, ``<code>``,
``<kbd>``, ``<a href>``, ``<img src>``…; attributes only where the site keeps them, links only
with a safe scheme). Any other tag stays *text*, escaped, where the site would drop it: what
was typed stays visible, and nothing typed can become markup (``<script>`` reaches the prose
as the characters ``<script>``). Comments are dropped, so the site's
``<!-- language: lang-js -->`` hints never show up as prose.

Bounded on hostile input (this runs on every keystroke of the editor): block and inline
nesting stop at ``_MAX_NESTING`` levels (deeper content is dropped, so the parser's recursion
is bounded and RecursionError cannot happen), and brackets are budgeted: a ``[`` costs the
parser a link attempt, so beyond ``_BRACKET_BUDGET`` of them in a body the paragraphs that
hold the most are read without links and images. Work is then linear in the text; and so
that it stays small, markup characters are budgeted too (``*``, ``_``, ``[``, ``<`` and
backticks each start a delimiter run or an attempt at one, 8 µs apiece in Python): beyond
``_MARKUP_BUDGET`` of them, the paragraphs holding the most are read as plain text, every
character kept.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

__all__ = ["to_html"]

_log = logging.getLogger(__name__)

# Levels of block and inline nesting (a list item in a list in a quote is 3 to 5 levels):
# far more than any real post uses (every question of the closed-questions sample renders the
# same at 100), few enough that the parser's recursion stays a few hundred frames deep.
_MAX_NESTING = 20
# Link attempts per body: each "[" costs the inline parser ~20 µs (50 kB of "[" took 0.8 s),
# real questions hold a few hundred at most (507 in the closed-questions sample).
_BRACKET_BUDGET = 5000
# Markup characters per body parsed as markup (a 2,000-character question holds a few dozen):
# beyond it, 50 kB of "*a" cost 0.4 s to parse, eight times scoring a normal question.
_MARKUP_BUDGET = 5000
_MARKUP_CHARS = ("*", "_", "[", "<", "`")
_BUDGETS = "askwell_budgets"  # the key of (brackets, markup) in the parser's env

# Stack Exchange's HTML whitelist (its Markdown sanitizer), and the attributes it keeps.
_ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2", "h3",
        "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strike", "strong", "sub", "sup",
        "ul",
    }
)  # fmt: skip
_VOID_TAGS = frozenset({"br", "hr", "img"})
_ALLOWED_ATTRS = {
    "a": ("href", "title"),
    "img": ("src", "width", "height", "alt", "title"),
    "ol": ("start",),
}
_URL_ATTRS = frozenset({"href", "src"})
# A comment opener, or a start or end tag; "[^<>]*" keeps every scan linear.
_MARKUP = re.compile(r"<!--|<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])([^<>]*)>")
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_LINK_OPEN = re.compile(r"<a[\s>]", re.IGNORECASE)
_LINK_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)

# A whole line that is a link definition: [label]: url "optional title".
_DEFINITION = re.compile(
    r""" {0,3}\[[^\]\n]+\]:[ \t]*(?:<[^>\n]*>|\S+)"""
    r"""(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*"""
)
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+")
_TRAILING = ".,;:!?*"  # ends a sentence, not an address


def to_html(markdown: str, *, brackets: int = _BRACKET_BUDGET, markup: int = _MARKUP_BUDGET) -> str:
    """The body's HTML; never fails, whatever the text. ``brackets`` and ``markup`` replace
    the budgets (``_BRACKET_BUDGET``, ``_MARKUP_BUDGET``) for a caller that reads less text
    and can afford less work on it (the API's scoring, ``explain.predictor.read``)."""
    try:
        env = {_BUDGETS: (brackets, markup)}
        return str(_parser().render(_as_the_site_read_it(markdown), env))
    except Exception:  # a parser bug must not fail a request: keep every character as text
        _log.warning("Markdown could not be parsed; read as plain text", exc_info=True)
        return "<p>" + html.escape(markdown) + "</p>"


@functools.cache
def _parser() -> MarkdownIt:
    md = _commonmark()
    md.core.ruler.at("inline", _inline_within_budget)
    md.core.ruler.push("bare_urls", _link_bare_urls)
    md.add_render_rule("html_block", _render_html)
    md.add_render_rule("html_inline", _render_html)
    return md


@functools.cache
def _parser_without_links() -> MarkdownIt:
    """The inline rules less links and images, for bracket-laden paragraphs."""
    return _commonmark().disable(["link", "image"])


def _commonmark() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "maxNesting": _MAX_NESTING})


def _as_the_site_read_it(text: str) -> str:
    """Markdown.pl's first steps: tabs expanded to stops of 4, lines of only spaces emptied;
    and a blank line above each link definition that sits right under other text (outside
    fenced code): the site read definitions anywhere, CommonMark only as a block's start."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    lines = [line if line.strip(" ") else "" for line in lines]
    if "]:" not in text:
        return "\n".join(lines)
    out: list[str] = []
    fence = ""
    after_text = False  # the line above is text that a definition would continue
    for line in lines:
        opening = _FENCE.match(line)
        if fence:
            if (
                opening
                and opening[1][0] == fence[0]
                and len(opening[1]) >= len(fence)
                and not line[opening.end() :].strip()
            ):
                fence = ""
        elif opening:
            fence = opening[1]
        elif _DEFINITION.fullmatch(line):
            if after_text:
                out.append("")
            out.append(line)
            after_text = False
            continue
        out.append(line)
        after_text = bool(line.strip()) and not fence
    return "\n".join(out)


def _inline_within_budget(state: StateCore) -> None:
    """markdown-it's core ``inline`` rule, except that when the body holds more than
    ``_BRACKET_BUDGET`` brackets, its most bracket-laden paragraphs are parsed without
    links and images until the rest fit; and when it holds more than ``_MARKUP_BUDGET``
    markup characters, the paragraphs holding the most are plain text until the rest fit
    (or the budgets given to ``to_html``)."""
    brackets, markup = state.env.get(_BUDGETS, (_BRACKET_BUDGET, _MARKUP_BUDGET))
    inline = [t for t in state.tokens if t.type == "inline"]
    text = _over_budget(inline, lambda s: sum(map(s.count, _MARKUP_CHARS)), markup)
    unlinked = _over_budget(inline, lambda s: s.count("["), brackets)
    for i, token in enumerate(inline):
        if token.children is None:
            token.children = []
        if i in text:
            plain = Token("text", "", 0)
            plain.content = token.content
            token.children.append(plain)
            continue
        md = _parser_without_links() if i in unlinked else state.md
        md.inline.parse(token.content, md, state.env, token.children)


def _over_budget(inline: list[Token], cost: Callable[[str], int], budget: int) -> set[int]:
    """The paragraphs to take out, costliest first, until the others fit ``budget``."""
    costs = [cost(t.content) for t in inline]
    out: set[int] = set()
    total = sum(costs)
    for i in sorted(range(len(inline)), key=lambda i: -costs[i]):
        if total <= budget:
            break
        out.add(i)
        total -= costs[i]
    return out


def _link_bare_urls(state: StateCore) -> None:
    """Bare addresses in the text (not in code, not already in a link) become links."""
    for block in state.tokens:
        if block.type != "inline" or not block.children or "://" not in block.content:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open" or (
                token.type == "html_inline" and _LINK_OPEN.match(token.content)
            ):
                in_link += 1
            elif token.type == "link_close" or (
                token.type == "html_inline" and _LINK_CLOSE.match(token.content)
            ):
                in_link = max(0, in_link - 1)
            if token.type == "text" and not in_link and "://" in token.content:
                children.extend(_split_urls(token, state.md))
            else:
                children.append(token)
        block.children = children


def _split_urls(token: Token, md: MarkdownIt) -> Iterator[Token]:
    text, at = token.content, 0
    for m in _BARE_URL.finditer(text):
        url = m[0].rstrip(_TRAILING)
        # "(see http://x.com/a_(b))": the last ")" is the text's, not the address's.
        end, unmatched = len(url), url.count(")") - url.count("(")
        while unmatched > 0 and url[end - 1] == ")":
            end, unmatched = end - 1, unmatched - 1
            while url[end - 1] in _TRAILING:
                end -= 1
        url = url[:end]
        href = md.normalizeLink(url)
        if url.endswith("://") or not md.validateLink(href):
            continue
        if m.start() > at:
            yield _token("text", "", 0, token.level, text[at : m.start()])
        link = _token("link_open", "a", 1, token.level)
        link.attrs = {"href": href}
        yield link
        yield _token("text", "", 0, token.level + 1, md.normalizeLinkText(url))
        yield _token("link_close", "a", -1, token.level)
        at = m.start() + len(url)
    if at < len(text):
        yield _token("text", "", 0, token.level, text[at:])


def _token(
    type_: str, tag: str, nesting: Literal[-1, 0, 1], level: int, content: str = ""
) -> Token:
    token = Token(type_, tag, nesting)
    token.level, token.content = level, content
    return token


def _render_html(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _clean_html(tokens[idx].content)


def _clean_html(raw: str) -> str:
    """Raw HTML typed in the Markdown: whitelisted tags rebuilt from their allowed
    attributes, comments dropped, everything else escaped as text."""
    out: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(raw):
        if m.start() < pos:  # inside a comment already skipped
            continue
        out.append(_escape_text(raw[pos : m.start()]))
        if m.group(2) is None:  # "<!--": the comment runs to "-->", or to the end
            end = raw.find("-->", m.end())
            pos = len(raw) if end < 0 else end + 3
            continue
        name = m.group(2).lower()
        if name not in _ALLOWED_TAGS:
            out.append(html.escape(m.group(0), quote=False))
        elif m.group(1):
            out.append("" if name in _VOID_TAGS else f"</{name}>")
        else:
            out.append(_start_tag(name, m.group(3)))
        pos = m.end()
    out.append(_escape_text(raw[pos:]))
    return "".join(out)


def _start_tag(name: str, attributes: str) -> str:
    allowed = _ALLOWED_ATTRS.get(name, ())
    kept: dict[str, str] = {}
    for m in _ATTR.finditer(attributes):
        attr = m.group(1).lower()
        if attr in allowed and attr not in kept:
            value = html.unescape(next((v for v in m.groups()[1:] if v is not None), ""))
            if attr in _URL_ATTRS and not _parser().validateLink(value):
                continue  # javascript:, vbscript:, file:, data: (but images)
            kept[attr] = value
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in kept.items())
    return f"<{name}{attrs} />" if name in _VOID_TAGS else f"<{name}{attrs}>"


def _escape_text(text: str) -> str:
    """Text between tags: "<" and ">" escaped; "&" kept, as its references are HTML."""
    return text.replace("<", "&lt;").replace(">", "&gt;")
