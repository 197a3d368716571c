"""Stack Exchange-style Markdown, as a person types it in the editor, to the HTML askwell
reads: enough of the syntax to find what the features look at (paragraphs, fenced and
indented code blocks, inline code, lists, block quotes, links, images), all text escaped.

Not a full CommonMark renderer: emphasis, headings' levels and tables are kept as text, which
changes nothing the features measure.
"""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_INLINE = re.compile(r"`([^`\n]+)`|!\[([^\]]*)\]\(([^)\s]*)[^)]*\)|\[([^\]]+)\]\(([^)\s]+)[^)]*\)")


def _inline(text: str) -> str:
    """Escapes text, turning `code`, ![alt](src) and [text](href) into their tags."""
    out: list[str] = []
    last = 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        code, alt, src, label, href = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif src is not None:
            out.append(f'<img src="{html.escape(src)}" alt="{html.escape(alt)}">')
        else:
            out.append(f'<a href="{html.escape(href)}">{html.escape(label)}</a>')
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _code(lines: list[str]) -> str:
    return "<pre><code>" + html.escape("\n".join(lines)) + "</code></pre>"


def to_html(markdown: str) -> str:
    """The body's HTML; never fails, whatever the text."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>".join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:  # a fenced block runs to its closing fence, or to the end
            flush()
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence[1])),
                len(lines),
            )
            blocks.append(_code(lines[i + 1 : end]))
            i = end + 1
        elif line.startswith(("    ", "\t")) and not paragraph and line.strip():
            flush()
            start = i
            while i < len(lines) and (lines[i].startswith(("    ", "\t")) or not lines[i].strip()):
                i += 1
            block = [ln[4:] if ln.startswith("    ") else ln.lstrip("\t") for ln in lines[start:i]]
            while block and not block[-1].strip():
                block.pop()
            blocks.append(_code(block))
        elif _LIST_ITEM.match(line):
            flush()
            items = []
            while i < len(lines) and _LIST_ITEM.match(lines[i]):
                items.append("<li>" + _inline(_LIST_ITEM.sub("", lines[i], count=1)) + "</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        elif line.lstrip().startswith(">"):
            flush()
            quoted = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                quoted.append(lines[i].lstrip()[1:].lstrip())
                i += 1
            blocks.append("<blockquote>" + to_html("\n".join(quoted)) + "</blockquote>")
        elif not line.strip():
            flush()
            i += 1
        else:
            paragraph.append(line.strip())
            i += 1
    flush()
    return "".join(blocks)
