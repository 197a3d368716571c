"""``askwell monitor``: the prediction log, window by window, against the references of the
models that serve (``monitoring.reference``), with the alerts the thresholds in ``monitor.*``
settings raise.

Per window (``monitor.window_hours`` wide, aligned to the start of the log's first day): the
predictions people saw (shadow scorings are left out), and for each

- catalog feature: drift against the reference (PSI and a test, ``monitoring.drift``); every
  prediction counts, whichever model made it (the features do not depend on the model);
- model output (answer ``score`` and ``band``; ``closing_risk`` and ``verdict``): the same,
  over the predictions of the model version the reference belongs to;
- operations: the degraded share (the model failed and the rules answered), latency p50/p99;
- advice: per suggestion rule, how often it was shown and how much of its feedback said "not
  helpful".

A drift alert needs both a large PSI (``monitor.psi_alert``) and a small p-value
(``monitor.p_value``): with thousands of predictions any shift is significant, with a few
dozen PSI is noise. Windows with fewer than ``monitor.min_n`` predictions are reported, not
judged. The results are stored in the store's ``monitor_runs`` table (so /metrics can show
the latest), and alerts can be posted to a webhook.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from askwell.config import MonitorSettings, Settings
from askwell.errors import InputError
from askwell.monitoring.drift import drift
from askwell.store.db import SHADOW, Store, StoreError
from askwell.store.tables import feedback, predictions

log = logging.getLogger("askwell.monitor")
OUTPUTS = {"score": "score", "band": "band", "closing_risk": "closing_risk", "verdict": "verdict"}


@dataclass(frozen=True)
class Reference:
    """One model's reference, and the model version whose outputs it describes (the stored
    predictions' ``version_column``: the answer model's, or the closing model's)."""

    model_version: str
    reference: dict[str, Any]
    version_column: str = "model_version"


def serving_references(settings: Settings) -> list[Reference]:
    """The references of the models ``askwell serve`` loads with ``settings`` (the answer
    model, then the closing model); refused when none carries one."""
    from askwell.explain.predictor import Predictor
    from askwell.serving.service import load_model

    choice = load_model(settings)
    predictor = choice.scorer
    if choice.failure is not None or not isinstance(predictor, Predictor):
        raise InputError(f"no model to monitor: {choice.failure}")
    found = [Reference(predictor.model_version, predictor.info.reference)]
    if predictor.closing_info is not None and predictor.closing_version is not None:
        found.append(
            Reference(
                predictor.closing_version, predictor.closing_info.reference, "closing_version"
            )
        )
    found = [r for r in found if r.reference]
    if not found:
        raise InputError(
            f"the bundles that serve ({choice.source}) carry no reference to monitor "
            "against: add one with askwell bundles reference BUNDLE DATASET"
        )
    return found


def reference_auc(settings: Settings, label: str) -> float | None:
    """The test ROC AUC of the serving model that predicts ``label`` (the closing model for
    ``closed``, else the answer model), from its bundle; None when it records none."""
    from askwell.explain.predictor import Predictor
    from askwell.serving.service import load_model

    predictor = load_model(settings).scorer
    if not isinstance(predictor, Predictor):
        return None
    for info in (predictor.info, predictor.closing_info):
        if info is not None and info.label.get("name") == label:
            value = info.metrics.get("test_roc_auc")
            return None if value is None else float(value)
    return None


def read_log(
    store: Store, since: datetime | None, until: datetime | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions people saw, and all feedback, between ``since`` and ``until``."""
    shown = select(
        predictions.c.request_id,
        predictions.c.created_at,
        predictions.c.model_version,
        predictions.c.degraded,
        predictions.c.score,
        predictions.c.band,
        predictions.c.closing_risk,
        predictions.c.verdict,
        predictions.c.closing_version,
        predictions.c.latency_ms,
        predictions.c.suggestions,
        predictions.c.features,
    ).where(predictions.c.arm != SHADOW)
    notes = select(
        feedback.c.request_id, feedback.c.suggestion_id, feedback.c.helpful, feedback.c.created_at
    )
    if since is not None:
        shown = shown.where(predictions.c.created_at >= since)
        notes = notes.where(feedback.c.created_at >= since)
    if until is not None:
        shown = shown.where(predictions.c.created_at < until)
        notes = notes.where(feedback.c.created_at < until)
    try:
        with store.engine.connect() as connection:
            preds = connection.execute(shown.order_by(predictions.c.id))
            p = pd.DataFrame(preds.fetchall(), columns=list(preds.keys()))
            fb = connection.execute(notes)
            f = pd.DataFrame(fb.fetchall(), columns=list(fb.keys()))
    except Exception as exc:
        raise StoreError(f"cannot read the prediction log: {exc}") from None
    if len(p):
        p["created_at"] = pd.to_datetime(p["created_at"], utc=True)
    return p, f


def run_monitor(
    store: Store,
    references: list[Reference],
    settings: MonitorSettings,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The monitoring results (JSON-ready) over the log's windows, with their alerts."""
    preds, fb = read_log(store, since, until)
    features_ref = _features_reference(references)
    windows: list[dict[str, Any]] = []
    if len(preds):
        start = _floor_day(preds["created_at"].min().to_pydatetime())
        end = until or preds["created_at"].max().to_pydatetime() + timedelta(microseconds=1)
        width = timedelta(hours=settings.window_hours)
        t = start
        while t < end:
            inside = preds[(preds["created_at"] >= t) & (preds["created_at"] < t + width)]
            if len(inside):
                windows.append(
                    _window(inside, fb, t, t + width, features_ref, references, settings)
                )
            t += width
    alerts = [a for w in windows for a in w["alerts"]]
    return {
        "kind": "askwell monitor",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "references": [
            {
                "model_version": r.model_version,
                "source": r.reference.get("source"),
                "n": r.reference.get("n"),
            }
            for r in references
        ],
        "settings": settings.model_dump(exclude={"webhook_url"}),
        "windows": windows,
        "alerts": alerts,
    }


def _features_reference(references: list[Reference]) -> dict[str, Any]:
    """The catalog features' reference: the last model's that has one (the closing model,
    when it serves: its calibration questions are Stack Overflow questions as typed, the
    closest to what the editor receives)."""
    for r in reversed(references):
        if r.reference.get("features"):
            return dict(r.reference["features"])
    return {}


def _floor_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _window(
    rows: pd.DataFrame,
    fb: pd.DataFrame,
    start: datetime,
    end: datetime,
    features_ref: dict[str, Any],
    references: list[Reference],
    settings: MonitorSettings,
) -> dict[str, Any]:
    n = len(rows)
    judged = n >= settings.min_n
    window: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "n": n,
        "judged": judged,
        "features": {},
        "outputs": {},
    }
    served = rows[~rows["degraded"].astype(bool)]
    values = pd.DataFrame(list(served["features"])) if len(served) else pd.DataFrame()
    for name, entry in features_ref.items():
        if name in values:
            window["features"][name] = drift(entry, values[name].tolist())
    for ref in references:
        mine = served[served[ref.version_column] == ref.model_version]
        for name, entry in ref.reference.get("outputs", {}).items():
            column = OUTPUTS.get(name)
            if column is None or column not in mine:
                continue
            found = mine[column].dropna().tolist()
            result = drift(entry, found) if found else None
            if result is not None:
                window["outputs"][name] = {**result, "model_version": ref.model_version}
    latency = rows["latency_ms"].to_numpy(dtype=float)
    window["degraded_rate"] = float(rows["degraded"].astype(bool).mean())
    window["latency_ms"] = {
        "p50": float(np.percentile(latency, 50)),
        "p99": float(np.percentile(latency, 99)),
    }
    window["rules"] = _rules(rows, fb)
    window["alerts"] = _alerts(window, settings) if judged else []
    return window


def _rules(rows: pd.DataFrame, fb: pd.DataFrame) -> dict[str, dict[str, Any]]:
    shown: dict[str, int] = {}
    for ids in rows["suggestions"]:
        for rule in ids:
            shown[str(rule)] = shown.get(str(rule), 0) + 1
    mine = fb[fb["request_id"].isin(set(rows["request_id"]))] if len(fb) else fb
    out: dict[str, dict[str, Any]] = {}
    for rule, count in sorted(shown.items()):
        notes = mine[mine["suggestion_id"] == rule] if len(mine) else mine
        not_helpful = int((~notes["helpful"].astype(bool)).sum()) if len(notes) else 0
        out[rule] = {
            "shown": count,
            "feedback": len(notes),
            "not_helpful": not_helpful,
            "not_helpful_share": not_helpful / len(notes) if len(notes) else None,
        }
    return out


def _alerts(window: dict[str, Any], settings: MonitorSettings) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []

    def raise_(kind: str, subject: str, value: float, threshold: float, message: str) -> None:
        alerts.append(
            {
                "window_end": window["end"],
                "kind": kind,
                "subject": subject,
                "value": value,
                "threshold": threshold,
                "message": message,
            }
        )

    for family, kind in (("features", "feature_drift"), ("outputs", "output_drift")):
        for name, result in window[family].items():
            if result is None:
                continue
            if result["psi"] >= settings.psi_alert and result["p_value"] < settings.p_value:
                raise_(
                    kind,
                    name,
                    result["psi"],
                    settings.psi_alert,
                    f"{name} drifted: PSI {result['psi']:.2f} (alert at {settings.psi_alert}), "
                    f"{result['test']} p = {result['p_value']:.2g}, {result['n']} predictions",
                )
    if window["degraded_rate"] > settings.max_degraded_rate:
        raise_(
            "degraded",
            "degraded_rate",
            window["degraded_rate"],
            settings.max_degraded_rate,
            f"{window['degraded_rate']:.1%} of answers came from the rule-based fallback",
        )
    p99 = window["latency_ms"]["p99"]
    if p99 > settings.max_latency_p99_ms:
        raise_(
            "latency",
            "latency_p99_ms",
            p99,
            settings.max_latency_p99_ms,
            f"p99 latency {p99:.0f} ms",
        )
    for rule, stats_ in window["rules"].items():
        share = stats_["not_helpful_share"]
        if (
            share is not None
            and stats_["feedback"] >= settings.min_feedback
            and share > settings.max_not_helpful
        ):
            raise_(
                "rule_feedback",
                rule,
                share,
                settings.max_not_helpful,
                f"suggestion {rule}: {share:.0%} of {stats_['feedback']} feedback says not helpful",
            )
    return alerts


def post_alerts(results: dict[str, Any], url: str, timeout_s: float) -> bool:
    """Posts the alerts (JSON) to ``url``; False, logged, when it does not take them."""
    body = json.dumps(
        {"source": "askwell monitor", "time": results["time"], "alerts": results["alerts"]}
    )
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.error("the alert webhook %s did not take the alerts: %s", url, exc)
        return False
