"""A replay of real traffic (``askwell monitor replay``): what the monitor would have seen had
askwell been deployed at a past date.

1. **Train on the past.** The dataset's questions (and answers) posted before ``until`` are
   written as a dataset of their own, and a model is trained on it with the recipe given
   (``askwell train``'s stages; its test read goes to the replay's own ledger). Its test part,
   the newest of the past, is what it was judged on; its bundle carries its reference.
2. **Serve the future.** The questions posted from ``until`` on, month by month (at most
   ``per_month``, drawn evenly; for the closing label at the recipe's live closing
   rate: the closing data is a sample about half closed, live traffic is not), are scored
   by that model as the editor scores them (the closing model with the shipped answer
   model, or the answer model alone) and logged to a store with the time they were
   posted. Before them, the past's own test months are served too: questions of the same
   period as training, never trained on, where any drift alert is a false alarm.
3. **Monitor.** ``askwell monitor``'s windows (``monitor.window_hours``; 30 days here by
   default) over the log: drift of every feature and output, alerts.
4. **Outcomes arrive.** Each question's outcome becomes known at its real date (its close
   date; for answer labels, the label's window after posting); a month's performance (ROC
   AUC with an interval, ECE) is computed once ``horizon_days`` have passed after its end.
5. **Detection delay.** For each month whose performance alert fired, how long after the
   month's end its drift alerts came (they need no outcomes), against the outcomes' horizon.

The replay writes ``replay.json``, ``replay.md`` and the HTML monitoring report over it,
``replay.html`` (and the monitor's and the outcomes' results), to its folder, and returns the
summary.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from askwell.config import MonitorSettings
from askwell.data.dataset import MANIFEST, Dataset
from askwell.errors import InputError
from askwell.records import Question

PAST_TEST = "past-test"  # the arm name of the past's own test months in the log


@dataclass(frozen=True)
class ReplayPlan:
    until: datetime
    per_month: int
    horizon_days: int
    seed: int = 0


def past_dataset(dataset: Dataset, until: datetime, out: Path) -> Dataset:
    """The questions (and answers) posted before ``until`` as a dataset of their own at
    ``out``; its fingerprint derives from the source's and the date."""
    if out.exists() and (out / MANIFEST).is_file():
        existing = Dataset.open(out)
        origin = existing.manifest.get("derived_from", {})
        if origin == {"fingerprint": dataset.fingerprint, "until": until.isoformat()}:
            return existing
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(json.dumps(dataset.manifest))
    cutoff = pa.scalar(until, type=pa.timestamp("us", tz="UTC"))
    for name, meta in dataset.manifest["tables"].items():
        table = dataset.table(name)
        if "creation_date" in table.column_names:
            dates = pc.cast(table["creation_date"], pa.timestamp("us", tz="UTC"))
            table = table.filter(pc.fill_null(pc.less(dates, cutoff), False))
        path = out / meta["file"]
        pq.write_table(table, path)
        manifest["tables"][name] = {
            "file": meta["file"],
            "rows": table.num_rows,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    manifest["fingerprint"] = hashlib.sha256(
        f"{dataset.fingerprint}:until:{until.isoformat()}".encode()
    ).hexdigest()
    manifest["derived_from"] = {"fingerprint": dataset.fingerprint, "until": until.isoformat()}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Dataset.open(out)


def _per_month(
    frame: pd.DataFrame, per_month: int, seed: int, closed_share: float | None = None
) -> pd.DataFrame:
    """At most ``per_month`` questions of each month, a seeded draw; with ``closed_share``,
    that share of them closed (the live site's mix, not the sample's), as far as the month
    has them."""
    month = frame["creation_date"].dt.tz_localize(None).dt.to_period("M")
    picked = []
    for _, group in frame.groupby(month, sort=True):
        if closed_share is None:
            picked.append(group.sample(min(per_month, len(group)), random_state=seed))
            continue
        is_closed = group["closed"].fillna(False).astype(bool)
        closed, kept_open = group[is_closed], group[~is_closed]
        n_open = min(len(kept_open), per_month - round(per_month * closed_share))
        n_closed = min(len(closed), round(n_open * closed_share / (1 - closed_share)))
        picked += [
            kept_open.sample(n_open, random_state=seed),
            closed.sample(n_closed, random_state=seed),
        ]
    if not picked:
        return frame.iloc[0:0]
    return pd.concat(picked).sort_values("creation_date").reset_index(drop=True)


def questions_of(dataset: Dataset, rows: pd.DataFrame, text: str = "final") -> list[Question]:
    """The rows' questions as training reads them (``Question.from_row``; with ``text``
    "first_posted", as first posted where the dump has their history)."""
    from askwell.models.train import _TEXT_COLUMNS, first_posted, first_versions

    table = dataset.table("questions", _TEXT_COLUMNS).to_pandas().set_index(["site", "id"])
    keys = list(zip(rows["site"], rows["id"], strict=True))
    records = table.loc[keys].reset_index()
    questions = [Question.from_row(r) for r in records.to_dict("records")]
    if text == "first_posted":
        questions = first_posted(first_versions(dataset), keys, questions)
    return questions


def log_traffic(
    store: Any, predictor: Any, questions: list[Question], rows: pd.DataFrame, arm: str
) -> None:
    """Scores ``questions`` in batches as serving would state them (features, answer score
    and band, closing risk and verdict) and logs each at the time it was posted."""
    from sqlalchemy import insert

    from askwell.features.catalog import feature_matrix, feature_names
    from askwell.store.tables import predictions

    names = feature_names()
    batch = 500
    for start in range(0, len(questions), batch):
        qs = questions[start : start + batch]
        part = rows.iloc[start : start + batch]
        catalog = feature_matrix(qs)
        answer = np.asarray(predictor.model.predict_proba(qs, catalog), dtype=np.float64)
        risk: np.ndarray | None = None
        if predictor.closing is not None:
            judged = predictor.closing.live(predictor.closing.predict_proba(qs, catalog))
            risk = 1.0 - np.asarray(judged, dtype=np.float64)
        values = []
        created = list(part["creation_date"].dt.to_pydatetime())
        sites, ids = part["site"].astype(str).tolist(), part["id"].tolist()
        for i, p in enumerate(answer):
            r = None if risk is None else float(risk[i])
            values.append(
                {
                    "request_id": f"replay-{arm}-{sites[i]}-{ids[i]}",
                    "created_at": created[i],
                    "session_id": None,
                    "site": sites[i],
                    "model_name": predictor.info.name,
                    "model_version": predictor.model_version,
                    "degraded": False,
                    "score": float(p),
                    "band": predictor.model.bands.name(float(p)),
                    "latency_ms": 0.0,
                    "suggestions": [],
                    "features": dict(zip(names, catalog[i].tolist(), strict=True)),
                    "arm": "champion",
                    "closing_risk": r,
                    "verdict": None if r is None else predictor.closing.risk_bands.name(r),
                    "closing_version": predictor.closing_version,
                }
            )
        with store.engine.begin() as connection:
            connection.execute(insert(predictions), values)


def outcomes_over_time(
    rows: pd.DataFrame,
    predicted_good: np.ndarray,
    label: str,
    plan: ReplayPlan,
    settings: MonitorSettings,
    reference_auc: float | None,
) -> dict[str, Any]:
    """Per month of posting, the performance once the outcomes known ``horizon_days`` after
    the month's end are in: for ``closed``, closed by then; for other labels, the dataset's
    label (pending ones left out)."""
    from askwell.monitoring.outcomes import performance_over_time

    frame = rows[["site", "id", "creation_date"]].copy()
    frame["predicted"] = predicted_good
    month_end = (
        frame["creation_date"].dt.tz_localize(None).dt.to_period("M") + 1
    ).dt.start_time.dt.tz_localize(UTC)
    known_at = month_end + pd.Timedelta(days=plan.horizon_days)
    if label == "closed":
        closed_date = pd.to_datetime(rows["closed_date"], utc=True)
        closed_by_then = rows["closed"].fillna(False).astype(bool) & (closed_date <= known_at)
        frame["good"] = (~closed_by_then).astype(float)
    else:
        frame["good"] = rows["good"].astype("Float64")
    result = performance_over_time(frame, settings, reference_auc)
    for window in result["performance"]:
        end = datetime.fromisoformat(window["window_end"])
        window["known_at"] = (end + timedelta(days=plan.horizon_days)).isoformat()
    for alert in result["alerts"]:
        end = datetime.fromisoformat(alert["window_end"])
        alert["raised_at"] = (end + timedelta(days=plan.horizon_days)).isoformat()
    return result


def detection(monitor: dict[str, Any], outcomes: dict[str, Any]) -> list[dict[str, Any]]:
    """For each month whose performance alert fired: whether a drift alert came first, from
    a window holding that month's traffic or later, but ending before the outcomes could
    tell (the month's end plus the horizon); and by how many days."""
    ends = [
        (
            datetime.fromisoformat(w["end"]),
            [a["subject"] for a in w["alerts"] if a["kind"].endswith("drift")],
        )
        for w in monitor["windows"]
    ]
    out = []
    for alert in outcomes["alerts"]:
        if alert["kind"] != "performance":
            continue
        month_end = datetime.fromisoformat(alert["window_end"])
        month_start = (pd.Timestamp(month_end) - pd.offsets.MonthBegin(1)).to_pydatetime()
        told = datetime.fromisoformat(alert["raised_at"])
        earlier = [
            (end, subjects) for end, subjects in ends if subjects and month_start < end <= told
        ]
        first = min(earlier, default=None, key=lambda e: e[0])
        out.append(
            {
                "month": pd.Timestamp(month_start).strftime("%Y-%m"),
                "month_end": alert["window_end"],
                "performance_alert_at": alert["raised_at"],
                "first_drift_alert_at": None if first is None else first[0].isoformat(),
                "drift_subjects": [] if first is None else first[1][:8],
                "lead_days": None if first is None else (told - first[0]).days,
            }
        )
    return out


def false_alarms(monitor: dict[str, Any], until: datetime) -> dict[str, Any]:
    """Over the judged windows before ``until`` (the past's own test months: same period as
    training, never trained on), the share with any drift alert, and of all feature tests."""
    stable = [
        w for w in monitor["windows"] if w["judged"] and datetime.fromisoformat(w["end"]) <= until
    ]
    alarmed = [w for w in stable if any(a["kind"].endswith("drift") for a in w["alerts"])]
    tests = sum(sum(1 for r in w["features"].values() if r) for w in stable)
    flagged = sum(sum(1 for a in w["alerts"] if a["kind"] == "feature_drift") for w in stable)
    return {
        "stable_windows": len(stable),
        "windows_with_an_alarm": len(alarmed),
        "window_rate": len(alarmed) / len(stable) if stable else None,
        "feature_tests": tests,
        "feature_alarms": flagged,
        "feature_rate": flagged / tests if tests else None,
    }


def check_until(dataset: Dataset, until: datetime) -> None:
    """Refuses a date that leaves nothing to train on or nothing to replay."""
    dates = pd.to_datetime(
        dataset.table("questions", ["creation_date"]).to_pandas()["creation_date"], utc=True
    )
    before, after = int((dates < until).sum()), int((dates >= until).sum())
    if before == 0 or after == 0:
        raise InputError(
            f"--until {until.date()}: {before} questions posted before it and {after} from it on; "
            f"the dataset's questions run from {dates.min().date()} to {dates.max().date()}"
        )


def run_replay(
    dataset: Dataset, config: Any, settings: Any, plan: ReplayPlan, out: Path
) -> dict[str, Any]:
    """The whole replay (steps 1 to 5 above) into ``out``; its summary."""
    from askwell.data.labels import LabelInputs, get_label
    from askwell.explain.predictor import Predictor
    from askwell.models.bundle import default_bundle
    from askwell.monitoring.html import write_monitor_html
    from askwell.monitoring.monitor import Reference, run_monitor
    from askwell.monitoring.report import monitor_markdown, outcomes_markdown
    from askwell.release import train_release
    from askwell.reports import write_report
    from askwell.store.db import Store

    check_until(dataset, plan.until)
    out.mkdir(parents=True, exist_ok=True)
    past = past_dataset(dataset, plan.until, out / "past")
    bundle = out / "model.askwell"
    summary, fitted = train_release(
        past,
        config,
        bundle,
        out / "ledger.jsonl",
        f"askwell monitor replay --until {plan.until.date()}",
    )
    closing = get_label(config.label).name == "closed"
    predictor = (
        Predictor.load(default_bundle(), bundle)
        if closing
        else Predictor.load(bundle, closing=False)
    )
    # Every question with its outcome columns, and the label's good outcome where known.
    from askwell.data.labels import QUESTION_COLUMNS

    every = dataset.table("questions", [*QUESTION_COLUMNS, "closed_date"]).to_pandas()
    every["creation_date"] = pd.to_datetime(every["creation_date"], utc=True)
    if not closing:
        every["good"] = (
            get_label(config.label).good(LabelInputs.from_dataset(dataset)).astype("Float64")
        )
    # The closing data is a sample about half closed: served at the live closing rate, as
    # the editor's traffic comes (and as the closing model's reference is weighted).
    mix = config.live_label_rate if closing else None
    test_frame = fitted.prepared.parts["test"].frame[["site", "id"]]
    past_rows = _per_month(
        every.merge(test_frame, on=["site", "id"]), plan.per_month, plan.seed, mix
    )
    later = every[every["creation_date"] >= pd.Timestamp(plan.until)]
    future_rows = _per_month(later, plan.per_month, plan.seed, mix)
    rows = pd.concat([past_rows, future_rows], ignore_index=True)

    db = out / "replay.db"
    db.unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{db}")
    try:
        log_traffic(store, predictor, questions_of(dataset, rows, config.text), rows, "replay")
        # The replayed model's reference only: the shipped answer model beside a replayed
        # closing model was calibrated on other sites' questions, and its drift on Stack
        # Overflow traffic (tests/serving/test_monitor.py) is not what the replay asks about.
        if closing and predictor.closing_info is not None and predictor.closing_version:
            reference = Reference(
                predictor.closing_version, predictor.closing_info.reference, "closing_version"
            )
        else:
            reference = Reference(predictor.model_version, predictor.info.reference)
        monitor = run_monitor(store, [reference], settings.monitor)
        logged = pd.DataFrame(store.rows("predictions"))
    finally:
        store.close()
    by_id = logged.set_index("request_id")
    keys = [f"replay-replay-{s}-{i}" for s, i in zip(rows["site"], rows["id"], strict=True)]
    if closing:
        predicted_good = 1.0 - by_id.loc[keys, "closing_risk"].to_numpy(dtype=float)
    else:
        predicted_good = by_id.loc[keys, "score"].to_numpy(dtype=float)
    reference_auc = summary["test"]["metrics"].get("roc_auc")
    outcomes = outcomes_over_time(
        rows, predicted_good, config.label, plan, settings.monitor, reference_auc
    )
    write_report(monitor, out / "replay", "monitor", monitor_markdown(monitor))
    write_report(
        outcomes,
        out / "replay",
        "outcomes",
        outcomes_markdown(
            {
                **outcomes,
                "label": config.label,
                "joined": len(rows),
                "scored": len(rows),
                "known": sum(w["n"] for w in outcomes["performance"]),
            }
        ),
    )
    result = {
        "kind": "askwell replay",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": dataset.fingerprint,
        "until": plan.until.isoformat(),
        "label": config.label,
        "trained_on": summary["split"]["sizes"],
        "model_test_roc_auc": reference_auc,
        "served": {"past_test_months": len(past_rows), "later": len(future_rows)},
        "monitor_alerts": len(monitor["alerts"]),
        "performance": outcomes["performance"],
        "performance_alerts": outcomes["alerts"],
        "drift_by_window": [
            {
                "end": w["end"],
                "n": w["n"],
                "after_training": datetime.fromisoformat(w["end"]) > plan.until,
                "drifted": sorted(a["subject"] for a in w["alerts"] if a["kind"].endswith("drift")),
            }
            for w in monitor["windows"]
        ],
        "false_alarms": false_alarms(monitor, plan.until),
        "detection": detection(monitor, outcomes),
    }
    (out / "replay.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / "replay.md").write_text(replay_markdown(result), encoding="utf-8")
    # The monitoring report over the whole replay: drift per window and, as the outcomes
    # arrived, the performance per month.
    write_monitor_html(
        {
            **monitor,
            "performance": outcomes["performance"],
            "reference_roc_auc": reference_auc,
            "alerts": [*monitor["alerts"], *outcomes["alerts"]],
        },
        out / "replay.html",
    )
    return result


def replay_markdown(result: dict[str, Any]) -> str:
    fa = result["false_alarms"]
    lines = [
        f"# Replay: trained on questions before {result['until'][:10]}, served from then on",
        "",
        f"Label `{result['label']}`; the model's test ROC AUC "
        + (
            "unknown"
            if result["model_test_roc_auc"] is None
            else f"{result['model_test_roc_auc']:.3f}"
        )
        + f"; served {result['served']['past_test_months']} questions of the past's test "
        f"months and {result['served']['later']} later ones.",
        "",
        "## False alarms on stable windows (the past's test months)",
        "",
        f"{fa['windows_with_an_alarm']} of {fa['stable_windows']} judged windows had a drift "
        f"alarm; {fa['feature_alarms']} of {fa['feature_tests']} feature tests.",
        "",
        "## Drift and performance by window",
        "",
        "| window end | served | after training | drifted |",
        "|---|---:|---|---|",
    ]
    for w in result["drift_by_window"]:
        lines.append(
            f"| {w['end'][:10]} | {w['n']} | {'yes' if w['after_training'] else 'no'} | "
            f"{', '.join(w['drifted'][:6]) + (' …' if len(w['drifted']) > 6 else '') or '—'} |"
        )
    lines += ["", "| month | outcomes | ROC AUC [95% CI] | ECE |", "|---|---:|---|---:|"]
    for w in result["performance"]:
        auc = w["roc_auc"]
        lines.append(
            f"| {w['month']} | {w['n']} | "
            + ("—" if auc is None else f"{auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]")
            + " | "
            + ("—" if w["ece"] is None else f"{w['ece']:.3f}")
            + " |"
        )
    lines += ["", "## Detection delay", ""]
    if not result["detection"]:
        lines.append("No performance alert fired: nothing to detect.")
    for d in result["detection"]:
        lead = (
            "no drift alert before the outcomes told"
            if d["lead_days"] is None
            else f"drift alerted {d['lead_days']} days earlier ({', '.join(d['drift_subjects'])})"
        )
        lines.append(
            f"- questions of {d['month']}: performance known "
            f"{d['performance_alert_at'][:10]}; {lead}"
        )
    return "\n".join(lines) + "\n"
