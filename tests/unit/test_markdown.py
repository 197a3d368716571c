"""Editor Markdown → HTML: what the features look at survives, everything else is text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_html_in_the_text_is_text() -> None:
    html = to_html("<script>alert(1)</script> & more")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert Question.from_html("T", to_html("text\n```\ncode\nmore")).body.code_blocks == (
        "code\nmore",
    )


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_converts(text: str) -> None:
    Question.from_html("T", to_html(text))
