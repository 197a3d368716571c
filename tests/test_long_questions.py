"""Long and hostile questions (issue 12): a 50 kB body costs at most about three times a
normal 2,000-character question because the work done on it is bounded, counted here, not
timed: the API scores a question only up to the limits in ``explain.predictor`` and says so,
and a real question within them is read, and scored, exactly as before."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient

from askwell import markdown
from askwell.explain import highlights
from askwell.explain.predictor import (
    SCORED_BRACKETS,
    SCORED_CHARS,
    SCORED_LINES,
    SCORED_MARKUP,
    SCORED_SENTENCES,
    SCORED_TITLE_CHARS,
    Draft,
    Predictor,
    read,
)
from askwell.explain.suggestions import RULES
from askwell.features.pipeline import QuestionFeatures
from askwell.features.text_stats import split_sentences
from askwell.records import Question
from tests.conftest import SHARED_DATA
from tests.serving.conftest import client_for

SAMPLE = SHARED_DATA / "stackoverflow-closed" / "train-sample.csv"
TITLE = "Why does this fail?"
LIMIT = 50_000  # serve.max_text_kb: title and body together
NORMAL_CHARS = 2_000


def _body(unit: str, size: int = LIMIT - len(TITLE)) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _nested_quotes(size: int = LIMIT - len(TITLE)) -> str:
    lines, depth = [], 1
    while sum(map(len, lines)) < size:
        lines.append(">" * depth + " quoted\n")
        depth = depth % 40 + 1
    return "".join(lines)[:size]


# Each once far slower than a normal question, several times over (bench/latency).
HOSTILE = {
    "brackets": lambda n: _body("[", n),
    "nested quotes": _nested_quotes,
    "quote markers": lambda n: _body("> ", n),
    "star runs": lambda n: _body("*", n),
    "emphasis": lambda n: _body("*a", n),
    "one long prose paragraph": lambda n: _body(
        "This sentence is about the code that does not work as I expected it to. ", n
    ),
    "many short lines": lambda n: _body("a\n", n),
    "many short sentences": lambda n: _body("Hi! Thanks! ", n),
    "list items": lambda n: _body("- a\n", n),
    "unclosed links": lambda n: _body("[a](", n),
    "html line breaks": lambda n: _body("a<br>", n),
    "entities": lambda n: _body("a&#46; ", n),
}


@cache
def _rows() -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def _normal() -> dict[str, Any]:
    """The first real question of about 2,000 characters (title and Markdown body)."""
    row = next(
        r for r in _rows() if abs(len(r["Title"]) + len(r["BodyMarkdown"]) - NORMAL_CHARS) < 100
    )
    return {"title": row["Title"], "body": row["BodyMarkdown"], "tags": [row["Tag1"]]}


# --- counting the work, as the code does it


@dataclass
class Work:
    """What one request made the code do: the Markdown it parsed, and per feature pipeline
    call (one per model) the text it read and the rows it built."""

    markdown: list[str] = field(default_factory=list)
    calls: list[dict[str, int]] = field(default_factory=list)

    def clear(self) -> None:
        self.markdown.clear()
        self.calls.clear()

    def summary(self) -> dict[str, int]:
        assert self.calls, "nothing was scored"
        parsed = "".join(self.markdown)
        return {
            "markdown chars": len(parsed),
            "markdown lines": parsed.count("\n") + len(self.markdown),
            **{k: max(c[k] for c in self.calls) for k in self.calls[0]},
        }


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Work:
    counted = Work()
    real_read = markdown._as_the_site_read_it
    real_transform = QuestionFeatures.transform_editor

    def reading(text: str) -> str:
        counted.markdown.append(text)
        return real_read(text)

    def transform(
        self: QuestionFeatures,
        question: Question,
        spans: Any,
        others: Any = (),
    ) -> Any:
        body = question.body
        counted.calls.append(
            {
                "chars read": len(question.title)
                + len(body.text)
                + sum(map(len, body.code_blocks)),
                "sentences": len(split_sentences(body.text)),
                "pieces": len(spans),
                "what-ifs": len(others),
            }
        )
        return real_transform(self, question, spans, others)

    monkeypatch.setattr(markdown, "_as_the_site_read_it", reading)
    monkeypatch.setattr(QuestionFeatures, "transform_editor", transform)
    return counted


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The API scoring in its own process (one worker), where the counting can see it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'askwell.db'}"
    with client_for(url) as app:
        yield app


def _score(client: TestClient, work: Work, payload: dict[str, Any]) -> dict[str, Any]:
    work.clear()
    r = client.post("/v1/score", json=payload)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    assert answer["degraded"] is False
    return answer


# --- a 50 kB body: bounded work, said plainly


@pytest.mark.data
@pytest.mark.parametrize("shape", list(HOSTILE))
def test_a_50_kb_body_costs_at_most_three_normal_questions(
    client: TestClient, work: Work, shape: str
) -> None:
    normal = _score(client, work, _normal())
    assert normal["extent"]["complete"] is True and normal["extent"]["note"] is None
    baseline = work.summary()

    body = HOSTILE[shape](LIMIT - len(TITLE))
    assert len(TITLE) + len(body) == LIMIT
    answer = _score(client, work, {"title": TITLE, "body": body, "tags": ["python"]})
    done = work.summary()
    # What the cost grows with: the Markdown parsed and the text the features read, at most
    # three times a normal question's; the sentences read, the leave-one-out pieces and the
    # what-ifs, each capped whatever the text.
    assert done["markdown chars"] <= min(SCORED_CHARS, 3 * baseline["markdown chars"])
    assert done["markdown lines"] <= SCORED_LINES
    assert done["chars read"] <= 3 * baseline["chars read"]
    assert done["sentences"] <= SCORED_SENTENCES
    assert done["pieces"] <= highlights.MAX_PIECES
    assert done["what-ifs"] <= len(RULES)
    # Bounded, not merely smaller: half the body makes the same work (both are cut).
    _score(client, work, {"title": TITLE, "body": HOSTILE[shape](LIMIT // 2), "tags": ["python"]})
    assert work.summary() == done
    # And the answer says that only part of the question was scored.
    extent = answer["extent"]
    assert extent["complete"] is False and extent["note"].startswith("Only ")
    assert extent["body_chars"] <= SCORED_CHARS and extent["sentences"] <= SCORED_SENTENCES
    assert extent["sentences"] == len(split_sentences(answer["prose"]))


@pytest.mark.data
def test_a_50_kb_title_is_scored_up_to_its_first_300_characters(
    client: TestClient, work: Work
) -> None:
    title = _body("word ", LIMIT - 40)
    answer = _score(client, work, {"title": title, "body": "It fails. How do I fix it?"})
    assert work.summary()["chars read"] <= SCORED_TITLE_CHARS + 40
    assert answer["extent"]["complete"] is False
    assert answer["extent"]["title_chars"] == SCORED_TITLE_CHARS
    assert answer["extent"]["note"].startswith(
        f"Only the first {SCORED_TITLE_CHARS} of the title's {len(title):,} characters"
    )


# --- real questions: read exactly as before


# Anything that can end a sentence in the prose comes from one of these in the Markdown.
_MAY_END_SENTENCE = re.compile(r"[\n.!?\u2026<&]")


@pytest.mark.data
def test_every_real_question_within_the_limit_is_read_exactly_as_before() -> None:
    """All 44,506 Stack Overflow bodies of the closing sample: those of at most
    ``SCORED_CHARS`` characters (98.8%) meet no other limit, so ``read`` gives the question
    that ``Question.from_markdown`` gives, whole. The counts bound what the parser and the
    sentence limit can see; the bodies that could hold more sentences than the limit are
    parsed and compared."""
    rows = _rows()
    within = [r for r in rows if len(r["BodyMarkdown"]) <= SCORED_CHARS]
    assert len(within) / len(rows) >= 0.988
    compared = 0
    for r in within:
        title, body = r["Title"], r["BodyMarkdown"]
        assert len(title) <= SCORED_TITLE_CHARS
        assert len(re.findall(r"\r\n?|\n", body)) < SCORED_LINES
        assert body.count("[") <= SCORED_BRACKETS  # the parser's budgets are never reached
        assert sum(map(body.count, markdown._MARKUP_CHARS)) <= SCORED_MARKUP
        if len(_MAY_END_SENTENCE.findall(body)) + 1 <= SCORED_SENTENCES:
            continue  # cannot hold more sentences than the limit
        question, extent = read(Draft(title, body, (r["Tag1"],)))
        assert question == Question.from_markdown(title, body, (r["Tag1"],)), r["PostId"]
        assert extent.complete and extent.body_chars == len(body)
        compared += 1
    assert compared > 1000


@pytest.mark.data
def test_real_questions_near_the_limit_get_the_scores_they_always_got() -> None:
    predictor = Predictor.load()
    longest = sorted(
        (r for r in _rows() if len(r["BodyMarkdown"]) <= SCORED_CHARS),
        key=lambda r: -len(r["BodyMarkdown"]),
    )[:10]
    for r in longest:
        draft = Draft(r["Title"], r["BodyMarkdown"], (r["Tag1"],))
        reading = predictor.score_draft(draft)
        whole = Question.from_markdown(draft.title, draft.body, draft.tags)
        assert reading.scored == predictor.score(whole)
        assert reading.prose == whole.body.text and reading.extent.complete


# --- how a question is cut, and what the answer says


def test_the_body_is_cut_at_the_character_limit_and_the_note_says_so() -> None:
    body = "This is one sentence of a long question, about as long as the sentences of one. " * 150
    question, extent = read(Draft("A title?", body))
    assert len(body) > SCORED_CHARS and extent.body_chars == SCORED_CHARS
    assert question == Question.from_markdown("A title?", body[:SCORED_CHARS])
    assert extent.body_limit == "characters" and not extent.complete
    assert extent.note() is not None
    assert f"the first {SCORED_CHARS:,} of the body's {len(body):,} characters" in str(
        extent.note()
    )


def test_whitespace_past_a_limit_is_no_cut() -> None:
    body = "It fails. How do I fix it?" + " \n" * 10_000
    question, extent = read(Draft("A title" + " " * 1_000, body))
    assert extent.complete and extent.note() is None
    assert question.body.text == "It fails. How do I fix it?"


def test_lines_past_the_limit_are_not_read() -> None:
    body = "word\n" * (SCORED_LINES + 100)  # short, and too many lines (one sentence)
    question, extent = read(Draft("A title?", body))
    assert extent.body_limit == "lines" and extent.body_chars < len(body)
    assert body[: extent.body_chars].count("\n") == SCORED_LINES - 1
    assert question.body.text.split() == ["word"] * SCORED_LINES
    assert f"the body's first {SCORED_LINES} lines" in str(extent.note())


def test_sentences_past_the_limit_are_not_scored() -> None:
    body = "Hi! Thanks! " * SCORED_SENTENCES
    question, extent = read(Draft("A title?", body))
    assert extent.body_limit == "sentences" and extent.sentences == SCORED_SENTENCES
    assert len(split_sentences(question.body.text)) == SCORED_SENTENCES
    assert body.startswith(question.body.text)
    assert f"the body's first {SCORED_SENTENCES} sentences" in str(extent.note())


def test_a_question_within_every_limit_is_complete() -> None:
    draft = Draft("How do I sort dates?", "My dates sort as strings. Why?", ("python",))
    question, extent = read(draft)
    assert question == Question.from_markdown(draft.title, draft.body, draft.tags)
    assert extent.complete and extent.note() is None and extent.sentences == 2
