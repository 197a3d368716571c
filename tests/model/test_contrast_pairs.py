"""Hand-written contrast pairs (``contrast_pairs.yaml``): of two questions on the same subject,
the well-asked one must be judged better than the one with the flaw its ``kind`` names.

The threshold is the task itself: better must score higher. A failure names the pair.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.model.conftest import contrast_pairs, judge, question

KINDS = (
    "vague",
    "shouting",
    "no_code",
    "no_question",
    "plea",
    "junk",
    "recommendation",
    "opinion",
    "too_localized",
)
MIN_PAIRS = 60
MIN_PER_KIND = 4
MIN_TOPICS = 15


def _fields_ok(q: Any) -> bool:
    return (
        isinstance(q, dict)
        and set(q) == {"title", "body", "tags"}
        and isinstance(q["title"], str)
        and isinstance(q["body"], str)
        and isinstance(q["tags"], list)
        and 1 <= len(q["tags"]) <= 5
        and all(isinstance(t, str) and t for t in q["tags"])
    )


def test_the_pairs_file_is_valid() -> None:
    pairs = contrast_pairs()
    assert len(pairs) >= MIN_PAIRS
    ids = [p["id"] for p in pairs]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    for p in pairs:
        assert set(p) == {"id", "topic", "kind", "good", "bad"}, p.get("id")
        assert re.fullmatch(r"[a-z0-9][a-z0-9.#+-]*", p["id"]), p["id"]
        assert p["kind"] in KINDS, (p["id"], p["kind"])
        assert _fields_ok(p["good"]) and _fields_ok(p["bad"]), p["id"]
        assert p["good"]["title"].strip() and p["good"]["body"].strip(), p["id"]
        assert p["good"] != p["bad"], p["id"]
    kinds = Counter(p["kind"] for p in pairs)
    assert all(kinds[k] >= MIN_PER_KIND for k in KINDS), kinds
    assert len({p["topic"] for p in pairs}) >= MIN_TOPICS


def test_every_good_question_asks_something() -> None:
    """The good member is the well-asked one: it asks a question in its title or body."""
    quiet = [p["id"] for p in contrast_pairs() if "?" not in p["good"]["title"] + p["good"]["body"]]
    assert not quiet


def test_the_kinds_hold_where_they_can_be_read_from_the_text() -> None:
    """A ``no_code`` pair's bad question has no code block while its good one does; a
    ``no_question`` pair's bad question asks nothing (no "?" anywhere)."""
    wrong = []
    for p in contrast_pairs():
        good, bad = question(p["good"]), question(p["bad"])
        if p["kind"] == "no_code" and (bad.body.code_blocks or not good.body.code_blocks):
            wrong.append(p["id"])
        if p["kind"] == "no_question" and "?" in p["bad"]["title"] + p["bad"]["body"]:
            wrong.append(p["id"])
    assert not wrong


@pytest.mark.parametrize("pair", contrast_pairs(), ids=lambda p: str(p["id"]))
def test_the_well_asked_question_is_judged_better(pair: dict[str, Any]) -> None:
    good, bad = judge(question(pair["good"])), judge(question(pair["bad"]))
    assert good > bad, f"{pair['id']} ({pair['kind']}): good {good:.3f} <= bad {bad:.3f}"


def test_the_gate_reads_the_same_pairs_and_judges_them_alike() -> None:
    """The promotion gate's check (askwell.models.behaviour, batched) on the shipped
    predictor agrees with the pair-by-pair tests above: every pair ranked right."""
    from askwell.models.behaviour import contrast_check
    from tests.model.conftest import predictor

    check = contrast_check(predictor().judge)
    assert check["n"] == len(contrast_pairs()) and check["wrong"] == []
    assert check["share"] == 1.0
