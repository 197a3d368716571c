"""HTML body → prose and structure: the rules of BodyParts, one by one."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from askwell.data.text import BodyParts, extract_bodies, html_to_parts, parse_tags


def test_paragraphs_become_blank_line_separated_prose() -> None:
    parts = html_to_parts("<p>First  line\nstill first.</p>\n\n<p>Second.</p>")
    assert parts.text == "First line still first.\n\nSecond."
    assert parts.n_paragraphs == 2


def test_code_block_leaves_prose_and_keeps_its_whitespace() -> None:
    body = (
        "<p>I ran:</p>\n<pre><code>for i in range(3):\n    print(i)\n</code></pre>\n"
        "<p>It fails.</p>"
    )
    parts = html_to_parts(body)
    assert parts.text == "I ran:\n\nIt fails."
    assert parts.code_blocks == ("for i in range(3):\n    print(i)",)
    assert parts.inline_code == ()  # <code> inside <pre> is the block, not inline code


def test_nested_markup_inside_pre_is_not_structure() -> None:
    body = '<pre class="lang-py"><code><b>x</b> = "<a>" &lt; 3\n<span>y</span></code></pre>'
    parts = html_to_parts(body)
    assert parts.code_blocks == ('x = "" < 3\ny',)
    assert parts.links == () and parts.text == ""


def test_inline_code_stays_in_the_sentence_and_is_listed() -> None:
    parts = html_to_parts("<p>Call <code>foo(&lt;T&gt;)</code> then <code>bar</code>.</p>")
    assert parts.text == "Call foo(<T>) then bar."
    assert parts.inline_code == ("foo(<T>)", "bar")


def test_entities_decode_exactly_like_html_unescape() -> None:
    raw = "&amp;lt; &lt;&gt;&quot;&#39;&apos; &eacute; &#233; &#xe9; &nbsp;x &copy &notanentity; &"
    assert html_to_parts(f"<p>{raw}</p>").text == " ".join(html.unescape(raw).split(" ")).replace(
        "  ", " "
    )
    assert html_to_parts("&amp;lt;").text == "&lt;"  # decoded once, not twice


def test_links_and_images_in_document_order() -> None:
    body = (
        '<p>See <a href="https://a.example/x?y=1&amp;z=2" rel="nofollow">docs</a> and '
        "<a href='/q/1'>this</a>, <a name=anchor>no href</a>.</p>"
        '<p><img src="https://i.example/1.png" alt="shot"><img alt="no src"></p>'
    )
    parts = html_to_parts(body)
    assert parts.links == ("https://a.example/x?y=1&z=2", "/q/1")
    assert parts.images == ("https://i.example/1.png", "")
    assert parts.text == "See docs and this, no href."


def test_lists_are_counted_and_items_become_lines() -> None:
    body = "<ul>\n<li>one</li>\n<li>two <em>2</em></li>\n</ul>\n<ol><li>three</li></ol>"
    parts = html_to_parts(body)
    assert (parts.n_lists, parts.n_list_items) == (2, 3)
    assert parts.text == "one\ntwo 2\n\nthree"


def test_outermost_quotes_are_listed_and_stay_in_prose() -> None:
    body = (
        "<blockquote><p>Error: <b>boom</b></p><blockquote><p>inner</p></blockquote>"
        "</blockquote><p>What now?</p>"
    )
    parts = html_to_parts(body)
    assert parts.quotes == ("Error: boom inner",)
    assert parts.n_blockquotes == 2
    assert parts.text == "Error: boom\n\ninner\n\nWhat now?"


def test_line_breaks_headings_and_comments() -> None:
    parts = html_to_parts("<h2>Title</h2>a<br/>b<!-- hidden <p> -->c<hr>d")
    assert parts.text == "Title\n\na\nbc\n\nd"


def test_broken_html_keeps_its_content() -> None:
    parts = html_to_parts("<p>unclosed <code>x < y and <pre>tail code")
    assert parts.text.startswith("unclosed x < y and")
    assert parts.code_blocks == ("tail code",)
    assert html_to_parts("a <b c").text == "a <b c"  # a "<" that opens no tag is text


def test_empty_and_missing_bodies() -> None:
    assert html_to_parts(None) == html_to_parts("") == BodyParts("", (), (), (), (), (), 0, 0, 0, 0)


def test_batch_is_the_same_code_path() -> None:
    bodies = ["<p>a</p>", None, "<pre>x</pre><p>b <a href='u'>l</a></p>"]
    columns = extract_bodies(bodies)
    for i, body in enumerate(bodies):
        one = html_to_parts(body)
        assert all(columns[name][i] == getattr(one, name) for name in one.__slots__)


def test_tags_in_both_dump_spellings() -> None:
    assert parse_tags("<python><pandas>") == ["python", "pandas"]
    assert parse_tags("|python|c++|") == ["python", "c++"]
    assert parse_tags("") == parse_tags(None) == []


_HTMLISH = st.text(
    alphabet=st.sampled_from(list("<>/&;#x=\"' abcpreodliquta\n\t0123456789é😀\x00")),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), _HTMLISH))
def test_never_raises_and_is_deterministic(body: str) -> None:
    first = html_to_parts(body)
    assert first == html_to_parts(body)
    assert isinstance(first.text, str)
    assert first.text == first.text.strip(" \t\n\r\f\v")  # ASCII whitespace only
    assert "  " not in first.text


def test_phrase_spans_survive_dotless_and_dotted_i() -> None:
    """A real Stack Overflow question wrote "How can" and a Turkish dotless i (U+0131):
    case-insensitive matching pairs it with "I", and looking its lower case up crashed a
    training run."""
    dotless = "\u0131"
    from askwell.features.text_stats import count_phrases, phrase_spans

    for text in (f"How can {dotless} fix it?", "How can I fix it?"):
        spans = phrase_spans(text, ["how_do_i"])  # once: a KeyError
        assert len(spans) == count_phrases(text)["how_do_i"], text
    assert phrase_spans(f"How can {dotless} fix it?", ["how_do_i"]) == []
    assert phrase_spans("How can İ fix it?", ["how_do_i"]) == []  # no KeyError either
    assert phrase_spans("How can I fix it?", ["how_do_i"]) == [(0, 9)]
