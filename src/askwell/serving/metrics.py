"""Prometheus metrics of the service.

Each app has its own registry (tests build many apps in one process). The service answers
HTTP from one process (scoring processes report through it), so the registry sees every
request. Run under several server processes (``uvicorn --workers``), set
``PROMETHEUS_MULTIPROC_DIR`` before they start: ``/metrics`` then adds them up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))


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

    def exposition(self) -> tuple[bytes, str]:
        """The metrics page and its content type."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
