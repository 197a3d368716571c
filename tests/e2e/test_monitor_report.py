"""``askwell monitor report``: the results of a real ``run_monitor`` over a real SQLite store
(four days of predictions against a reference, the third drifted, the fourth too small to
judge) as one self-contained page, checked as text and in Debian's Chromium, which also
takes the screenshot (var/screenshots/monitor-report.png)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser
from sqlalchemy import update
from typer.testing import CliRunner

from askwell.cli import app
from askwell.config import MonitorSettings
from askwell.monitoring.monitor import Reference, run_monitor
from askwell.monitoring.reference import label_entry, numeric_entry
from askwell.store.db import PredictionRecord, Store
from askwell.store.tables import predictions
from tests.conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning")

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
PER_DAY = (150, 150, 150, 20)  # the last day: fewer than min_n, reported and not judged
SETTINGS = MonitorSettings(min_n=100, min_feedback=10)
SCREENSHOT = REPO / "var" / "screenshots" / "monitor-report.png"
BANDS = ["strong", "fair", "weak"]
SECTIONS = ("alerts", "drift", "outputs", "operations", "performance", "rules", "windows")


def _reference(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "source": "synthetic test reference",
        "n": 3000,
        "features": {
            "n_code_blocks": numeric_entry(rng.poisson(1.5, 3000)),
            "body_words": numeric_entry(rng.lognormal(4.5, 0.6, 3000)),
            "title_words": numeric_entry(rng.poisson(9, 3000)),
            "n_links": numeric_entry(rng.poisson(0.3, 3000)),
        },
        "outputs": {
            "score": numeric_entry(rng.beta(5, 3, 3000)),
            "band": label_entry(rng.choice(BANDS, 3000, p=[0.3, 0.5, 0.2]).tolist()),
        },
    }


def _traffic(store: Store, rng: np.random.Generator) -> None:
    i = 0
    for day, n in enumerate(PER_DAY):
        drifted = day == 2  # code gone, bodies shorter, and the model scores lower
        for k in range(n):
            score = float(rng.beta(3, 5) if drifted else rng.beta(5, 3))
            band = BANDS[0] if score > 0.7 else BANDS[1] if score > 0.4 else BANDS[2]
            record = PredictionRecord(
                request_id=f"r-{i}",
                session_id=None,
                site=None,
                model_name="answer",
                model_version="answer-3",
                degraded=drifted and k % 10 == 0,
                score=score,
                band=band,
                latency_ms=float(rng.lognormal(3, 0.4)),
                suggestions=["add_code"] if k % 2 else ["shorter_title"],
                features={
                    "n_code_blocks": 0.0 if drifted else float(rng.poisson(1.5)),
                    "body_words": float(rng.lognormal(3.8 if drifted else 4.5, 0.6)),
                    "title_words": float(rng.poisson(9)),
                    "n_links": float(rng.poisson(0.3)),
                },
            )
            store.record_prediction(record)
            if k % 2 and k < 40:  # feedback on add_code: mostly unhelpful on the drifted day
                store.record_feedback(record.request_id, "add_code", not drifted, None)
            with store.engine.begin() as connection:
                connection.execute(
                    update(predictions)
                    .where(predictions.c.request_id == record.request_id)
                    .values(created_at=DAY0 + timedelta(days=day, minutes=5 * k))
                )
            i += 1


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The store's URL, and the results ``askwell monitor run`` would write (stored too)."""
    rng = np.random.default_rng(7)
    url = f"sqlite:///{tmp_path_factory.mktemp('monitor-report') / 'askwell.db'}"
    store = Store.open(url)
    try:
        _traffic(store, rng)
        results = run_monitor(store, [Reference("answer-3", _reference(rng))], SETTINGS)
        store.record_monitor_run(datetime.fromisoformat(results["time"]), results["windows"])
    finally:
        store.close()
    yield url, results


def _performance(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Late outcomes for the judged windows, as the outcome join will add them."""
    return [
        {
            "window_end": w["end"],
            "n": 120,
            "roc_auc": {"value": auc, "low": auc - 0.06, "high": auc + 0.05},
            "ece": ece,
            "positive_rate": 0.42,
        }
        for w, auc, ece in zip(
            results["windows"][:3], (0.71, 0.69, 0.58), (0.03, 0.04, 0.11), strict=True
        )
    ]


def _report(args: list[str]) -> str:
    result = CliRunner().invoke(app, ["monitor", "report", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "url(" not in page  # no stylesheet fetches either


def test_the_report_of_a_results_file_is_one_page_with_every_section(
    monitored: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    _, results = monitored
    windows = results["windows"]
    assert [w["judged"] for w in windows] == [True, True, True, False]
    assert any(a["kind"] == "feature_drift" for a in windows[2]["alerts"])  # the drifted day
    saved = tmp_path / "m.monitor.json"
    saved.write_text(json.dumps({**results, "performance": _performance(results)}))
    out = tmp_path / "report" / "monitor.html"

    said = _report(["--results", str(saved), "--out", str(out)])
    assert f"4 windows, {len(results['alerts'])} alerts" in said
    assert [p.name for p in out.parent.iterdir()] == ["monitor.html"]  # nothing beside it
    page = out.read_text(encoding="utf-8")
    _self_contained(page)
    for section in SECTIONS:
        assert f"id='{section}'" in page
    # Heatmap, PSI lines, means, output PSI, band shares, degraded, latency, performance.
    assert page.count('<img src="data:image/png;base64,') == 8
    assert "n_code_blocks drifted" in page and "ROC AUC" in page and "0.580" in page
    assert "No outcomes have arrived yet" not in page


def test_the_report_of_the_stores_latest_run_says_no_outcomes_have_arrived(
    monitored: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, results = monitored
    out = tmp_path / "report.html"
    said = _report(["--database", url, "--out", str(out)])
    assert f"4 windows, {len(results['alerts'])} alerts" in said
    page = out.read_text(encoding="utf-8")
    _self_contained(page)
    assert "No outcomes have arrived yet" in page
    assert page.count('<img src="data:image/png;base64,') == 7
    assert "the store&#x27;s latest run" in page


def test_files_that_are_not_what_they_should_be_are_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "other.json"
    wrong.write_text('{"kind": "askwell rollout"}')
    results = tmp_path / "m.monitor.json"
    results.write_text('{"windows": [], "alerts": []}')
    out = tmp_path / "r.html"
    for args, said in (
        (["--results", str(wrong)], "not the results of askwell monitor run (no 'windows' list)"),
        (
            ["--results", str(results), "--outcomes", str(results)],
            "not the results of askwell monitor outcomes (no 'performance' list)",
        ),
    ):
        result = CliRunner().invoke(
            app, ["monitor", "report", *args, "--out", str(out)], env={"COLUMNS": "300"}
        )
        assert result.exit_code != 0
        assert said in " ".join(result.output.split())
        assert not out.exists()


@pytest.mark.browser
def test_the_report_renders_in_chromium_with_every_image_and_nothing_fetched(
    browser: Browser, monitored: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """With the outcomes as askwell monitor outcomes writes them: one month per window, the
    last without an AUC (every outcome alike), and an alert."""
    _, results = monitored
    saved = tmp_path / "m.monitor.json"
    saved.write_text(json.dumps(results))
    months = [{**p, "month": p["window_end"][:7], "pending": 3} for p in _performance(results)]
    months[-1] = {**months[-1], "roc_auc": None, "ece": None, "positive_rate": 1.0}
    late = tmp_path / "o.outcomes.json"
    alert = {
        "window_end": months[1]["window_end"],
        "kind": "performance",
        "subject": "roc_auc",
        "value": 0.69,
        "threshold": 0.7,
        "message": "questions of 2026-11: ROC AUC 0.690 [0.630, 0.740] against 0.75",
    }
    late.write_text(
        json.dumps({"performance": months, "alerts": [alert], "reference_roc_auc": 0.75})
    )
    out = tmp_path / "report.html"
    _report(["--results", str(saved), "--outcomes", str(late), "--out", str(out)])
    assert "The model&#x27;s ROC AUC on its test set: 0.750." in out.read_text()

    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    fetched: list[str] = []
    page.on(
        "request",
        lambda r: fetched.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    try:
        page.goto(out.as_uri())
        assert page.locator("h1").inner_text() == "Monitoring report"
        headings = page.locator("h2").all_inner_texts()
        assert headings[0].startswith("Alerts (") and "Performance over time" in headings
        images = page.locator("img")
        assert images.count() == 8
        widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert all(w > 300 for w in widths), widths  # every plot decoded
        rows = page.locator("#alerts + div table tbody tr")
        assert rows.count() == len(results["alerts"]) + 1  # the outcomes' alert too
        assert "ROC AUC 0.690" in rows.last.inner_text()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    finally:
        context.close()
    assert fetched == []
    assert SCREENSHOT.stat().st_size > 10_000
