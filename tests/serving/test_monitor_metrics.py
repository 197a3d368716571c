"""The latest monitoring run as Prometheus gauges on a real app: stored with
``Store.record_monitor_run`` as ``askwell monitor run`` stores it, read when /metrics is
scraped (at most once every ``every_s``), and a store that cannot be read never fails the
scrape."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from askwell.serving.metrics import MULTIPROC_ENV, Metrics, MonitorCollector
from askwell.store.db import Store
from tests.serving.conftest import client_for

RUN_AT = datetime(2026, 11, 4, 6, 0, tzinfo=UTC)


def _window(day: int, n: int, *, judged: bool, drifted: bool) -> dict[str, Any]:
    """One window as ``run_monitor`` gives it (its shape, with plausible values)."""
    start = datetime(2026, 11, day, tzinfo=UTC)
    end = datetime(2026, 11, day + 1, tzinfo=UTC)
    code = (
        {"n": n, "psi": 1.31, "test": "ks", "statistic": 0.42, "p_value": 3e-40, "mean": 0.2}
        if drifted
        else {"n": n, "psi": 0.02, "test": "ks", "statistic": 0.04, "p_value": 0.61, "mean": 1.1}
    )
    alerts = [
        {
            "window_end": end.isoformat(),
            "kind": "feature_drift",
            "subject": "n_code_blocks",
            "value": 1.31,
            "threshold": 0.25,
            "message": "n_code_blocks drifted: PSI 1.31 (alert at 0.25), ks p = 3e-40, "
            f"{n} predictions",
        },
        {
            "window_end": end.isoformat(),
            "kind": "output_drift",
            "subject": "closing_risk",
            "value": 0.61,
            "threshold": 0.25,
            "message": f"closing_risk drifted: PSI 0.61 (alert at 0.25), ks p = 1e-12, {n} "
            "predictions",
        },
    ]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "n": n,
        "judged": judged,
        "features": {
            "n_code_blocks": code,
            "title_words": {
                "n": n,
                "psi": 0.05,
                "test": "chi2",
                "statistic": 12.5,
                "p_value": 0.25,
                "shares": {"8.0": 0.3, "other": 0.7},
            },
            "n_links": None,  # every value missing in the window
        },
        "outputs": {
            "closing_risk": {
                "n": n,
                "psi": 0.61 if drifted else 0.03,
                "test": "ks",
                "statistic": 0.3,
                "p_value": 1e-12 if drifted else 0.4,
                "mean": 0.31,
                "model_version": "closing-7",
            },
            "verdict": {
                "n": n,
                "psi": 0.08,
                "test": "chi2",
                "statistic": 9.0,
                "p_value": 0.02,
                "shares": {"ready to post": 0.6, "needs work": 0.3, "likely closed": 0.1},
                "model_version": "closing-7",
            },
        },
        "degraded_rate": 0.08 if drifted else 0.0,
        "latency_ms": {"p50": 14.0, "p99": 42.0},
        "rules": {
            "add_code": {"shown": 90, "feedback": 25, "not_helpful": 20, "not_helpful_share": 0.8},
            "shorter_title": {
                "shown": 4,
                "feedback": 0,
                "not_helpful": 0,
                "not_helpful_share": None,
            },
        },
        "alerts": alerts if drifted and judged else [],
    }


def _store_run(url: str, run_at: datetime, windows: list[dict[str, Any]]) -> None:
    store = Store.open(url)
    try:
        store.record_monitor_run(run_at, windows)
    finally:
        store.close()


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def _collector(client: TestClient) -> MonitorCollector:
    collector = client.app.state.service.metrics.monitor  # type: ignore[attr-defined]
    assert isinstance(collector, MonitorCollector)
    return collector


def _monitor(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
    return {
        name + "".join(f"[{v}]" for _, v in labels): value
        for (name, labels), value in scraped.items()
        if name.startswith("askwell_monitor_")
        and not name.startswith("askwell_monitor_read_failures")
    }


def test_the_latest_judged_window_is_scraped_and_a_new_run_shows_after_the_cache(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'askwell.db'}"
    _store_run(
        url,
        RUN_AT,
        [
            _window(2, 250, judged=True, drifted=False),
            _window(3, 250, judged=True, drifted=True),
            _window(4, 12, judged=False, drifted=False),  # today so far: reported, not judged
        ],
    )
    client = client_for(url)
    clock = [0.0]
    _collector(client).clock = lambda: clock[0]
    try:
        first = _monitor(_scrape(client))
        assert first == {
            "askwell_monitor_window_end_timestamp_seconds": datetime(
                2026, 11, 4, tzinfo=UTC
            ).timestamp(),
            "askwell_monitor_latest_window_end_timestamp_seconds": datetime(
                2026, 11, 5, tzinfo=UTC
            ).timestamp(),
            "askwell_monitor_window_predictions": 250.0,
            "askwell_monitor_feature_psi[n_code_blocks]": 1.31,
            "askwell_monitor_feature_p_value[n_code_blocks]": 3e-40,
            "askwell_monitor_feature_psi[title_words]": 0.05,
            "askwell_monitor_feature_p_value[title_words]": 0.25,
            "askwell_monitor_output_psi[closing-7][closing_risk]": 0.61,
            "askwell_monitor_output_p_value[closing-7][closing_risk]": 1e-12,
            "askwell_monitor_output_psi[closing-7][verdict]": 0.08,
            "askwell_monitor_output_p_value[closing-7][verdict]": 0.02,
            "askwell_monitor_alerts[degraded]": 0.0,
            "askwell_monitor_alerts[feature_drift]": 1.0,
            "askwell_monitor_alerts[latency]": 0.0,
            "askwell_monitor_alerts[output_drift]": 1.0,
            "askwell_monitor_alerts[rule_feedback]": 0.0,
            "askwell_monitor_degraded_rate": 0.08,
            "askwell_monitor_latency_p99_seconds": 0.042,
            "askwell_monitor_rule_feedback[add_code]": 25.0,
            "askwell_monitor_rule_feedback[shorter_title]": 0.0,
            "askwell_monitor_rule_not_helpful_share[add_code]": 0.8,
        }

        # A newer run: the next scrapes within every_s keep the values read...
        _store_run(url, RUN_AT.replace(day=5), [_window(4, 300, judged=True, drifted=False)])
        clock[0] = 10.0
        assert _monitor(_scrape(client)) == first
        # ...and after it, the newer run shows (no drift, no alerts).
        clock[0] = 31.0
        second = _monitor(_scrape(client))
        assert second["askwell_monitor_feature_psi[n_code_blocks]"] == 0.02
        assert second["askwell_monitor_window_predictions"] == 300.0
        assert second["askwell_monitor_alerts[feature_drift]"] == 0.0
        assert second["askwell_monitor_window_end_timestamp_seconds"] == (
            datetime(2026, 11, 5, tzinfo=UTC).timestamp()
        )
    finally:
        client.app.state.service.store.close()  # type: ignore[attr-defined]


def test_a_store_that_cannot_be_read_is_counted_and_never_fails_the_scrape(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    url = f"sqlite:///{folder / 'askwell.db'}"
    _store_run(url, RUN_AT, [_window(3, 250, judged=True, drifted=True)])
    client = client_for(url)
    clock = [0.0]
    _collector(client).clock = lambda: clock[0]
    try:
        before = _scrape(client)
        assert before[("askwell_monitor_read_failures_total", ())] == 0.0
        shutil.rmtree(folder)  # the database is gone under the running service
        clock[0] = 100.0
        after = _scrape(client)
        assert after[("askwell_monitor_read_failures_total", ())] == 1.0
        assert _monitor(after) == _monitor(before)  # the values last read stay
        clock[0] = 110.0  # within every_s of the failed read: no new attempt
        assert _scrape(client)[("askwell_monitor_read_failures_total", ())] == 1.0
        clock[0] = 200.0
        assert _scrape(client)[("askwell_monitor_read_failures_total", ())] == 2.0
    finally:
        client.app.state.service.store.close()  # type: ignore[attr-defined]


def test_before_any_run_the_monitor_gauges_are_empty(tmp_path: Path) -> None:
    client = client_for(f"sqlite:///{tmp_path / 'askwell.db'}")
    try:
        answer = client.get("/metrics")
        assert answer.status_code == 200
        assert "# TYPE askwell_monitor_feature_psi gauge" in answer.text
        assert _monitor(_scrape(client)) == {}
        assert _scrape(client)[("askwell_monitor_read_failures_total", ())] == 0.0
    finally:
        client.app.state.service.store.close()  # type: ignore[attr-defined]


def test_with_several_processes_the_page_shows_the_run_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under PROMETHEUS_MULTIPROC_DIR the page is built from the processes' files; the
    monitoring gauges, read from the store, are added to it as they are."""
    metrics = Metrics()
    metrics.follow_monitoring(lambda: [_window(3, 250, judged=True, drifted=True)])
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    payload, _ = metrics.exposition()
    assert 'askwell_monitor_feature_psi{feature="n_code_blocks"} 1.31' in payload.decode()
