"""Late outcomes (``askwell monitor outcomes``): questions scored in batch (``askwell score``
writes each row's ``site`` and ``id``) joined with the outcomes a newer dataset holds (a
later dump, or the closing data's close dates), to see how the model performs over time.

The outcome is the label the model predicts, computed by the dataset's own label code
(``askwell.data.labels``): for ``closed``, whether the question was closed (predicted by the
closing risk); for an answer label, whether the good outcome came (predicted by the answer
score). A question whose outcome cannot be known yet (posted less than the label's window
before the data ends) is pending, counted and left out. Questions are grouped by the month
they were posted; per month: ROC AUC with a 95% bootstrap interval, expected calibration
error, the outcome's rate and the mean prediction. A month with ``monitor.min_n`` known
outcomes whose AUC is below the model's own test AUC by ``monitor.auc_drop`` (and the whole
interval below it), or whose ECE exceeds ``monitor.max_ece``, raises an alert.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from askwell.config import MonitorSettings
from askwell.errors import InputError


def read_scores(path: Path) -> pd.DataFrame:
    """A batch output of ``askwell score`` (CSV, JSONL or Parquet): its site, id, closing
    risk and score; rows with an error are left out."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype={"id": str, "site": str}, keep_default_na=False)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True, dtype={"id": str, "site": str})
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise InputError(f"{path}: not a .csv, .jsonl or .parquet file of askwell score")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    missing = {"id", "site", "closing_risk", "score", "error"} - set(frame.columns)
    if missing:
        raise InputError(
            f"{path}: not an output of askwell score (no {', '.join(sorted(missing))} column)"
        )
    ok = frame["error"].isna() | (frame["error"].astype(str) == "")
    out = frame.loc[ok, ["site", "id", "closing_risk", "score"]].copy()
    out["id"] = out["id"].astype(str)
    out["site"] = out["site"].replace("", np.nan)
    for name in ("closing_risk", "score"):
        out[name] = pd.to_numeric(out[name], errors="coerce")
    return out


def join_outcomes(scores: pd.DataFrame, dataset: Any, label: str) -> pd.DataFrame:
    """Each scored question that the dataset holds, with its creation date, its outcome (the
    good outcome as 0/1; NA: pending) and the model's chance of the good outcome."""
    from askwell.data.labels import LabelInputs, get_label

    spec = get_label(label)
    if spec.needs_split:
        raise InputError(f"label {label!r} depends on a training split: not an outcome to join")
    inputs = LabelInputs.from_dataset(dataset)
    questions = inputs.questions[["site", "creation_date"]].copy()
    questions["good"] = spec.good(inputs).astype("Float64")
    questions["id"] = inputs.questions["id"].astype(str)
    if scores["site"].isna().all():
        if questions["site"].nunique() > 1:
            raise InputError(
                "the scores carry no site and the dataset holds several: give the input file "
                "a site column when scoring"
            )
        joined = scores.drop(columns="site").merge(questions, on="id")
    else:
        joined = scores.merge(questions, on=["site", "id"])
    if spec.positive_is_good:
        joined["predicted"] = joined["score"]
    else:  # closed: the good outcome is staying open, predicted by 1 - closing risk
        joined["predicted"] = 1.0 - joined["closing_risk"]
    return joined[joined["predicted"].notna()].reset_index(drop=True)


def performance_over_time(
    joined: pd.DataFrame, settings: MonitorSettings, reference_auc: float | None
) -> dict[str, Any]:
    """Per month of posting: n, pending, ROC AUC [interval], ECE, rates; and the alerts."""
    from askwell.models import metrics as m

    created = pd.to_datetime(joined["creation_date"], utc=True)
    months = created.dt.tz_localize(None).dt.to_period("M")
    windows: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for month in sorted(months.unique()):
        inside = joined[months == month]
        known = inside[inside["good"].notna()]
        y = known["good"].astype(int).to_numpy()
        p = known["predicted"].to_numpy(dtype=float)
        end = (month + 1).start_time.tz_localize(UTC).isoformat()
        window: dict[str, Any] = {
            "window_end": end,
            "month": str(month),
            "n": len(known),
            "pending": len(inside) - len(known),
            "positive_rate": float(y.mean()) if len(y) else None,
            "mean_predicted": float(p.mean()) if len(p) else None,
            "roc_auc": None,
            "ece": None,
        }
        if len(y) and 0 < y.mean() < 1:
            est = m.bootstrap_ci(y, p, m.roc_auc, n_boot=settings.n_boot, seed=settings.seed)
            window["roc_auc"] = {"value": est.value, "low": est.low, "high": est.high}
            window["ece"] = m.expected_calibration_error(y, p)
        window["judged"] = len(y) >= settings.min_n and window["roc_auc"] is not None
        if window["judged"]:
            alerts += _alerts(window, settings, reference_auc)
        windows.append(window)
    return {"performance": windows, "alerts": alerts, "reference_roc_auc": reference_auc}


def _alerts(
    window: dict[str, Any], settings: MonitorSettings, reference_auc: float | None
) -> list[dict[str, Any]]:
    out = []
    auc = window["roc_auc"]
    if (
        reference_auc is not None
        and auc["value"] < reference_auc - settings.auc_drop
        and auc["high"] < reference_auc
    ):
        out.append(
            {
                "window_end": window["window_end"],
                "kind": "performance",
                "subject": "roc_auc",
                "value": auc["value"],
                "threshold": reference_auc - settings.auc_drop,
                "message": f"questions of {window['month']}: ROC AUC {auc['value']:.3f} "
                f"[{auc['low']:.3f}, {auc['high']:.3f}] against {reference_auc:.3f} on the "
                f"model's test set ({window['n']} outcomes)",
            }
        )
    if window["ece"] > settings.max_ece:
        out.append(
            {
                "window_end": window["window_end"],
                "kind": "calibration",
                "subject": "ece",
                "value": window["ece"],
                "threshold": settings.max_ece,
                "message": f"questions of {window['month']}: calibration error "
                f"{window['ece']:.3f} (alert above {settings.max_ece})",
            }
        )
    return out


def outcomes_report(
    scores_path: Path,
    dataset: Any,
    label: str,
    settings: MonitorSettings,
    reference_auc: float | None,
) -> dict[str, Any]:
    """The whole late-outcomes result (JSON-ready)."""
    scores = read_scores(scores_path)
    joined = join_outcomes(scores, dataset, label)
    result = performance_over_time(joined, settings, reference_auc)
    return {
        "kind": "askwell monitor outcomes",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "scores": str(scores_path),
        "dataset": dataset.fingerprint,
        "label": label,
        "scored": len(scores),
        "joined": len(joined),
        "known": int(joined["good"].notna().sum()),
        **result,
    }
