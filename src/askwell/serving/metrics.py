"""Prometheus metrics of the service.

Each app has its own registry (tests build many apps in one process). The service answers
HTTP from one process (scoring processes report through it), so the registry sees every
request. Run under several server processes (``uvicorn --workers``), set
``PROMETHEUS_MULTIPROC_DIR`` before they start: ``/metrics`` then adds them up.

The latest ``askwell monitor run`` (kept in the store's ``monitor_runs`` table) is shown as
``askwell_monitor_*`` gauges (``MonitorCollector``), read from the store when ``/metrics`` is
scraped, at most once every ``MONITOR_REFRESH_S`` seconds. They come from the database, not
from the process, so with ``PROMETHEUS_MULTIPROC_DIR`` set the process that answers the scrape
reads them itself and every process shows the same values.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
MONITOR_REFRESH_S = 30.0  # a scrape reads the store at most this often (Prometheus: every 15 s)
log = logging.getLogger("askwell.serving")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "askwell_requests", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "askwell_request_seconds",
            "Time to answer, by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "askwell_errors",
            "Failures by kind: model (a request fell back), store (a write or read failed), "
            "invalid (a request was refused)",
            ["kind"],
            registry=r,
        )
        self.fallbacks = Counter(
            "askwell_fallbacks", "Scores answered by the rule-based fallback", registry=r
        )
        self.scores = Histogram(
            "askwell_score", "Scores given, by band", ["band"], buckets=_SCORE_BUCKETS, registry=r
        )
        self.degraded = Gauge(
            "askwell_degraded",
            "1 while the service is not what it was set up to be: the model could not be "
            "loaded (every score is the fallback's) or the registry could not be read",
            registry=r,
            multiprocess_mode="max",
        )
        self.scoring_processes = Gauge(
            "askwell_scoring_processes",
            "Scoring processes alive. With --workers 1 (the default) it is 0: the server "
            "process scores every question itself. With --workers N > 1, 0 means none is "
            "running and scores come from the rule-based fallback until one is back",
            registry=r,
            multiprocess_mode="max",
        )

        self.serving = Gauge(
            "askwell_model_serving",
            "1 for each arm's model in use: arm (champion, challenger), its registry version "
            "(empty: not from the registry) and its model version",
            ["arm", "registry_version", "model_version"],
            registry=r,
            multiprocess_mode="max",
        )
        self.reloads = Counter(
            "askwell_reloads",
            "Models put in service without a restart (result=ok) or refused, the previous "
            "one serving on (result=failed), by arm",
            ["arm", "result"],
            registry=r,
        )
        self.reload_failed = Gauge(
            "askwell_reload_failed",
            "1 while the registry names a model that was refused (the previous one serves)",
            registry=r,
            multiprocess_mode="max",
        )
        self.arm_requests = Counter(
            "askwell_arm_scores", "Scores answered, by arm", ["arm"], registry=r
        )
        self.shadow_scored = Counter(
            "askwell_shadow_scored", "Requests the challenger scored in the shadow", registry=r
        )
        self.shadow_dropped = Counter(
            "askwell_shadow_dropped",
            "Requests the shadow challenger did not score: its queue was full",
            registry=r,
        )
        self.monitor_read_failures = Counter(
            "askwell_monitor_read_failures",
            "Scrapes that could not read the latest monitoring run from the store; the "
            "askwell_monitor_* gauges keep the values last read",
            registry=r,
        )
        self.monitor: MonitorCollector | None = None

    def follow_monitoring(
        self, read: Callable[[], Sequence[dict[str, Any]]], every_s: float = MONITOR_REFRESH_S
    ) -> None:
        """Shows the monitoring run ``read`` returns (its windows, oldest first; the
        store's ``latest_monitor_run``) as the ``askwell_monitor_*`` gauges."""
        self.monitor = MonitorCollector(read, self.monitor_read_failures, every_s)
        self.registry.register(self.monitor)

    def exposition(self) -> tuple[bytes, str]:
        """The metrics page and its content type."""
        if self.monitor is not None:  # before the page: a failed read counts on this one
            self.monitor.refresh()
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            if self.monitor is not None:  # read from the store, not summed over processes
                registry.register(self.monitor)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


# The gauges of the latest monitoring run: name, help, labels.
_MONITOR_GAUGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "askwell_monitor_window_end_timestamp_seconds",
        "End of the window the other askwell_monitor_* gauges describe: the latest judged "
        "window (monitor.min_n predictions or more) of the latest askwell monitor run",
        (),
    ),
    (
        "askwell_monitor_latest_window_end_timestamp_seconds",
        "End of the latest window of the latest monitoring run, judged or not; it stops "
        "moving when the monitor stops running (or nothing is scored)",
        (),
    ),
    ("askwell_monitor_window_predictions", "Predictions people saw in the window", ()),
    (
        "askwell_monitor_feature_psi",
        "PSI of a catalog feature in the window against the serving model's reference",
        ("feature",),
    ),
    (
        "askwell_monitor_feature_p_value",
        "p-value of the feature's drift test (KS or chi-square) in the window",
        ("feature",),
    ),
    (
        "askwell_monitor_output_psi",
        "PSI of a model output (score, band, closing_risk, verdict) against its reference",
        ("output", "model_version"),
    ),
    (
        "askwell_monitor_output_p_value",
        "p-value of the output's drift test in the window",
        ("output", "model_version"),
    ),
    (
        "askwell_monitor_alerts",
        "Alerts the monitor raised in the window, by kind (thresholds: monitor.*)",
        ("kind",),
    ),
    (
        "askwell_monitor_degraded_rate",
        "Share of the window's answers that came from the rule-based fallback",
        (),
    ),
    ("askwell_monitor_latency_p99_seconds", "p99 latency of the window's answers", ()),
    (
        "askwell_monitor_rule_feedback",
        "Feedback on a suggestion rule's advice in the window",
        ("rule",),
    ),
    (
        "askwell_monitor_rule_not_helpful_share",
        "Share of a suggestion rule's feedback in the window that said not helpful (rules "
        "with feedback only)",
        ("rule",),
    ),
)
MONITOR_GAUGES = tuple(name for name, _, _ in _MONITOR_GAUGES)
ALERT_KINDS = ("feature_drift", "output_drift", "degraded", "latency", "rule_feedback")
Samples = dict[str, list[tuple[tuple[str, ...], float]]]


@dataclass(eq=False)  # hashable by identity: the registry keys on its collectors
class MonitorCollector:
    """The latest monitoring run as gauges, read by ``read`` on ``refresh`` (each scrape),
    at most once every ``every_s`` seconds (``clock``: seconds, monotonic). A read that
    fails, the store down or a result it cannot parse, never fails the scrape: it counts in
    ``failures``, and the values last read stay (the timestamps say how old they are)."""

    read: Callable[[], Sequence[dict[str, Any]]]
    failures: Counter
    every_s: float = MONITOR_REFRESH_S
    clock: Callable[[], float] = time.monotonic
    _samples: Samples = field(default_factory=dict)
    _read_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> list[Metric]:
        return list(_families({}))  # the names, without reading the store

    def collect(self) -> Iterator[Metric]:
        yield from _families(self._samples)

    def refresh(self) -> None:
        """Reads the run again unless it was read (or tried) less than ``every_s`` ago."""
        if self._read_at is not None and self.clock() - self._read_at < self.every_s:
            return
        if not self._lock.acquire(blocking=False):
            return  # another scrape is reading: this one shows what was read before
        try:
            self._samples = monitor_samples(self.read())
        except Exception as exc:  # the scrape must answer whatever the store does
            self.failures.inc()
            log.warning("cannot read the latest monitoring run: %s", exc)
        finally:
            self._read_at = self.clock()
            self._lock.release()


def monitor_samples(windows: Sequence[dict[str, Any]]) -> Samples:
    """The gauges' samples for a run's ``windows`` (oldest first): the latest judged
    window's drift, alerts, health and feedback; none before a run judged any window."""
    samples: Samples = {name: [] for name in MONITOR_GAUGES}
    if not windows:
        return samples

    def put(name: str, value: Any, *labels: str) -> None:
        if value is not None:
            samples[name].append((labels, float(value)))

    put("askwell_monitor_latest_window_end_timestamp_seconds", _timestamp(windows[-1]["end"]))
    judged = [w for w in windows if w.get("judged")]
    if not judged:
        return samples
    w = judged[-1]
    put("askwell_monitor_window_end_timestamp_seconds", _timestamp(w["end"]))
    put("askwell_monitor_window_predictions", w["n"])
    for name, result in sorted(w.get("features", {}).items()):
        if result is not None:
            put("askwell_monitor_feature_psi", result["psi"], name)
            put("askwell_monitor_feature_p_value", result["p_value"], name)
    for name, result in sorted(w.get("outputs", {}).items()):
        if result is not None:
            version = str(result.get("model_version", ""))
            put("askwell_monitor_output_psi", result["psi"], name, version)
            put("askwell_monitor_output_p_value", result["p_value"], name, version)
    kinds = dict.fromkeys(ALERT_KINDS, 0)
    for alert in w.get("alerts", []):
        kinds[str(alert["kind"])] = kinds.get(str(alert["kind"]), 0) + 1
    for kind, count in kinds.items():
        put("askwell_monitor_alerts", count, kind)
    put("askwell_monitor_degraded_rate", w.get("degraded_rate"))
    p99 = w.get("latency_ms", {}).get("p99")
    put("askwell_monitor_latency_p99_seconds", None if p99 is None else float(p99) / 1000)
    for rule, stats in sorted(w.get("rules", {}).items()):
        put("askwell_monitor_rule_feedback", stats["feedback"], rule)
        put("askwell_monitor_rule_not_helpful_share", stats.get("not_helpful_share"), rule)
    return samples


def _timestamp(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def _families(samples: Samples) -> Iterator[Metric]:
    for name, documentation, labels in _MONITOR_GAUGES:
        family = GaugeMetricFamily(name, documentation, labels=list(labels))
        for values, value in samples.get(name, []):
            family.add_metric(list(values), value)
        yield family
