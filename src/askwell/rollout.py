"""The rollout report (``askwell models rollout-report``): how the challenger served beside the
champion, read from the prediction store, and what to do next.

Over a window of the store (by default: since the newest challenger version first served):

- **per arm** (champion, challenger in canary, shadow): predictions, sessions, model
  versions, the answer score and the closing risk (means with intervals), verdict shares,
  degraded answers (the model failed and the rule-based fallback answered) and latency;
- **people's outcomes per shown arm**: explicit feedback (rate per prediction, helpful share)
  and revisions (how much a re-scored draft improved, the share of shown suggestions that
  the next edit followed), each with an interval;
- **shadow against champion, paired**: each shadow prediction names the answer it scored
  again, so agreement (verdict, band) and score differences are measured on the same drafts;
- **canary against champion, unpaired**: differences of means between the two groups of
  sessions (each resampled by session: scores within one editing session are not
  independent), and whether any session saw both arms (stickiness);
- a **decision**: one plain statement, with the reasons, from the thresholds in
  ``rollout.*`` settings. Enough traffic first; then failures and latency; then, for a
  canary, non-inferiority of people's outcomes (feedback, revisions). A report never
  promotes: promotion stays ``askwell models promote`` behind the gates and an approval.

Intervals are 95% percentile bootstraps, clustered by session where sessions exist. This
module sits above the store and ``models.metrics``, below ``cli``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from askwell.config import RolloutSettings
from askwell.errors import InputError
from askwell.models import metrics as m
from askwell.reports import write_report
from askwell.store.db import SHADOW, Store, StoreError, head_revision
from askwell.store.tables import feedback, predictions, revisions

CHAMPION, CHALLENGER = "champion", "challenger"
ARMS = (CHAMPION, CHALLENGER, SHADOW)
PERCENTILES = (50, 95, 99)
_COLUMNS = (
    predictions.c.id,
    predictions.c.request_id,
    predictions.c.created_at,
    predictions.c.session_id,
    predictions.c.arm,
    predictions.c.model_name,
    predictions.c.model_version,
    predictions.c.registry_version,
    predictions.c.degraded,
    predictions.c.score,
    predictions.c.band,
    predictions.c.closing_risk,
    predictions.c.verdict,
    predictions.c.latency_ms,
    predictions.c.suggestions,
    predictions.c.shadow_of,
)


@dataclass(frozen=True)
class Window:
    since: datetime | None
    until: datetime | None
    rule: str  # how it was chosen, for the report


# -- reading the store -------------------------------------------------------------------------


def open_store(url: str) -> Store:
    """The store at ``url``, read as it is: not created, not migrated (a report changes
    nothing); refused when it is missing or from another schema."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ""
        if not name or name == ":memory:" or not Path(name).is_file():
            raise InputError(f"no prediction store at {name or url!r} (serve.database_url)")
    store = Store.open(url, migrate_schema=False)
    try:
        with store.engine.connect() as connection:
            from alembic.runtime.migration import MigrationContext

            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:
        store.close()
        raise StoreError(f"cannot read the prediction store: {exc}") from None
    if current != head_revision():
        store.close()
        raise InputError(
            f"the prediction store's schema is at {current}, this askwell reads "
            f"{head_revision()}: start askwell serve on it once (it migrates the store)"
        )
    return store


def _frame(store: Store, query: Any, what: str) -> pd.DataFrame:
    try:
        with store.engine.connect() as connection:
            result = connection.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except Exception as exc:
        raise StoreError(f"cannot read the {what}: {exc}") from None


def default_window(store: Store) -> Window:
    """Since the first prediction of the newest challenger (canary or shadow) version: the
    rollout in progress, or the last one."""
    arms = predictions.c.arm.in_([CHALLENGER, SHADOW])
    last = _frame(
        store,
        select(predictions.c.model_version).where(arms).order_by(predictions.c.id.desc()).limit(1),
        "predictions",
    )
    if last.empty:
        return Window(None, None, "every prediction (no challenger has served)")
    version = str(last.iloc[0, 0])
    first = _frame(
        store,
        select(predictions.c.created_at)
        .where(arms, predictions.c.model_version == version)
        .order_by(predictions.c.id)
        .limit(1),
        "predictions",
    )
    since = _utc(first.iloc[0, 0])
    return Window(since, None, f"since challenger {version} first served")


def read_window(store: Store, window: Window) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Predictions, feedback and revisions made in the window. The predictions also hold,
    with ``in_window`` False, the earlier ones that rows of the window point to: the answer a
    shadow scored again, the draft a revision started from."""

    def bounded(query: Any, column: Any) -> Any:
        if window.since is not None:
            query = query.where(column >= window.since)
        if window.until is not None:
            query = query.where(column < window.until)
        return query

    def outside(query: Any) -> Any:
        if window.since is None:
            return None
        return query.where(predictions.c.created_at < window.since)

    preds = _frame(store, bounded(select(*_COLUMNS), predictions.c.created_at), "predictions")
    preds["in_window"] = True
    fb = _frame(store, bounded(select(feedback), feedback.c.created_at), "feedback")
    rev = _frame(store, bounded(select(revisions), revisions.c.created_at), "revisions")
    shadowed = bounded(
        select(predictions.c.shadow_of).where(predictions.c.arm == SHADOW),
        predictions.c.created_at,
    )
    started = bounded(select(revisions.c.previous_request_id), revisions.c.created_at)
    earlier = outside(
        select(*_COLUMNS).where(
            predictions.c.request_id.in_(shadowed) | predictions.c.request_id.in_(started)
        )
    )
    if earlier is not None:
        before = _frame(store, earlier, "predictions")
        if len(before):
            before["in_window"] = False
            preds = pd.concat([before, preds], ignore_index=True)
    return preds, fb, rev


def _utc(value: Any) -> datetime:
    moment = pd.Timestamp(value).to_pydatetime()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- the report --------------------------------------------------------------------------------


def rollout_report(store: Store, window: Window, settings: RolloutSettings) -> dict[str, Any]:
    """The whole report as a JSON-ready mapping (``rollout_markdown`` renders it)."""
    every, fb, rev = read_window(store, window)
    preds = every[every["in_window"]]
    ci = _Intervals(settings.n_boot, settings.seed)
    arms = {arm: _arm(preds[preds["arm"] == arm], fb, rev, every, ci) for arm in ARMS}
    report: dict[str, Any] = {
        "kind": "askwell rollout report",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "window": {
            "since": None if window.since is None else window.since.isoformat(),
            "until": None if window.until is None else window.until.isoformat(),
            "rule": window.rule,
            "predictions": len(preds),
        },
        "settings": settings.model_dump(),
        "arms": arms,
        "shadow_vs_champion": _paired(every, ci),
        "canary_vs_champion": _canary(preds, fb, rev, ci),
    }
    report["decision"] = decide(report, settings)
    return report


@dataclass(frozen=True)
class _Intervals:
    n_boot: int
    seed: int

    def mean(self, values: Any, groups: Any = None) -> dict[str, Any]:
        return m.mean_ci(
            np.asarray(values, dtype=float), n_boot=self.n_boot, seed=self.seed, groups=groups
        )

    def difference(
        self, a: Any, b: Any, groups_a: Any = None, groups_b: Any = None
    ) -> dict[str, Any]:
        return m.difference_ci(
            np.asarray(a, dtype=float),
            np.asarray(b, dtype=float),
            groups_a,
            groups_b,
            n_boot=self.n_boot,
            seed=self.seed,
        )


def _sessions(frame: pd.DataFrame) -> np.ndarray:
    """Each row's cluster: its session, or a cluster of its own without one."""
    ids = frame["session_id"].astype(object).to_numpy()
    rows = frame["request_id"].astype(str).to_numpy()
    return np.where(pd.isna(ids), "request:" + rows, ids.astype(str))


def _arm(
    rows: pd.DataFrame,
    fb: pd.DataFrame,
    rev: pd.DataFrame,
    every: pd.DataFrame,
    ci: _Intervals,
) -> dict[str, Any]:
    if rows.empty:
        return {"predictions": 0}
    clusters = _sessions(rows)
    served = rows[~rows["degraded"].astype(bool)]
    risk = served["closing_risk"].dropna()
    versions = (
        served.groupby(["model_version", "registry_version"], dropna=False)
        .size()
        .reset_index(name="n")
    )
    latency = rows["latency_ms"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "predictions": len(rows),
        "sessions": int(rows["session_id"].nunique()),
        "versions": [
            {
                "model_version": str(model_version),
                "registry_version": None if pd.isna(registry) else int(registry),
                "n": int(n),
            }
            for model_version, registry, n in versions.itertuples(index=False)
        ],
        "degraded": ci.mean(rows["degraded"].astype(float), clusters),
        "score": ci.mean(served["score"], _sessions(served)),
        "closing_risk": ci.mean(risk, _sessions(served.loc[risk.index])) if len(risk) else None,
        "verdicts": _shares(served["verdict"].fillna(served["band"])),
        "latency_ms": {f"p{q}": float(np.percentile(latency, q)) for q in PERCENTILES},
    }
    if rows["arm"].iloc[0] != SHADOW:  # people saw it: their feedback and edits
        out["feedback"] = _feedback(rows, fb, ci)
        out["revisions"] = _revisions(rows, rev, every, ci)
    return out


def _shares(values: pd.Series) -> dict[str, float]:
    counts = values.astype(str).value_counts()
    return {str(k): float(v / counts.sum()) for k, v in counts.items()}


def _feedback(rows: pd.DataFrame, fb: pd.DataFrame, ci: _Intervals) -> dict[str, Any]:
    """Explicit feedback on this arm's answers: how often people gave it (per prediction),
    how often it said helpful, and per suggestion rule."""
    mine = fb.merge(rows[["request_id", "session_id"]], on="request_id") if len(fb) else fb
    given = rows["request_id"].isin(set(mine["request_id"])) if len(mine) else rows["id"] < 0
    out: dict[str, Any] = {
        "n": len(mine),
        "rate": ci.mean(given.astype(float), _sessions(rows)),
        "helpful": ci.mean(mine["helpful"].astype(float), _sessions(mine)) if len(mine) else None,
    }
    shown: dict[str, int] = {}
    for ids in rows["suggestions"]:
        for rule in ids:
            shown[str(rule)] = shown.get(str(rule), 0) + 1
    rules: dict[str, dict[str, Any]] = {}
    for rule, n_shown in sorted(shown.items(), key=lambda kv: -kv[1]):
        on_rule = mine[mine["suggestion_id"] == rule] if len(mine) else mine
        rules[rule] = {
            "shown": n_shown,
            "feedback": len(on_rule),
            "not_helpful": int((~on_rule["helpful"].astype(bool)).sum()) if len(on_rule) else 0,
        }
    out["rules"] = rules
    return out


def _revisions(
    rows: pd.DataFrame, rev: pd.DataFrame, every: pd.DataFrame, ci: _Intervals
) -> dict[str, Any]:
    """Re-scores of a draft whose new score this arm gave: the answer score's change, the
    closing risk's fall (the previous prediction's risk, when both have one), and the share
    of the suggestions shown before that the edit followed."""
    if rev.empty:
        return {"n": 0}
    mine = rev.merge(rows[["request_id", "closing_risk"]], on="request_id")
    if mine.empty:
        return {"n": 0}
    before = every[["request_id", "closing_risk", "suggestions"]].rename(
        columns={
            "request_id": "previous_request_id",
            "closing_risk": "risk_before",
            "suggestions": "shown_before",
        }
    )
    mine = mine.merge(before, on="previous_request_id", how="left")
    groups = mine["session_id"].astype(str).to_numpy()
    change = mine["score_after"].to_numpy(float) - mine["score_before"].to_numpy(float)
    both = mine["risk_before"].notna() & mine["closing_risk"].notna()
    fall = mine.loc[both, "risk_before"].to_numpy(float) - mine.loc[both, "closing_risk"].to_numpy(
        float
    )
    shown = mine["shown_before"].map(lambda s: len(s) if isinstance(s, list) else 0).to_numpy()
    followed = mine["followed"].map(len).to_numpy()
    has_shown = shown > 0
    return {
        "n": len(mine),
        "score_change": ci.mean(change, groups),
        "improved": ci.mean((change > 0).astype(float), groups),
        "risk_fall": ci.mean(fall, groups[both.to_numpy()]) if both.any() else None,
        "followed_share": ci.mean(followed[has_shown] / shown[has_shown], groups[has_shown])
        if has_shown.any()
        else None,
    }


def _paired(preds: pd.DataFrame, ci: _Intervals) -> dict[str, Any] | None:
    """Each shadow prediction beside the answer it scored again (both not degraded)."""
    shadow = preds[(preds["arm"] == SHADOW) & preds["in_window"] & ~preds["degraded"].astype(bool)]
    if shadow.empty:
        return None
    answered = preds[(preds["arm"] == CHAMPION) & ~preds["degraded"].astype(bool)]
    pairs = shadow.merge(
        answered, left_on="shadow_of", right_on="request_id", suffixes=("_s", "_c")
    )
    if pairs.empty:
        return {"pairs": 0}
    groups = _sessions(
        pairs.rename(columns={"session_id_c": "session_id", "request_id_c": "request_id"})
    )
    verdict_s = pairs["verdict_s"].fillna(pairs["band_s"]).astype(str)
    verdict_c = pairs["verdict_c"].fillna(pairs["band_c"]).astype(str)
    out: dict[str, Any] = {
        "pairs": len(pairs),
        "verdict_agreement": ci.mean((verdict_s == verdict_c).astype(float), groups),
        "band_agreement": ci.mean((pairs["band_s"] == pairs["band_c"]).astype(float), groups),
        "score_difference": ci.mean(pairs["score_s"] - pairs["score_c"], groups),
        "score_abs_difference": float((pairs["score_s"] - pairs["score_c"]).abs().mean()),
        "latency_ratio_p99": _ratio(pairs["latency_ms_s"], pairs["latency_ms_c"]),
        "verdict_changes": _changes(verdict_c, verdict_s),
    }
    both = pairs["closing_risk_s"].notna() & pairs["closing_risk_c"].notna()
    if both.any():
        diff = pairs.loc[both, "closing_risk_s"] - pairs.loc[both, "closing_risk_c"]
        out["closing_risk_difference"] = ci.mean(diff, groups[both.to_numpy()])
    return out


def _changes(before: pd.Series, after: pd.Series) -> list[dict[str, Any]]:
    """Where the two disagree: champion's verdict → shadow's, most frequent first."""
    differ = before != after
    counts = pd.DataFrame({"champion": before[differ], "shadow": after[differ]}).value_counts()
    return [
        {"champion": str(key[0]), "shadow": str(key[1]), "n": int(n)}  # type: ignore[index]
        for key, n in counts.items()
    ]


def _ratio(a: pd.Series, b: pd.Series) -> float | None:
    if a.empty or b.empty:
        return None
    low = float(np.percentile(b.to_numpy(float), 99))
    return None if low <= 0 else float(np.percentile(a.to_numpy(float), 99)) / low


def _canary(
    preds: pd.DataFrame, fb: pd.DataFrame, rev: pd.DataFrame, ci: _Intervals
) -> dict[str, Any] | None:
    """The challenger's sessions against the champion's: differences of means, each group
    resampled by session; and how many sessions saw both arms (a sticky canary: none)."""
    canary = preds[preds["arm"] == CHALLENGER]
    if canary.empty:
        return None
    champion = preds[(preds["arm"] == CHAMPION) & preds["session_id"].notna()]
    with_session = canary[canary["session_id"].notna()]
    both = set(with_session["session_id"]) & set(champion["session_id"])
    out: dict[str, Any] = {
        "sessions": {
            CHALLENGER: int(with_session["session_id"].nunique()),
            CHAMPION: int(champion["session_id"].nunique()),
            "on_both_arms": len(both),
        },
        "score_difference": _diff(ci, canary, champion, "score"),
        "degraded_difference": _diff(ci, canary, champion, "degraded", keep_degraded=True),
        "latency_ratio_p99": _ratio(canary["latency_ms"], champion["latency_ms"]),
    }
    risk_c = canary[canary["closing_risk"].notna()]
    risk_m = champion[champion["closing_risk"].notna()]
    if len(risk_c) and len(risk_m):
        out["closing_risk_difference"] = _diff(ci, risk_c, risk_m, "closing_risk")
    helpful = (
        {
            arm: fb.merge(rows[["request_id", "session_id"]], on="request_id")
            for arm, rows in ((CHALLENGER, canary), (CHAMPION, champion))
        }
        if len(fb)
        else {}
    )
    if helpful and len(helpful[CHALLENGER]) and len(helpful[CHAMPION]):
        out["helpful_difference"] = ci.difference(
            helpful[CHALLENGER]["helpful"].astype(float),
            helpful[CHAMPION]["helpful"].astype(float),
            _sessions(helpful[CHALLENGER]),
            _sessions(helpful[CHAMPION]),
        )
    changes = (
        {
            arm: rev.merge(rows[["request_id"]], on="request_id")
            for arm, rows in ((CHALLENGER, canary), (CHAMPION, champion))
        }
        if len(rev)
        else {}
    )
    if changes and len(changes[CHALLENGER]) and len(changes[CHAMPION]):
        a, b = changes[CHALLENGER], changes[CHAMPION]
        out["revision_difference"] = ci.difference(
            a["score_after"] - a["score_before"],
            b["score_after"] - b["score_before"],
            a["session_id"].astype(str).to_numpy(),
            b["session_id"].astype(str).to_numpy(),
        )
    return out


def _diff(
    ci: _Intervals, a: pd.DataFrame, b: pd.DataFrame, column: str, *, keep_degraded: bool = False
) -> dict[str, Any]:
    if not keep_degraded:
        a, b = a[~a["degraded"].astype(bool)], b[~b["degraded"].astype(bool)]
    return ci.difference(
        a[column].astype(float), b[column].astype(float), _sessions(a), _sessions(b)
    )


# -- the decision ------------------------------------------------------------------------------


def decide(report: dict[str, Any], settings: RolloutSettings) -> dict[str, Any]:
    """One plain statement and its reasons. ``action``: "wait" (not enough traffic), "stop"
    (the challenger fails or is too slow: take it out of the rollout), "hold" (people fare
    worse with it, or it is not known yet whether they do), "canary" (the shadow found
    nothing against it: let people see it), "promote" (nothing against it; promotion still
    needs its gates and a person's approval)."""
    arms = report["arms"]
    champion = arms[CHAMPION]
    mode = CHALLENGER if arms[CHALLENGER]["predictions"] else SHADOW
    arm = arms[mode]
    reasons: list[str] = []
    if not arm["predictions"]:
        return _decision("wait", "No challenger has served in this window: nothing to decide.", [])
    n_needed = settings.min_pairs if mode == SHADOW else settings.min_predictions
    n_have = (
        (report["shadow_vs_champion"] or {}).get("pairs", 0)
        if mode == SHADOW
        else arm["predictions"]
    )
    what = "shadow pairs" if mode == SHADOW else "canary predictions"
    if n_have < n_needed:
        return _decision(
            "wait",
            f"Keep the rollout running: {n_have} {what} so far, {n_needed} needed for a decision.",
            [f"{n_have} of {n_needed} {what}"],
        )
    if mode == CHALLENGER:
        sessions = report["canary_vs_champion"]["sessions"][CHALLENGER]
        if sessions < settings.min_sessions:
            return _decision(
                "wait",
                f"Keep the rollout running: {sessions} canary sessions so far, "
                f"{settings.min_sessions} needed.",
                [f"{sessions} of {settings.min_sessions} sessions"],
            )
    # Failures and speed: a challenger that fails more or is slower does not go further.
    base = _value(champion.get("degraded"), "value")
    base = 0.0 if math.isnan(base) else base
    if _value(arm["degraded"], "low") - base > settings.max_degraded_increase:
        reasons.append(
            f"it fell back to the rules on {_pct(arm['degraded']['value'])} of requests "
            f"(champion {_pct(base)})"
        )
    ratio = (report["shadow_vs_champion"] if mode == SHADOW else report["canary_vs_champion"])[
        "latency_ratio_p99"
    ]
    if ratio is not None and ratio > settings.latency_ratio:
        reasons.append(
            f"its p99 latency is {ratio:.2f}x the champion's (bound {settings.latency_ratio}x)"
        )
    if reasons:
        return _decision("stop", "Stop the rollout: " + "; ".join(reasons) + ".", reasons)
    if mode == SHADOW:
        paired = report["shadow_vs_champion"]
        agree = paired["verdict_agreement"]["value"]
        reasons.append(
            f"no more failures and no slower than the champion on {paired['pairs']} shadow "
            f"pairs; the verdicts agree on {_pct(agree)}"
        )
        if agree < settings.min_agreement:
            reasons.append(
                f"agreement below {_pct(settings.min_agreement)}: read the verdict changes "
                "before people see it"
            )
        return _decision(
            "canary",
            "Move to a canary: the shadow found no failure or slowdown; people's outcomes "
            "(feedback, revisions) can only be measured when they see it.",
            reasons,
        )
    canary = report["canary_vs_champion"]
    worse, unknown = _people(canary, settings)
    if worse:
        return _decision("hold", "Do not promote: " + "; ".join(worse) + ".", worse)
    if unknown:
        return _decision(
            "hold",
            "Keep the canary running: " + "; ".join(unknown) + ".",
            unknown,
        )
    return _decision(
        "promote",
        "The challenger may be promoted: no more failures, no slower, and people fared no "
        "worse with it (within the margins). Promotion still needs its gates and a person's "
        "approval: askwell models promote.",
        ["feedback and revisions non-inferior within the margins"],
    )


def _people(canary: dict[str, Any], settings: RolloutSettings) -> tuple[list[str], list[str]]:
    """Non-inferiority of people's outcomes: worse (the whole interval below -margin) and
    not yet known (the interval reaches below -margin, or no data)."""
    worse: list[str] = []
    unknown: list[str] = []
    for key, margin, what, missing in (
        (
            "helpful_difference",
            settings.feedback_margin,
            "the share of feedback saying helpful",
            "feedback",
        ),
        (
            "revision_difference",
            settings.revision_margin,
            "the score gained per revision",
            "revisions",
        ),
    ):
        diff = canary.get(key)
        if diff is None or diff["value"] is None:
            unknown.append(f"no {missing} on both arms to compare yet")
        elif diff["high"] < -margin:
            worse.append(f"{what} is lower by {-diff['value']:.3f} ({_interval(diff)})")
        elif diff["low"] < -margin:
            unknown.append(
                f"{what}: difference {diff['value']:+.3f} ({_interval(diff)}) could still be "
                f"below -{margin}"
            )
    return worse, unknown


def _decision(action: str, statement: str, reasons: Sequence[str]) -> dict[str, Any]:
    return {"action": action, "statement": statement, "reasons": list(reasons)}


def _value(estimate: dict[str, Any] | None, key: str) -> float:
    if not estimate or estimate.get(key) is None:
        return math.nan
    return float(estimate[key])


def _pct(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.1%}"


def _interval(estimate: dict[str, Any]) -> str:
    return f"95% CI [{estimate['low']:+.3f}, {estimate['high']:+.3f}]"


# -- writing -----------------------------------------------------------------------------------


def write_rollout_report(report: dict[str, Any], stem: Path) -> dict[str, Path]:
    """The report as ``STEM.rollout.json`` and ``STEM.rollout.md``; the paths, by kind."""
    return write_report(report, stem, "rollout", rollout_markdown(report))


def _est(estimate: dict[str, Any] | None, pct: bool = False) -> str:
    if not estimate or estimate.get("value") is None:
        return "—"
    if pct:
        return f"{estimate['value']:.1%} [{estimate['low']:.1%}, {estimate['high']:.1%}]"
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"


def _signed(estimate: dict[str, Any] | None) -> str:
    if not estimate or estimate.get("value") is None:
        return "—"
    return f"{estimate['value']:+.3f} [{estimate['low']:+.3f}, {estimate['high']:+.3f}]"


def rollout_markdown(report: dict[str, Any]) -> str:
    """A page a person reads: the decision first, then the arms, then the comparisons."""
    window = report["window"]
    decision = report["decision"]
    lines = [
        "# Rollout report",
        "",
        f"**Decision ({decision['action']}):** {decision['statement']}",
        "",
        f"Window: {window['rule']} ({window['since'] or 'the start'} to "
        f"{window['until'] or 'now'}), {window['predictions']} predictions; written "
        f"{report['time']}. Intervals: 95% bootstrap, resampled by editing session.",
        "",
        "## Arms",
        "",
        "| | " + " | ".join(ARMS) + " |",
        "|---|" + "---|" * len(ARMS),
    ]
    arms = report["arms"]

    def row(name: str, cell: Any) -> str:
        return (
            f"| {name} | "
            + " | ".join(cell(arms[a]) if arms[a]["predictions"] else "—" for a in ARMS)
            + " |"
        )

    lines += [
        row("predictions", lambda a: str(a["predictions"])),
        row("sessions", lambda a: str(a["sessions"])),
        row(
            "model versions",
            lambda a: (
                ", ".join(
                    f"{v['model_version']}"
                    + ("" if v["registry_version"] is None else f" (v{v['registry_version']})")
                    for v in a["versions"]
                )
                or "—"
            ),
        ),
        row("answer score", lambda a: _est(a["score"])),
        row("closing risk", lambda a: _est(a["closing_risk"])),
        row("degraded (fallback)", lambda a: _est(a["degraded"], pct=True)),
        row(
            "latency p50 / p99 ms",
            lambda a: f"{a['latency_ms']['p50']:.1f} / {a['latency_ms']['p99']:.1f}",
        ),
        row("feedback per answer", lambda a: _est(a.get("feedback", {}).get("rate"), pct=True)),
        row("feedback helpful", lambda a: _est(a.get("feedback", {}).get("helpful"), pct=True)),
        row("revisions", lambda a: str(a.get("revisions", {}).get("n", "—"))),
        row(
            "score change per revision",
            lambda a: _signed(a.get("revisions", {}).get("score_change")),
        ),
        row(
            "closing-risk fall per revision",
            lambda a: _signed(a.get("revisions", {}).get("risk_fall")),
        ),
        row(
            "suggestions followed",
            lambda a: _est(a.get("revisions", {}).get("followed_share"), pct=True),
        ),
        "",
        "Verdict shares: "
        + "; ".join(
            f"{a}: " + ", ".join(f"{k} {v:.0%}" for k, v in arms[a]["verdicts"].items())
            for a in ARMS
            if arms[a]["predictions"]
        ),
    ]
    paired = report["shadow_vs_champion"]
    lines += ["", "## Shadow against champion (the same drafts)", ""]
    if not paired or not paired.get("pairs"):
        lines.append("No shadow predictions paired with an answer in this window.")
    else:
        lines += [
            f"- Pairs: {paired['pairs']}",
            f"- Verdict agreement: {_est(paired['verdict_agreement'], pct=True)}",
            f"- Band agreement: {_est(paired['band_agreement'], pct=True)}",
            f"- Answer score, shadow - champion: {_signed(paired['score_difference'])} "
            f"(mean absolute {paired['score_abs_difference']:.3f})",
            f"- Closing risk, shadow - champion: {_signed(paired.get('closing_risk_difference'))}",
            f"- p99 latency, shadow / champion: {_ratio_text(paired['latency_ratio_p99'])}",
        ]
        if paired["verdict_changes"]:
            lines.append(
                "- Verdict changes: "
                + "; ".join(
                    f"{c['champion']} → {c['shadow']}: {c['n']}" for c in paired["verdict_changes"]
                )
            )
    canary = report["canary_vs_champion"]
    lines += ["", "## Canary against champion (different sessions)", ""]
    if not canary:
        lines.append("No canary predictions in this window.")
    else:
        sessions = canary["sessions"]
        lines += [
            f"- Sessions: challenger {sessions['challenger']}, champion {sessions['champion']}; "
            f"on both arms: {sessions['on_both_arms']} (sticky: should be 0)",
            f"- Answer score, challenger - champion: {_signed(canary['score_difference'])}",
            "- Closing risk, challenger - champion: "
            f"{_signed(canary.get('closing_risk_difference'))}",
            f"- Degraded share, challenger - champion: {_signed(canary['degraded_difference'])}",
            f"- Feedback helpful share, challenger - champion: "
            f"{_signed(canary.get('helpful_difference'))}",
            f"- Score gained per revision, challenger - champion: "
            f"{_signed(canary.get('revision_difference'))}",
            f"- p99 latency, challenger / champion: {_ratio_text(canary['latency_ratio_p99'])}",
        ]
    lines += ["", "## Reasons", ""] + [f"- {r}" for r in decision["reasons"]]
    return "\n".join(lines) + "\n"


def _ratio_text(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}x"
