"""The API on the real default model and a real SQLite store: what a score carries, that it
is the Predictor's, feedback and revisions, and the health and metrics pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from askwell.config import get_settings
from askwell.explain.predictor import Predictor
from askwell.features.catalog import feature_names
from askwell.markdown import to_html
from askwell.models.bands import BAND_NAMES
from askwell.records import Question
from askwell.store.db import Store

MESSY = {
    "title": "pandas csv bad lines problem",
    "body": "Hi all!!! I read a CSV file with pandas and the read FAILS.\n\n"
    "```\ndf = pd.read_csv('a.csv')\n```\n\nI expected the bad lines to be skipped. "
    "How can I skip the bad lines in pandas? Thanks in advance!!!",
    "tags": ["python", "pandas"],
}
BETTER = {
    **MESSY,
    "title": "How do I skip malformed lines when reading a CSV with pandas?",
    "body": MESSY["body"].replace("Hi all!!! ", "").replace(" Thanks in advance!!!", ""),
}


def test_a_score_carries_everything_the_editor_shows(client: TestClient) -> None:
    r = client.post("/v1/score", json=MESSY)
    assert r.status_code == 200
    body = r.json()
    assert 0 < body["score"] < 1 and body["band"] in BAND_NAMES
    assert set(body["confidence"]) == {"band_good_rate", "base_rate", "review"}
    assert body["degraded"] is False and body["logged"] is True
    assert body["model"]["name"] and "default" in body["model"]["version"]
    assert body["model"]["label"] == "good_answer_within_7d"
    # The headline: the closing model's judgement, its reasons and its evidence.
    assert body["verdict"] in ("ready to post", "needs work", "likely to be closed")
    assert 0 < body["closing_risk"] < 1
    assert body["judgement"] == pytest.approx(1 - body["closing_risk"])
    reasons = body["closing"]["reasons"]
    assert body["close_reason"] == reasons[0]["reason"]
    assert sum(r["probability"] for r in reasons) == pytest.approx(1)
    assert body["closing"]["live_rate"] == pytest.approx(0.06)
    assert body["model"]["closing_version"].startswith("closing ")
    assert len(body["request_id"]) == 36 and body["latency_ms"] > 0
    prose = body["prose"]
    assert body["highlights"] and all(
        prose[h["start"] : h["end"]] == h["text"] for h in body["highlights"]
    )
    ids = [s["id"] for s in body["suggestions"]]
    # "!!!" lowers the judgement and calming it costs no chance of an answer.
    assert "calm-punctuation" in ids and all(s["effect"] > 0 for s in body["suggestions"])
    effects = [s["effect"] for s in body["suggestions"]]
    assert effects == sorted(effects, reverse=True)


def test_the_api_gives_the_predictors_answer(client: TestClient) -> None:
    """One code path: the API's score is ``Predictor.score`` on the same question."""
    question = Question.from_html(MESSY["title"], to_html(MESSY["body"]), tuple(MESSY["tags"]))
    expected = Predictor.load().score(question)
    got = client.post("/v1/score", json=MESSY).json()
    assert got["score"] == pytest.approx(expected.score, abs=1e-12)
    assert got["closing_risk"] == pytest.approx(expected.closing_risk, abs=1e-12)
    assert got["verdict"] == expected.verdict
    assert [s["id"] for s in got["suggestions"]] == [s.id for s in expected.suggestions]
    assert [h["effect"] for h in got["highlights"]] == pytest.approx(
        [h.effect for h in expected.highlights], abs=1e-12
    )


def test_the_same_question_gets_the_same_answer(client: TestClient) -> None:
    a, b = (client.post("/v1/score", json=MESSY).json() for _ in range(2))
    for key in ("score", "band", "verdict", "closing_risk", "suggestions", "highlights"):
        assert a[key] == b[key]
    assert a["request_id"] != b["request_id"]


def test_feedback_is_stored_and_acknowledged(client: TestClient, sqlite_url: str) -> None:
    scored = client.post("/v1/score", json=MESSY).json()
    r = client.post(
        "/v1/feedback",
        json={
            "request_id": scored["request_id"],
            "suggestion_id": scored["suggestions"][0]["id"],
            "helpful": False,
            "comment": "I like my title",
        },
    )
    assert r.status_code == 201 and r.json()["stored"] is True
    row = next(
        f for f in Store.open(sqlite_url).rows("feedback") if f["id"] == r.json()["feedback_id"]
    )
    assert row["request_id"] == scored["request_id"] and row["helpful"] is False
    assert row["suggestion_id"] == scored["suggestions"][0]["id"]
    assert row["comment"] == "I like my title"


def test_feedback_on_an_unknown_score_is_refused(client: TestClient) -> None:
    r = client.post(
        "/v1/feedback",
        json={"request_id": "00000000-0000-0000-0000-000000000000", "helpful": True},
    )
    assert r.status_code == 404 and "no score with request_id" in r.json()["detail"]


def test_each_prediction_is_logged_with_its_features(client: TestClient, sqlite_url: str) -> None:
    scored = client.post("/v1/score", json={**MESSY, "site": "stackoverflow.com"}).json()
    row = next(
        p for p in Store.open(sqlite_url).rows("predictions")
        if p["request_id"] == scored["request_id"]
    )  # fmt: skip
    assert set(row["features"]) == set(feature_names())
    assert row["score"] == pytest.approx(scored["score"]) and row["band"] == scored["band"]
    assert row["model_version"] == scored["model"]["version"] and row["degraded"] is False
    assert row["suggestions"] == [s["id"] for s in scored["suggestions"]]
    assert row["site"] == "stackoverflow.com" and row["latency_ms"] > 0


def test_a_session_records_revisions_and_the_advice_followed(
    client: TestClient, sqlite_url: str
) -> None:
    first = client.post("/v1/score", json={**MESSY, "session_id": "page-1"}).json()
    second = client.post("/v1/score", json={**BETTER, "session_id": "page-1"}).json()
    revisions = [r for r in Store.open(sqlite_url).rows("revisions") if r["session_id"] == "page-1"]
    assert len(revisions) == 1
    revision = revisions[0]
    assert revision["previous_request_id"] == first["request_id"]
    assert revision["request_id"] == second["request_id"]
    assert revision["score_before"] == pytest.approx(first["score"])
    assert revision["score_after"] == pytest.approx(second["score"])
    shown = {s["id"] for s in first["suggestions"]}
    # BETTER drops the greeting, the thanks and their "!!!": what was shown for them is followed.
    assert "calm-punctuation" in shown
    assert set(revision["followed"]) == shown & {
        "calm-punctuation",
        "drop-noise",
        "title-as-question",
    }


def test_health_readiness_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    client.post("/v1/score", json=MESSY)
    client.post("/v1/score", json={"title": ""})
    page = client.get("/metrics").text
    assert 'askwell_requests_total{route="/v1/score",status="200"}' in page
    assert 'askwell_requests_total{route="/v1/score",status="422"}' in page
    assert 'askwell_errors_total{kind="invalid"}' in page
    for name in ("askwell_request_seconds_bucket", "askwell_score_bucket", "askwell_degraded 0.0",
                 "askwell_fallbacks_total 0.0"):  # fmt: skip
        assert name in page
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/score", "/v1/feedback", "/healthz", "/readyz"} <= set(paths)
    schema = paths["/v1/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"title", "body"} <= set(schema["required"])


def test_the_editor_page_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_serving_loads_the_registry_champion(tmp_path: Path) -> None:
    """Without --bundle, the service loads the version the registry calls champion."""
    import shutil

    from askwell.config import TrackingSettings
    from askwell.models.bundle import default_bundle
    from askwell.models.registry import Tracker
    from askwell.serving.service import load_model

    tracking = TrackingSettings(
        uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
    )
    settings = get_settings(environ={}).model_copy(update={"tracking": tracking})
    assert load_model(settings).source == "bundled default model"  # no registry yet
    assert not (tmp_path / "mlflow.db").exists()  # and looking did not create one
    bundle = shutil.copy(default_bundle(), tmp_path / "candidate.askwell")
    tracker = Tracker(tracking)
    tracker.set_alias("champion", tracker.register_bundle(Path(bundle)))
    choice = load_model(settings)
    assert choice.failure is None and choice.source.startswith("registry champion")


def test_an_unreadable_registry_serves_the_bundled_model_but_is_not_ready(
    tmp_path: Path,
) -> None:
    """A registry that exists but cannot be read: the bundled model answers (scores are
    the model's, not the fallback's), and the service says it is degraded, and why, rather
    than reporting itself healthy while serving a version nobody chose."""
    from askwell.config import TrackingSettings
    from askwell.serving.app import create_app
    from askwell.serving.service import load_model

    db = tmp_path / "mlflow.db"
    db.write_bytes(b"this is not an SQLite database" * 100)
    tracking = TrackingSettings(uri=f"sqlite:///{db}", artifact_root=str(tmp_path / "artifacts"))
    settings = get_settings(
        overrides={"serve.database_url": f"sqlite:///{tmp_path / 'askwell.db'}"}, environ={}
    ).model_copy(update={"tracking": tracking})
    choice = load_model(settings)
    assert choice.failure is None and choice.source == "bundled default model"
    assert choice.problem is not None and "registry" in choice.problem
    # base_url: a host the default serve.allowed_hosts lets in (the client's "testserver" is not)
    client = TestClient(create_app(settings, model=choice), base_url="http://localhost")
    question = {"title": "How do I parse JSON in Python?", "body": "`json.loads` fails."}
    scored = client.post("/v1/score", json=question)
    assert scored.status_code == 200 and scored.json()["degraded"] is False
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["model"].startswith("degraded: the registry's champion could not be read")
    assert "askwell_degraded 1.0" in client.get("/metrics").text
