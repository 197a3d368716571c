"""Editor Markdown → HTML: Stack Overflow's Markdown reads as the site showed it, typed HTML
never becomes markup, and hostile text converts quickly without raising."""

from __future__ import annotations

import logging
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askwell.data.text import html_to_parts
from askwell.markdown import to_html
from askwell.records import Question

TEXT = """Hi, I read a CSV with `pandas` and it fails.

```python
import pandas as pd
df = pd.read_csv("a.csv")
```

I tried:

- `on_bad_lines="skip"`
- a [regex](https://example.com/re "title")

> ParserError: Expected 3 fields

    print(df)

![plot](https://i.example.com/p.png) How do I <skip> them?"""


def test_the_parts_the_features_read_come_through() -> None:
    q = Question.from_html("How?", to_html(TEXT))
    body = q.body
    assert body.code_blocks == ('import pandas as pd\ndf = pd.read_csv("a.csv")', "print(df)")
    assert body.inline_code == ("pandas", 'on_bad_lines="skip"')
    assert body.links == ("https://example.com/re",)
    assert body.images == ("https://i.example.com/p.png",)
    assert body.n_lists == 1 and body.n_list_items == 2 and body.n_blockquotes == 1
    assert body.quotes == ("ParserError: Expected 3 fields",)
    assert "How do I <skip> them?" in body.text  # escaped on the way in, text on the way out
    assert "import pandas" not in body.text  # code blocks are not prose


# A question as Stack Overflow's editor of 2008-2012 took it: tab- and 4-space-indented code,
# a language hint, reference links and an image defined at the end, typed HTML.
STACK_OVERFLOW_2010 = """I have a <b>strange</b> problem with my loop.<br>
The `for` loop never ends:

<!-- language: lang-js -->

    for (var i = 0; i < n; i++) {
        doSomething(i);
    }

I read [the MDN page][1] and [this answer][2], and the console shows:

![screenshot][3]

<!-- language-all: lang-html -->
\t<div id="x">&amp;</div>

> Uncaught RangeError: Maximum call stack size exceeded

1. first try
2. second try

  [1]: https://developer.mozilla.org/en/JavaScript/Reference/Statements/for
  [2]: http://stackoverflow.com/questions/3010840/loop-through-array "title"
  [3]: http://i.stack.imgur.com/AbCdE.png"""


def test_stack_overflow_markdown_reads_as_the_site_showed_it() -> None:
    body = html_to_parts(to_html(STACK_OVERFLOW_2010))
    assert body.code_blocks == (
        "for (var i = 0; i < n; i++) {\n    doSomething(i);\n}",
        '<div id="x">&amp;</div>',  # code is code: its text as typed
    )
    assert body.links == (
        "https://developer.mozilla.org/en/JavaScript/Reference/Statements/for",
        "http://stackoverflow.com/questions/3010840/loop-through-array",
    )
    assert body.images == ("http://i.stack.imgur.com/AbCdE.png",)
    assert body.inline_code == ("for",)
    assert body.quotes == ("Uncaught RangeError: Maximum call stack size exceeded",)
    assert body.n_lists == 1 and body.n_list_items == 2
    assert body.text.startswith("I have a strange problem with my loop.\nThe for loop never ends:")
    assert "I read the MDN page and this answer, and the console shows:" in body.text
    # Hints and link definitions are not prose; the code is not either.
    for hidden in ("language", "<!--", "[1]", "http://", "doSomething", "<div"):
        assert hidden not in body.text, hidden


def test_a_hint_right_above_the_code_keeps_the_code_block() -> None:
    for hint in ("<!-- language: lang-py -->\n", "<!-- language: lang-py -->\n\n"):
        body = html_to_parts(to_html(f"Here:\n\n{hint}    print(1)\n    print(2)\n\nDone."))
        assert body.code_blocks == ("print(1)\nprint(2)",)
        assert body.text == "Here:\n\nDone."


def test_bare_addresses_are_links_as_on_the_site() -> None:
    body = html_to_parts(
        to_html(
            "From http://example.com/a. See (http://en.wikipedia.org/wiki/Foo_(bar)), "
            "`http://in.code/` and [a link](http://x.com/l) with ftp://files.example.com/f!\n\n"
            "    http://in.a.code.block/\n\n"
            '<a href="http://y.com/">http://y.com/</a> javascript://no and nothttp://no'
        )
    )
    assert body.links == (
        "http://example.com/a",
        "http://en.wikipedia.org/wiki/Foo_(bar)",
        "http://x.com/l",
        "ftp://files.example.com/f",
        "http://y.com/",
    )
    assert body.text.startswith("From http://example.com/a. See (http://en.wikipedia.org/")


def test_a_definition_right_under_the_text_is_still_a_definition() -> None:
    body = html_to_parts(to_html("Use the [module pattern][1]:\r\n  [1]: http://example.com/m"))
    assert body.links == ("http://example.com/m",)
    assert body.text == "Use the module pattern:"
    # Not inside fenced code: there it is code.
    fenced = html_to_parts(to_html("```\nx = 1\n[1]: http://example.com/m\n```"))
    assert fenced.code_blocks == ("x = 1\n[1]: http://example.com/m",) and not fenced.links


def test_tabs_are_spaces_to_the_next_stop_of_4_and_blank_lines_are_empty() -> None:
    body = html_to_parts(to_html("Code:\n\n\tif x:\n\t\ty = 1\t# one\n        \n\treturn y"))
    assert body.code_blocks == ("if x:\n    y = 1   # one\n\nreturn y",)


def test_typed_html_on_the_sites_whitelist_is_structure() -> None:
    body = html_to_parts(
        to_html(
            "Press <kbd>Ctrl</kbd> and <code>x</code>, see "
            '<a href="http://example.com/a?b=1&amp;c=2" onclick="evil()">this</a> '
            '<img src="http://i.example.com/x.png" onerror="evil()">\n\n'
            "<pre>int a &lt; b;</pre>"
        )
    )
    assert body.inline_code == ("x",)
    assert body.links == ("http://example.com/a?b=1&c=2",)
    assert body.images == ("http://i.example.com/x.png",)
    assert body.code_blocks == ("int a < b;",)
    assert body.text == "Press Ctrl and x, see this"


# Places where typed HTML could try to become markup.
_HOSTILE_HTML = [
    "<script>alert(1)</script>",  # a block of its own
    "Hi <script>alert(1)</script> there",  # inline
    "- item <script>alert(1)</script>",
    "> quoted <script>alert(1)</script>",
    "[<script>alert(1)</script>](http://x.com)",
    "<div><script>alert(1)</script></div>",
    "<pre><script>alert(1)</script></pre>",
    "<SCRIPT SRC=http://x.com/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    '<iframe src="http://x.com"></iframe>',
    "<style>body{}</style>",
    "<b onmouseover=alert(1)>x</b>",
    '<p style="x">x</p>',
]


@pytest.mark.parametrize("typed", _HOSTILE_HTML)
def test_typed_html_never_becomes_markup(typed: str) -> None:
    out = to_html(typed).lower()
    for bad in ("<script", "<iframe", "<style", "<div", "onerror=", "onmouseover=", "style="):
        assert bad not in out
    assert 'href="javascript' not in out and "src=x" not in out


def test_a_script_in_the_prose_is_text_the_editor_shows_as_typed() -> None:
    # The editor shows ``prose`` as text: there the tag is characters, not an element.
    assert "<script>alert(1)</script>" in html_to_parts(to_html(_HOSTILE_HTML[0])).text
    assert html_to_parts(to_html(_HOSTILE_HTML[1])).text == "Hi <script>alert(1)</script> there"
    assert "<script>" in html_to_parts(to_html(_HOSTILE_HTML[2])).text
    quoted = html_to_parts(to_html(_HOSTILE_HTML[3]))
    assert quoted.quotes == ("quoted <script>alert(1)</script>",)


def test_html_in_the_text_is_text() -> None:
    html = to_html("<script>alert(1)</script> & more")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert Question.from_html("T", to_html("text\n```\ncode\nmore")).body.code_blocks == (
        "code\nmore",
    )


def test_a_single_newline_is_a_space_two_trailing_spaces_a_break() -> None:
    # As on Stack Overflow: a paragraph's lines flow together unless the line ends in two
    # spaces (or <br>).
    assert html_to_parts(to_html("one\ntwo  \nthree")).text == "one two\nthree"


# 50 kB of what a hostile client could send (the editor's limit on title and body).
_HOSTILE_TEXT = {
    "brackets": "[" * 50_000,
    "image brackets": "![" * 25_000,
    "bracket soup": "[*`<" * 12_500,
    "empty links": "[](" * 16_000,
    "labels": "[a]" * 16_000,
    "brackets in paragraphs": "\n\n".join(["[" * 4_999] * 10),
    "nested quotes": "> " * 1_000 + "x",
    "nested quotes by line": "\n".join(">" * i + " x" for i in range(1, 300)),
    "nested lists": "\n".join("  " * i + "- x" for i in range(200)),
    "list markers": "- " * 25_000,
    "quoted lists": "> - " * 12_000 + "x",
    "stars": "*" * 50_000,
    "emphasis": "*a " * 16_000,
    "mixed emphasis": "*_" * 25_000,
    "backticks": "`a``" * 12_000,
    "angles": "<a " * 16_000,
    "unclosed comments": "a<!--" * 10_000,
    "unclosed cdata": "a<![CDATA[" * 5_000,
    "entities": "&#x" * 16_000,
    "definitions": "[a]: <" * 8_000,
    "backslashes": "\\" * 50_000,
    "lone surrogate": "a\ud800b [x](\udfff)",
    "nul": "a\x00b",
}


@pytest.mark.parametrize("text", list(_HOSTILE_TEXT.values()), ids=list(_HOSTILE_TEXT))
def test_hostile_text_converts(text: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="askwell.markdown"):
        html = to_html(text)
    html_to_parts(html)
    assert not caplog.records  # the parser coped: the plain-text fallback was not needed


def test_the_parser_needs_little_stack_whatever_the_nesting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A RecursionError would show as the fallback's warning: with only 150 frames to spare
    # (a server thread has ~900), every hostile text still parses.
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    try:
        with caplog.at_level(logging.WARNING, logger="askwell.markdown"):
            for text in _HOSTILE_TEXT.values():
                to_html(text)
            to_html("[" * 30 + "a" + "](b)" * 30)
    finally:
        sys.setrecursionlimit(old)
    assert not caplog.records


def test_links_survive_in_a_body_beside_a_bracket_flood() -> None:
    body = html_to_parts(to_html("[" * 20_000 + "\n\nSee [the docs](http://example.com/d)."))
    assert body.links == ("http://example.com/d",)


@pytest.mark.parametrize("unit", ["*a", "_a", "`a", "<a ", "[a]("])
def test_a_markup_flood_is_read_as_text_and_the_rest_as_markup(unit: str) -> None:
    """Beyond the markup budget the flooded paragraph is plain text (every character kept,
    no delimiter run to resolve), and the other paragraphs keep their markup."""
    flood = (unit * 30_000)[:30_000]
    body = html_to_parts(to_html(f"Some *emphasis* and `code`.\n\n{flood}"))
    assert body.inline_code == ("code",)
    assert flood.replace(" ", "") in body.text.replace(" ", "")  # nothing dropped
    html = to_html(flood)
    assert "<em>" not in html and "<code>" not in html and "<a " not in html


def test_deep_nesting_keeps_what_is_within_reach() -> None:
    body = html_to_parts(to_html("> > > quoted three deep\n\nafter"))
    assert body.quotes == ("quoted three deep",) and body.text.endswith("after")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_converts(text: str) -> None:
    Question.from_html("T", to_html(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]()!*_`<>&\\#-+>1. \n\t:/\"'=ab")), max_size=400))
def test_any_markdown_soup_converts(text: str) -> None:
    assert isinstance(to_html(text), str)
