"""The test split, touched once: metrics with 95% bootstrap intervals, the same for every
baseline, paired comparisons, per-site metrics, and whether the score tracks answers.

Everything returned is plain JSON (numbers, strings, lists, dicts) for the report, the
bundle and the tracker.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import numpy.typing as npt

from askwell.models import metrics as m
from askwell.models.heuristic import HeuristicScorer
from askwell.models.train import PreparedData, QualityModel

N_BOOT = 1000


def _estimate(e: m.Estimate) -> dict[str, float]:
    return {"value": e.value, "low": e.low, "high": e.high}


def _thin(points: npt.NDArray[np.float64], keep: int = 200) -> list[float]:
    """At most ``keep`` evenly spaced points (always the first and last): enough to draw."""
    if len(points) <= keep:
        return [float(v) for v in points]
    idx = np.unique(np.linspace(0, len(points) - 1, keep).round().astype(int))
    return [float(v) for v in points[idx]]


def _curves(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> dict[str, Any]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    # Paired arrays of equal length: thinning picks the same indices in both.
    return {
        "roc": {"fpr": _thin(fpr), "tpr": _thin(tpr)},
        "pr": {"recall": _thin(recall), "precision": _thin(precision)},
    }


def _confusion(
    y: npt.NDArray[np.int64], p: npt.NDArray[np.float64], threshold: float
) -> dict[str, int]:
    predicted = p >= threshold
    return {
        "true_positive": int(np.sum(predicted & (y == 1))),
        "false_positive": int(np.sum(predicted & (y == 0))),
        "true_negative": int(np.sum(~predicted & (y == 0))),
        "false_negative": int(np.sum(~predicted & (y == 1))),
    }


def baseline_scores(data: PreparedData, seed: int) -> dict[str, npt.NDArray[np.float64]]:
    """The scores every model must beat, on the test part: a coin, the training base rate
    (one constant: AUC 0.5 by construction), and the rule-based heuristic."""
    test = data.parts["test"]
    rng = np.random.default_rng(seed)
    base_rate = float(data.parts["train"].y.mean())
    return {
        "random": rng.random(len(test.y)),
        "majority": np.full(len(test.y), base_rate),
        "heuristic": HeuristicScorer().predict_proba(test.questions),
    }


def evaluate(model: QualityModel, data: PreparedData, seed: int = 0) -> dict[str, Any]:
    """Scores the test part once and measures it; see the module docstring."""
    test = data.parts["test"]
    y = test.y
    p = model.predict_proba(test.questions, test.catalog)
    sites = test.frame["site"].astype(str).to_numpy()
    result: dict[str, Any] = {
        "n_test": len(y),
        "threshold": model.threshold,
        "metrics": m.binary_metrics(y, p, model.threshold),
        "intervals": {
            name: _estimate(m.bootstrap_ci(y, p, fn, n_boot=N_BOOT, seed=seed))
            for name, fn in (
                ("roc_auc", m.roc_auc),
                ("pr_auc", m.average_precision),
                ("brier", m.brier_score),
                ("ece", m.expected_calibration_error),
            )
        },
        "reliability": [asdict(b) for b in m.reliability_curve(y, p)],
        "curves": _curves(y, p),
        "confusion": _confusion(y, p, model.threshold),
    }
    result["baselines"] = {}
    for name, scores in baseline_scores(data, seed).items():
        comparison = m.paired_bootstrap(y, p, scores, m.roc_auc, n_boot=N_BOOT, seed=seed)
        result["baselines"][name] = {
            "roc_auc": _estimate(m.bootstrap_ci(y, scores, m.roc_auc, n_boot=N_BOOT, seed=seed)),
            "model_minus_baseline": asdict(comparison),
        }
    result["per_site"] = {}
    for site in sorted(set(sites)):
        rows = sites == site
        result["per_site"][site] = {
            "n": int(rows.sum()),
            "positive_rate": float(y[rows].mean()),
            "roc_auc": m.roc_auc(y[rows], p[rows]),
        }
    answers = test.frame["answer_count"].to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(answers)
    tracking = m.spearman_by_group(p[known], answers[known], sites[known])
    result["kpi"] = {
        "spearman_answer_count_within_site": asdict(tracking),
        # Does a higher score mean a better-received question, in the product's terms?
        "deciles": m.decile_table(
            p,
            {
                "label": y.astype(float),
                "answered": np.where(known, answers > 0, np.nan),
                "accepted": test.frame["accepted_answer_id"].notna().to_numpy(dtype=float),
                "score": test.frame["score"].to_numpy(dtype=float, na_value=np.nan),
            },
        ),
    }
    return result
