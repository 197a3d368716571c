"""Drift monitoring (askwell.monitoring, ``askwell monitor run``) on real questions scored by
the shipped models: three days of traffic in a real SQLite store, two of real Stack Overflow
questions (drawn at the live closing rate, as the references are weighted) and one where
drift is injected (every question with its code removed, or a plea in place of its body).
The alerts must fire on the drifted day and stay silent on the two stable ones; the
statistics themselves are checked against cases whose answer is known."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from askwell.cli import app
from askwell.config import MonitorSettings
from askwell.explain.predictor import Predictor
from askwell.models.bundle import default_bundle
from askwell.models.perturbations import a_plea_instead, without_code
from askwell.monitoring.drift import drift, psi
from askwell.monitoring.monitor import Reference, run_monitor
from askwell.monitoring.reference import label_entry, numeric_entry
from askwell.records import Question
from askwell.store.db import PredictionRecord, Store
from askwell.store.tables import predictions
from tests.conftest import SHARED_DATA

pytestmark = [
    pytest.mark.data,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),
]

PER_DAY = 250
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
SETTINGS = MonitorSettings(min_n=100)


# -- the statistics -----------------------------------------------------------------------------


def test_equal_weights_give_numpys_quantiles_and_weights_move_them() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=1000)
    entry = numeric_entry(v)
    assert np.allclose(entry["quantiles"], np.quantile(v, np.linspace(0, 1, 101)))  # consistency
    assert np.isclose(sum(entry["shares"]), 1.0)
    heavy = numeric_entry(v, np.where(v > 0, 9.0, 1.0))  # positives count nine times
    assert heavy["quantiles"][50] > 0.5
    assert label_entry(["a", "b", "b"], [3.0, 1.0, 1.0])["shares"] == [0.6, 0.4]
    assert numeric_entry([1, 0, 1, 1])["kind"] == "discrete"


def test_the_same_distribution_does_not_drift_and_a_shifted_one_does() -> None:
    rng = np.random.default_rng(1)
    entry = numeric_entry(rng.lognormal(5, 1, size=2000))
    same = drift(entry, rng.lognormal(5, 1, size=500).tolist())
    shifted = drift(entry, rng.lognormal(4, 1, size=500).tolist())
    assert same is not None and shifted is not None
    assert same["psi"] < 0.05 and same["p_value"] > 0.01 and same["test"] == "ks"
    assert shifted["psi"] > 0.5 and shifted["p_value"] < 1e-6
    labels = label_entry(["ready"] * 70 + ["needs work"] * 20 + ["likely closed"] * 10)
    stable = drift(labels, ["ready"] * 140 + ["needs work"] * 40 + ["likely closed"] * 20)
    moved = drift(labels, ["ready"] * 40 + ["needs work"] * 60 + ["likely closed"] * 100)
    assert stable is not None and moved is not None
    assert stable["psi"] == pytest.approx(0.0, abs=1e-3) and stable["p_value"] > 0.5
    assert moved["psi"] > 0.25 and moved["p_value"] < 1e-6 and moved["test"] == "chi2"
    new = drift(labels, ["ready", "a verdict never seen"])
    assert new is not None and new["shares"]["other"] == 0.5
    counts = numeric_entry([1, 2, 2, 3, 3, 3] * 50)  # a count: values a window may exceed
    beyond = drift(counts, [1, 2, 2, 3, 3, 3] * 20 + [4])  # one question with 4
    assert beyond is not None and beyond["shares"]["other"] == 0.0 and beyond["p_value"] > 0.5
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert drift(entry, []) is None


# -- three days of real traffic -----------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    store: Store
    url: str
    references: list[Reference]


def _real_questions(predictor: Predictor) -> list[Question]:
    """The newest questions of the Stack Overflow sample (never trained on), closed ones at
    the live closing rate, in a seeded order."""
    frame = pd.read_csv(
        SHARED_DATA / "stackoverflow-closed" / "train-sample.csv", dtype=str, keep_default_na=False
    )
    frame["created"] = pd.to_datetime(frame["PostCreationDate"], format="%m/%d/%Y %H:%M:%S")
    newest = frame.sort_values(["created", "PostId"]).iloc[-8000:]
    live = predictor.closing_prior or 0.06
    n = 3 * PER_DAY
    n_closed = round(n * live)
    picked = pd.concat(
        [
            newest[newest["OpenStatus"] == "open"].sample(n - n_closed, random_state=0),
            newest[newest["OpenStatus"] != "open"].sample(n_closed, random_state=0),
        ]
    ).sample(frac=1.0, random_state=1)
    return [
        Question.from_markdown(
            r.Title, r.BodyMarkdown, tuple(t for t in (r.Tag1, r.Tag2, r.Tag3, r.Tag4, r.Tag5) if t)
        )
        for r in picked.itertuples(index=False)
    ]


def _record(predictor: Predictor, question: Question, i: int) -> PredictionRecord:
    scored = predictor.score(question)
    return PredictionRecord(
        request_id=f"r-{i}",
        session_id=f"s-{i}",
        site=None,
        model_name=predictor.info.name,
        model_version=scored.model_version,
        degraded=False,
        score=scored.score,
        band=scored.band,
        latency_ms=15.0,
        suggestions=[s.id for s in scored.suggestions],
        features=scored.features,
        closing_risk=scored.closing_risk,
        verdict=scored.verdict,
        closing_version=scored.closing_version,
    )


def _drifted(question: Question, i: int) -> Question:
    """Day 3: the code removed where there is some, else a plea in place of the body."""
    return without_code(question, i) or a_plea_instead(question, i) or question


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traffic]:
    predictor = Predictor.load()
    questions = _real_questions(predictor)
    url = f"sqlite:///{tmp_path_factory.mktemp('monitor') / 'askwell.db'}"
    store = Store.open(url)
    for i, question in enumerate(questions):
        day = i // PER_DAY
        record = _record(predictor, _drifted(question, i) if day == 2 else question, i)
        store.record_prediction(record)
        moment = DAY0 + timedelta(days=day, minutes=i % PER_DAY)
        with store.engine.begin() as connection:
            connection.execute(
                update(predictions)
                .where(predictions.c.request_id == record.request_id)
                .values(created_at=moment)
            )
    references = [
        Reference(predictor.model_version, predictor.info.reference),
        Reference(
            predictor.closing_version or "",
            predictor.closing_info.reference,  # type: ignore[union-attr]
            "closing_version",
        ),
    ]
    yield Traffic(store, url, references)
    store.close()


def test_alerts_fire_on_the_drifted_day_and_stay_silent_on_stable_ones(traffic: Traffic) -> None:
    """Against the closing model's reference: Stack Overflow questions as typed, as here."""
    results = run_monitor(traffic.store, traffic.references[1:], SETTINGS)
    windows = results["windows"]
    assert [w["n"] for w in windows] == [PER_DAY] * 3 and all(w["judged"] for w in windows)
    assert windows[0]["alerts"] == [] and windows[1]["alerts"] == [], [
        a["message"] for w in windows[:2] for a in w["alerts"]
    ]
    drifted = {a["subject"] for a in windows[2]["alerts"] if a["kind"] == "feature_drift"}
    assert {"n_code_blocks", "code_chars_share"} <= drifted, windows[2]["alerts"]
    outputs = {a["subject"] for a in windows[2]["alerts"] if a["kind"] == "output_drift"}
    assert "closing_risk" in outputs  # the judgement moves with it: less code, more risk
    assert (
        windows[2]["outputs"]["closing_risk"]["mean"]
        > windows[0]["outputs"]["closing_risk"]["mean"]
    )
    # Every catalog feature is tested in every window, with the test its type needs.
    for w in windows:
        assert set(w["features"]) == set(traffic.references[1].reference["features"])
    assert {r["test"] for r in windows[0]["features"].values() if r} == {"ks", "chi2"}


def test_the_answer_models_output_drifts_on_stack_overflow_traffic(traffic: Traffic) -> None:
    """A finding, not a construction: the answer model was calibrated on the small sites'
    questions (their final text), and its scores of Stack Overflow drafts sit elsewhere on
    every day, drifted or not; the monitor says so while the features stay quiet."""
    windows = run_monitor(traffic.store, traffic.references, SETTINGS)["windows"]
    for w in windows:
        assert "score" in {a["subject"] for a in w["alerts"] if a["kind"] == "output_drift"}
    assert not [a for a in windows[0]["alerts"] if a["kind"] == "feature_drift"]


def test_a_window_too_small_is_reported_not_judged(traffic: Traffic) -> None:
    results = run_monitor(traffic.store, traffic.references, MonitorSettings(min_n=PER_DAY + 1))
    assert not any(w["judged"] for w in results["windows"]) and results["alerts"] == []


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_command_stores_the_results_and_posts_the_alerts(
    traffic: Traffic, tmp_path: Path
) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = CliRunner().invoke(
            app,
            [
                "monitor",
                "run",
                "--database",
                traffic.url,
                "-o",
                str(tmp_path / "m"),
                "--bundle",
                str(default_bundle()),
            ],
            env={
                "COLUMNS": "200",
                "ASKWELL_MONITOR__MIN_N": "100",
                "ASKWELL_MONITOR__WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/hook",
            },
        )
    finally:
        server.shutdown()
    assert result.exit_code == 1, result.output  # alerts: a cron job sees them
    flat = " ".join(result.output.split())
    assert "3 windows (3 with 100+ predictions judged)" in flat
    assert "alerts posted to the webhook" in flat
    (posted,) = _Receiver.received
    features = [a for a in posted["alerts"] if a["kind"] == "feature_drift"]
    assert features and all(a["window_end"].startswith("2026-11-04") for a in features)
    saved = json.loads((tmp_path / "m.monitor.json").read_text())
    assert len(saved["alerts"]) == len(posted["alerts"])
    assert "## Alerts" in (tmp_path / "m.monitor.md").read_text()
    latest = traffic.store.latest_monitor_run()
    assert [w["n"] for w in latest] == [PER_DAY] * 3
    assert latest[2]["alerts"] == saved["windows"][2]["alerts"]
