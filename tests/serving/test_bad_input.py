"""Bad input and faults: every bad request is a 422 that names what is wrong, no input
yields a 500, a failing model degrades visibly to the rule-based scorer, and a database
outage never loses feedback silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askwell.explain.predictor import Scored
from askwell.records import Question
from askwell.serving.service import ModelChoice
from tests.serving.conftest import client_for, default_choice, write_broken_bundle

OK = {"title": "How do I read a CSV file?", "body": "I tried pandas. How can I do it?"}
BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("empty title", json.dumps({**OK, "title": ""}).encode(), "title: is empty"),
    ("blank body", json.dumps({**OK, "body": "  \n "}).encode(), "body: is empty"),
    ("missing body", json.dumps({"title": "t"}).encode(), "body: is required"),
    ("title not text", json.dumps({**OK, "title": 7}).encode(), "title: "),
    ("tags not a list", json.dumps({**OK, "tags": "python"}).encode(), "tags: "),
    ("a tag not text", json.dumps({**OK, "tags": [1]}).encode(), "tags.0: "),
    ("too many tags", json.dumps({**OK, "tags": ["t"] * 11}).encode(), "tags: "),
    ("unknown field", json.dumps({**OK, "score": 1}).encode(), "score: unknown field"),
    ("bad session id", json.dumps({**OK, "session_id": "a b"}).encode(), "session_id: "),
    ("too long", json.dumps({**OK, "body": "word " * 11_000}).encode(), "the limit is 50 kB"),
    ("invalid UTF-8", b'{"title": "caf\xe9", "body": "x"}', "not valid UTF-8 (byte 14)"),
    ("lone surrogate", b'{"title": "a", "body": "\\ud800 x"}', "body: not valid Unicode"),
    ("not JSON", b"title=a&body=b", "not JSON"),
    ("not an object", b'["a", "b"]', "must be a JSON object"),
    ("empty request", b"", "not JSON"),
]


@pytest.mark.parametrize(("case", "raw", "message"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_score_requests_are_422_naming_the_problem(
    client: TestClient, case: str, raw: bytes, message: str
) -> None:
    r = client.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, case
    assert message in r.json()["detail"], r.json()
    assert "word word word" not in r.text  # the text is not echoed back


@pytest.mark.parametrize(
    "payload",
    [
        {"request_id": "nope", "helpful": True},
        {"request_id": "00000000-0000-0000-0000-000000000000", "helpful": "yes"},
        {"request_id": "00000000-0000-0000-0000-000000000000"},
        {"request_id": "00000000-0000-0000-0000-000000000000", "helpful": True, "x": 1},
        {"request_id": "00000000-0000-0000-0000-000000000000", "helpful": True,
         "comment": "c" * 2001},
    ],
)  # fmt: skip
def test_bad_feedback_is_422(client: TestClient, payload: dict[str, Any]) -> None:
    r = client.post("/v1/feedback", json=payload)
    assert r.status_code == 422 and r.json()["errors"][0]["field"]


def test_the_text_limit_is_configurable(sqlite_url: str) -> None:
    small = client_for(sqlite_url, max_text_kb=1)
    r = small.post("/v1/score", json={**OK, "body": "x " * 600})
    assert r.status_code == 422 and "the limit is 1 kB" in r.json()["detail"]
    assert small.post("/v1/score", json=OK).status_code == 200


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_fields = st.fixed_dictionaries(
    {},
    optional={
        "title": _json | st.text(), "body": _json | st.text(), "tags": _json,
        "site": _json, "session_id": _json,
    },
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=_fields | _json, raw=st.binary(max_size=40))
def test_no_input_gives_a_server_error(client: TestClient, payload: Any, raw: bytes) -> None:
    json_type = {"content-type": "application/json"}
    r = client.post("/v1/score", content=json.dumps(payload).encode(), headers=json_type)
    assert r.status_code in (200, 422), r.text
    r = client.post("/v1/score", content=raw, headers=json_type)
    assert r.status_code in (200, 422), r.text
    r = client.post("/v1/feedback", content=json.dumps(payload).encode(), headers=json_type)
    assert r.status_code in (201, 404, 422), r.text


def test_a_model_that_cannot_load_degrades_to_the_heuristic_visibly(
    sqlite_url: str, tmp_path: Path
) -> None:
    client = client_for(sqlite_url, load=True, bundle=write_broken_bundle(tmp_path))
    assert client.app.state.service.model.failure  # type: ignore[attr-defined]
    r = client.post("/v1/score", json=OK)
    assert r.status_code == 200
    body = r.json()
    assert body["degraded"] is True and body["model"]["name"] == "heuristic"
    assert body["confidence"]["review"] is True and body["confidence"]["band_good_rate"] is None
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "broken.askwell" in ready.json()["model"]
    page = client.get("/metrics").text
    assert "askwell_degraded 1.0" in page and "askwell_fallbacks_total 1.0" in page


class _Failing:
    """A model that fails on questions mentioning "boom" (as a bug on rare input would)."""

    def __init__(self) -> None:
        self.inner = default_choice().scorer
        self.model_version = self.inner.model_version

    def score(self, question: Question) -> Scored:
        if "boom" in question.body.text:
            raise RuntimeError("the model broke")
        return self.inner.score(question)


def test_a_model_failing_on_one_request_answers_from_the_fallback(sqlite_url: str) -> None:
    choice = default_choice()
    client = client_for(sqlite_url, model=ModelChoice(_Failing(), choice.name, "test", None))
    r = client.post("/v1/score", json={**OK, "body": "It goes boom. How can I fix it?"})
    assert r.status_code == 200 and r.json()["degraded"] is True
    fine = client.post("/v1/score", json=OK).json()
    assert fine["degraded"] is False
    assert client.get("/readyz").status_code == 200  # the model is loaded: only that request
    page = client.get("/metrics").text
    assert 'askwell_errors_total{kind="model"} 1.0' in page
    assert "askwell_fallbacks_total 1.0" in page


def test_a_database_outage_never_loses_feedback_silently() -> None:
    # Nothing listens on port 1: every connection is refused, as in a real outage.
    client = client_for("postgresql+psycopg://askwell:x@127.0.0.1:1/askwell")
    scored = client.post("/v1/score", json=OK)
    assert scored.status_code == 200 and scored.json()["logged"] is False
    r = client.post(
        "/v1/feedback", json={"request_id": scored.json()["request_id"], "helpful": True}
    )
    assert r.status_code == 503 and r.json()["detail"].startswith("feedback not stored")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["database"] != "ok"
    assert 'askwell_errors_total{kind="store"}' in client.get("/metrics").text


def test_the_fallback_names_each_idea_once() -> None:
    from askwell.explain.fallback import FallbackPredictor

    noisy = Question.from_markdown(
        "HELP!!! urgent", "Hi all, thanks in advance!!! It is URGENT, plz help. Sorry."
    )
    scored = FallbackPredictor("test").score(noisy)
    groups = [f.group for f in scored.helping + scored.hurting]
    assert groups and len(groups) == len(set(groups))


def test_the_fallback_suggests_the_edits_for_what_its_score_counts_against() -> None:
    """The heuristic and the suggestions read one rule table: each flaw the fallback's score
    counts that has an edit is suggested, and the edit raises that score."""
    from askwell.explain.fallback import FallbackPredictor

    noisy = Question.from_markdown(
        "HELP!!! urgent", "Hi all, thanks in advance!!! It is URGENT, plz help. Sorry."
    )
    fallback = FallbackPredictor("test")
    counted = {r.id for r in fallback.scorer.fired(noisy) if r.points < 0 and r.mechanical}
    assert counted == {"drop-noise", "stop-shouting", "calm-punctuation"}
    shown = {s.id: s.effect for s in fallback.score(noisy).suggestions}
    assert counted <= set(shown) and all(shown[i] > 0 for i in counted)
