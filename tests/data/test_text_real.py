"""The HTML scanner agrees with a real HTML parser (lxml) on every body of every dump."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from askwell.data.text import html_to_parts
from tests.conftest import DUMPS

pytestmark = pytest.mark.data


def _bodies(path: Path) -> list[str]:
    out = []
    for _, el in etree.iterparse(str(path), events=("end",), tag="row"):
        if el.get("Body"):
            out.append(el.get("Body"))
        el.clear()
    return out


@pytest.mark.parametrize("dump", sorted(DUMPS.glob("*/Posts.xml")), ids=lambda p: p.parent.name)
def test_prose_code_and_links_match_lxml(dump: Path) -> None:
    mismatches = []
    for body in _bodies(dump):
        parts = html_to_parts(body)
        doc = lxml.html.fragment_fromstring(body, create_parent="div")
        pres = list(doc.iter("pre"))
        code = [p.text_content().strip("\n") for p in pres if p.text_content().strip()]
        links = [
            a.get("href")
            for a in doc.iter("a")
            if a.get("href") and not any(anc.tag == "pre" for anc in a.iterancestors())
        ]
        for pre in pres:
            if pre.getparent() is not None:
                pre.drop_tree()
        prose = "".join(doc.text_content().split())
        if (prose, code, links) != (
            "".join(parts.text.split()),
            list(parts.code_blocks),
            list(parts.links),
        ):
            mismatches.append(body[:200])
    assert mismatches == []
