"""Retraining behind the gates (``askwell retrain``).

1. **Whether** (``--if-needed``, :func:`reasons_to_retrain`): the latest monitoring run in the
   store raised ``retrain.min_drift_alerts`` drift alerts or more; a late-outcomes report
   (``askwell monitor outcomes --out``) raised a performance alert; or the newest registered
   version is older than ``retrain.interval_days`` (or there is none). No reason: nothing is
   trained, and the report says what was checked.
2. **The data** (``askwell.loop.sources``): outcomes, reviewers' labels and advice feedback,
   with provenance, fingerprinted.
3. **The recipe**: the champion's, as its bundle records it (else the shipped model's of
   ``retrain.model``'s kind): same label, split, features and grids. Nothing about the recipe
   is chosen here, so nothing is chosen on a test part.
4. **Idempotent**: the data's fingerprint, the recipe and the kind make a key; a version
   already registered with that key is the answer (nothing is trained or registered again).
5. **Train, register, gate**: ``askwell train``'s stages (its test read recorded in the
   ledger), a new version with the alias ``challenger``, the promotion gates against the
   champion (``askwell.promotion.run_gates``, their read recorded too), their report. The
   challenger then waits for a person: ``askwell models approve`` and ``promote`` need the
   admin token and a name; nothing here approves or promotes.

The report (JSON + Markdown, ``retrain.json`` / ``retrain.md`` in the work folder) says
why it ran, what went into the data (per source), the training result, the version and its
gates, and the next step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from askwell.config import Settings
from askwell.errors import InputError
from askwell.loop.sources import Sources, build

TAG_RETRAIN_KEY = "askwell.retrain.key"  # data fingerprint + recipe + kind: same key, same model
TAG_RETRAIN_DATA = "askwell.retrain.data_fingerprint"
TAG_RETRAIN_WHY = "askwell.retrain.why"
PENDING = "pending approval"
FAILED = "gates failed"
UNCHANGED = "unchanged"
NOT_NEEDED = "not needed"


@dataclass(frozen=True)
class Trigger:
    """What ``--if-needed`` looked at, and the reasons it found (none: no retraining)."""

    reasons: list[str]
    checked: list[str]


def reasons_to_retrain(
    settings: Settings,
    tracker: Any,
    database_url: str | None,
    outcomes_report: Path | None,
    now: datetime,
) -> Trigger:
    """Drift in the latest monitoring run, performance alerts in a late-outcomes report, the
    interval since the newest version: the reasons found, and what was checked."""
    reasons, checked = [], []
    r = settings.retrain
    if database_url is not None:
        drift = _latest_drift(database_url)
        checked.append(f"latest monitoring run: {len(drift)} drift alert(s)")
        if len(drift) >= r.min_drift_alerts:
            subjects = ", ".join(sorted({a["subject"] for a in drift})[:8])
            reasons.append(f"{len(drift)} drift alert(s) in the latest monitoring run ({subjects})")
    if outcomes_report is not None:
        alerts = _performance_alerts(outcomes_report)
        checked.append(f"late outcomes ({outcomes_report.name}): {len(alerts)} alert(s)")
        if alerts:
            reasons.append(
                f"{len(alerts)} performance alert(s) on late outcomes: {alerts[0]['message']}"
            )
    versions = tracker.versions()
    newest = max((v.created for v in versions if v.created is not None), default=None)
    if newest is None:
        checked.append("registry: no version yet")
        reasons.append(f"the registry holds no {settings.retrain.model} model yet")
    else:
        age = now - newest
        checked.append(f"newest version: {age.days} day(s) old (interval {r.interval_days:g})")
        if age >= timedelta(days=r.interval_days):
            reasons.append(
                f"the newest version is {age.days} days old (retrain every {r.interval_days:g})"
            )
    return Trigger(reasons, checked)


def _latest_drift(database_url: str) -> list[dict[str, Any]]:
    from askwell.store.db import Store

    store = Store.open(database_url)
    try:
        windows = store.latest_monitor_run()
    finally:
        store.close()
    return [a for w in windows for a in w.get("alerts", []) if str(a["kind"]).endswith("drift")]


def _performance_alerts(path: Path) -> list[dict[str, Any]]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such outcomes report (askwell monitor outcomes --out)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not an outcomes report ({exc})") from None
    alerts = report.get("alerts") if isinstance(report, dict) else None
    if not isinstance(alerts, list):
        raise InputError(f"{path}: not an outcomes report (no alerts list)")
    return [a for a in alerts if isinstance(a, dict) and "message" in a]


def retrain_key(fingerprint: str, recipe: dict[str, Any], kind: str) -> str:
    blob = json.dumps({"data": fingerprint, "recipe": recipe, "kind": kind}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def retrain(
    settings: Settings,
    sources: Sources,
    reader: str,
    *,
    if_needed: bool = False,
    outcomes_report: Path | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One retraining (steps 1 to 5 above) in ``settings.retrain.work``; its report."""
    from askwell.models.bundle import read_info
    from askwell.models.registry import CHALLENGER, Tracker
    from askwell.models.train import TrainConfig
    from askwell.promotion import (
        record_gates,
        reference,
        register,
        run_gates,
        write_gate_report,
    )
    from askwell.release import track, train_release, write_release
    from askwell.reports import write_report

    now = now or datetime.now(UTC)
    work = settings.retrain.work
    work.mkdir(parents=True, exist_ok=True)
    tracker = Tracker(settings.tracking)
    kind: str = settings.retrain.model
    report: dict[str, Any] = {
        "kind": "askwell retrain report",
        "time": now.isoformat(timespec="seconds"),
        "model": settings.tracking.model_name,
        "model_kind": kind,
    }
    if if_needed:
        trigger = reasons_to_retrain(settings, tracker, sources.database_url, outcomes_report, now)
        report["trigger"] = {"reasons": trigger.reasons, "checked": trigger.checked}
        if not trigger.reasons:
            return _finish({**report, "status": NOT_NEEDED}, work, write_report)
    else:
        report["trigger"] = {"reasons": ["asked for (without --if-needed)"], "checked": []}

    ref = reference(tracker, closing=kind == "closing")
    info = read_info(ref.path)
    # A registry with a champion holds that kind of model, whatever retrain.model says.
    kind = "closing" if info.label.get("name") == "closed" else "answer"
    report["model_kind"] = kind
    try:
        recipe = TrainConfig(**info.config)
    except TypeError as exc:
        raise InputError(f"{ref.path}: its recorded recipe is not readable ({exc})") from None
    report["recipe"] = {"from": ref.name, "bundle": info.name, "config": info.config}

    built = build(sources, work / "data")
    report["data"] = built.summary
    key = retrain_key(built.dataset.fingerprint, info.config, kind)
    report["key"] = key
    for v in tracker.versions():
        if v.tags.get(TAG_RETRAIN_KEY) == key:
            report |= {
                "status": UNCHANGED,
                "version": v.version,
                "aliases": list(v.aliases),
                "gates": v.tags.get("askwell.gates.status"),
            }
            return _finish(report, work, write_report)

    bundle = work / f"challenger-{key[:12]}.askwell"
    summary, fitted = train_release(
        built.dataset, recipe, bundle, settings.tracking.test_ledger, reader
    )
    written = write_release(summary, bundle, None)
    run_id = track(settings.tracking, summary, bundle, fitted, list(written.values()))
    version = register(tracker, bundle, run_id)
    tracker.tag_version(
        version,
        {
            TAG_RETRAIN_KEY: key,
            TAG_RETRAIN_DATA: built.dataset.fingerprint,
            TAG_RETRAIN_WHY: "; ".join(report["trigger"]["reasons"])[:2000],
        },
    )
    test = summary["test"]
    report["training"] = {
        "bundle": str(bundle),
        "run_id": run_id,
        "split": summary["split"]["sizes"],
        "test_roc_auc": test["intervals"]["roc_auc"],
        "test_ece": test["intervals"]["ece"],
        "test_read": test.get("test_read"),
    }
    gates = run_gates(
        tracker, version, built.dataset, settings.models, settings.tracking.test_ledger, reader
    )
    paths = write_gate_report(gates, work / f"gates-v{version}")
    record_gates(tracker, gates, paths)
    report |= {
        "status": PENDING if gates["passed"] else FAILED,
        "version": version,
        "aliases": [CHALLENGER],
        "gates": {
            "passed": gates["passed"],
            "reference": gates["reference"]["name"],
            "report": str(paths["json"]),
            "results": [
                {"name": g["name"], "passed": g["passed"], "value": g["value"]}
                for g in gates["gates"]
            ],
        },
    }
    return _finish(report, work, write_report)


def _finish(report: dict[str, Any], work: Path, write_report: Any) -> dict[str, Any]:
    report["next"] = next_step(report)
    report["paths"] = {
        k: str(v)
        for k, v in write_report(
            report, work / "report", "retrain", retrain_markdown(report)
        ).items()
    }
    return report


def next_step(report: dict[str, Any]) -> str:
    status, version = report["status"], report.get("version")
    if status == NOT_NEEDED:
        return "nothing to do until the monitor or the interval asks for it"
    if status == FAILED:
        return f"version {version} failed its gates: read the gate report; it will not be promoted"
    if status == UNCHANGED:
        return (
            f"the same data and recipe made version {version} already; nothing was trained "
            "(new outcomes, labels or feedback make a new challenger)"
        )
    return (
        f"a person reviews the gate report, then: askwell models approve {version} --by NAME "
        f"--reason TEXT --token ..., and askwell models promote {version} --token ... "
        "(or serve it as a canary first: serve.mode canary)"
    )


def retrain_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Retraining: {report['status']}",
        "",
        f"Model {report['model']!r} ({report['model_kind']}), {report['time']}.",
        "",
        "## Why",
        "",
        *[f"- {r}" for r in report["trigger"]["reasons"]],
    ]
    if report["trigger"]["checked"]:
        lines += ["", "Checked:", "", *[f"- {c}" for c in report["trigger"]["checked"]]]
    data = report.get("data")
    if data:
        reviews = data["reviews"]
        lines += [
            "",
            "## Training data",
            "",
            f"Fingerprint `{data['fingerprint'][:16]}`; {data['questions']:,} questions.",
            "",
            "| label source | questions |",
            "|---|---:|",
            *[f"| {s} | {n:,} |" for s, n in data["labels_by_source"].items()],
            "",
            "Outcome sources: "
            + ", ".join(
                f"{o['folder']} (`{o['fingerprint'][:12]}`)" for o in data["outcome_sources"]
            ),
        ]
        if reviews.get("used"):
            lines += [
                "",
                f"Reviewers' labels: {reviews['agreed']} item(s) agreed, "
                f"{reviews['disagreed_left_out']} left out (reviewers disagreed); "
                f"{reviews['relabelled_questions']} question(s) relabelled "
                f"({reviews['labels_changed']} changed), {reviews['new_questions']} added.",
            ]
        if data["advice_feedback"]:
            lines += ["", "| suggestion rule | feedback by kind |", "|---|---|"]
            lines += [
                f"| {rule} | {', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))} |"
                for rule, kinds in data["advice_feedback"].items()
            ]
    training = report.get("training")
    if training:
        auc, ece = training["test_roc_auc"], training["test_ece"]
        lines += [
            "",
            "## The challenger",
            "",
            f"Version {report['version']}: test ROC AUC {auc['value']:.3f} "
            f"[{auc['low']:.3f}, {auc['high']:.3f}], ECE {ece['value']:.3f} on its own test "
            f"part (read once, recorded). Bundle `{training['bundle']}`.",
        ]
    gates = report.get("gates")
    if isinstance(gates, dict):
        lines += [
            "",
            f"Gates against the {gates['reference']}: "
            f"{'passed' if gates['passed'] else 'FAILED'} (report `{gates['report']}`).",
            "",
            "| gate | value | passed |",
            "|---|---:|---|",
            *[
                f"| {g['name']} | {_number(g['value'])} | {'yes' if g['passed'] else 'NO'} |"
                for g in gates["results"]
            ],
        ]
    lines += ["", "## Next", "", report["next"], ""]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
