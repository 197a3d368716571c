"""The test split, touched once: metrics with 95% bootstrap intervals, the same for every
baseline, paired comparisons, per-site and per-slice metrics, and whether the score tracks
answers.

Everything returned is plain JSON (numbers, strings, lists, dicts) for the report, the
bundle and the tracker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import numpy.typing as npt

from askwell.features.text_stats import is_meta_site
from askwell.models import metrics as m
from askwell.models.bands import live_weights
from askwell.models.contributions import display_name
from askwell.models.heuristic import HeuristicScorer
from askwell.models.train import PreparedData, QualityModel, TrainConfig
from askwell.records import Question

MIN_SLICE = 20  # below this an AUC (and its interval) is mostly noise
TOP_TAGS = 8
# (upper bound in prose words, slice name); the last bucket is open-ended.
_LENGTH_BUCKETS = ((50, "<50 words"), (150, "50-150 words"), (400, "150-400 words"))
_LONGEST = ">=400 words"


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


def _length_bucket(question: Question) -> str:
    words = len(question.body.text.split())
    return next((name for upper, name in _LENGTH_BUCKETS if words < upper), _LONGEST)


def _tag_groups(questions: Sequence[Question]) -> tuple[list[str], list[str]]:
    """Each question's first tag when it is one of the most frequent first tags, else
    "other"; and the kept tags, most frequent first, then "other"."""
    first = [q.tags[0] if q.tags else "(no tags)" for q in questions]
    # Ties broken by name, so the kept tags do not depend on question order.
    ranked = sorted(Counter(first).items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [tag for tag, _ in ranked[:TOP_TAGS]]
    return [tag if tag in kept else "other" for tag in first], [*kept, "other"]


_REPUTATION_BUCKETS = ((2, "1 (new account)"), (101, "2-100"), (1001, "101-1000"))
_MOST_REPUTATION = ">1000"


def _reputation_bucket(value: float) -> str:
    if np.isnan(value):
        return "unknown"
    return next((name for upper, name in _REPUTATION_BUCKETS if value < upper), _MOST_REPUTATION)


def slice_families(
    questions: Sequence[Question],
    sites: Sequence[str],
    reputation: npt.NDArray[np.float64] | None = None,
) -> dict[str, tuple[list[str], list[str]]]:
    """Per family: every question's slice name, and the slice names in display order. With
    the authors' ``reputation`` at posting time (where the source has it), a family by
    reputation: askwell judges the question, not the person, so the score should work for
    newcomers as well as for regulars."""
    families = {
        "body_length": (
            [_length_bucket(q) for q in questions],
            [name for _, name in _LENGTH_BUCKETS] + [_LONGEST],
        ),
        "code": (
            ["code" if q.body.code_blocks or q.body.inline_code else "no code" for q in questions],
            ["code", "no code"],
        ),
        "site_kind": (["meta" if is_meta_site(s) else "main" for s in sites], ["main", "meta"]),
        "tag": _tag_groups(questions),
    }
    if reputation is not None and not np.isnan(reputation).all():
        families["reputation"] = (
            [_reputation_bucket(v) for v in reputation],
            [name for _, name in _REPUTATION_BUCKETS] + [_MOST_REPUTATION, "unknown"],
        )
    return families


def _slice_metrics(
    y: npt.NDArray[np.int64], p: npt.NDArray[np.float64], seed: int, n_boot: int
) -> dict[str, Any]:
    """n, positive rate and ROC-AUC [95% CI]; AUC is None, with a reason, when undefined."""
    out: dict[str, Any] = {
        "n": len(y),
        "positive_rate": float(y.mean()) if len(y) else None,
        "roc_auc": None,
        "reason": None,
    }
    if len(y) < MIN_SLICE:
        out["reason"] = f"fewer than {MIN_SLICE} questions"
    elif len(set(y.tolist())) < 2:
        out["reason"] = "one class only"
    else:
        est = m.bootstrap_ci(y, p, m.roc_auc, n_boot=n_boot, seed=seed)
        out["roc_auc"] = _estimate(est)
    return out


def slices(
    questions: Sequence[Question],
    sites: Sequence[str],
    y: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    seed: int = 0,
    reputation: npt.NDArray[np.float64] | None = None,
    n_boot: int = TrainConfig.slice_n_boot,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Metrics per slice, for every family of ``slice_families`` (every slice listed, even
    an empty one, so n sums to the number of questions within each family)."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for family, (names, order) in slice_families(questions, sites, reputation).items():
        labels = np.array(names, dtype=object)
        result[family] = {
            name: _slice_metrics(y[labels == name], p[labels == name], seed, n_boot)
            for name in order
        }
    return result


WORST = 100
TOP_FEATURES = 3
EXAMPLES_PER_CAUSE = 3
_EXCERPT = 300


def worst_errors(
    model: QualityModel,
    questions: Sequence[Question],
    catalog: npt.NDArray[np.float64] | None,
    frame: Any,
    y: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    n: int = WORST,
) -> dict[str, Any]:
    """The ``n`` most confident mistakes at the model's threshold, each with its text, score,
    label and the features that pushed it most towards the wrong answer; and the mistakes
    grouped into recurring causes: (kind of mistake, the idea that pushed hardest)."""
    wrong = (p >= model.threshold).astype(int) != y
    confidence = np.where(y == 1, 1 - p, p)  # how sure the model was of the wrong answer
    rows = [int(i) for i in np.argsort(-confidence, kind="stable") if wrong[i]][:n]
    if not rows:
        return {"n_mistakes": 0, "worst": [], "causes": []}
    picked = [questions[i] for i in rows]
    contrib = model.contributions(picked, None if catalog is None else catalog[rows])
    grouped, groups = contrib.grouped()
    worst: list[dict[str, Any]] = []
    for k, i in enumerate(rows):
        # Towards the wrong answer: up for a false positive, down for a false negative.
        sign = 1.0 if y[i] == 0 else -1.0
        row = contrib.values.getrow(k)
        pushes = sorted(
            zip(row.indices.tolist(), (sign * row.data).tolist(), strict=True),
            key=lambda t: (-t[1], t[0]),
        )
        by_group = sign * grouped[k]
        q = questions[i]
        worst.append(
            {
                "site": str(frame["site"].iloc[i]),
                "id": int(frame["id"].iloc[i]),
                "title": q.title,
                "excerpt": q.body.text[:_EXCERPT],
                "score": float(p[i]),
                "label": int(y[i]),
                "kind": "false positive" if y[i] == 0 else "false negative",
                "top_features": [
                    {
                        "feature": contrib.names[j],
                        "display": display_name(contrib.names[j]),
                        "push": float(v),
                    }
                    for j, v in pushes[:TOP_FEATURES]
                    if v > 0
                ],
                "cause": groups[int(np.argmax(by_group))],
            }
        )
    causes: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for w in worst:
        causes.setdefault((w["kind"], w["cause"]), []).append(w)
    table = [
        {
            "kind": kind,
            "cause": cause,
            "n": len(members),
            "share": len(members) / len(worst),
            "mean_score": float(np.mean([w["score"] for w in members])),
            "examples": [w["title"] for w in members[:EXAMPLES_PER_CAUSE]],
        }
        for (kind, cause), members in sorted(causes.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return {"n_mistakes": int(wrong.sum()), "worst": worst, "causes": table}


def reason_metrics(
    model: QualityModel, data: PreparedData, seed: int, n_boot: int
) -> dict[str, Any] | None:
    """For a model with a reason classifier (closing): on the test questions that have a
    reason, macro-F1 with its 95% bootstrap interval against the majority baseline (the
    training part's most common reason, every time), per-reason F1, and the confusion
    counts. None without one."""
    from askwell.models.reasons import macro_f1
    from askwell.models.train import reasons_of

    reasons = getattr(model, "reasons", None)
    if reasons is None:
        return None
    test = data.parts["test"]
    truth = reasons_of(test)
    rows = np.flatnonzero(truth != None)  # noqa: E711
    if not len(rows):
        return None
    truth = truth[rows]
    x = model.transform([test.questions[i] for i in rows], None if test.catalog is None
                        else test.catalog[rows])  # fmt: skip
    predicted = np.array(reasons.predict(x), dtype=object)
    counts = Counter(r for r in reasons_of(data.parts["train"]) if r is not None)
    majority = max(sorted(counts), key=lambda r: counts[r])
    names = list(reasons.reasons)
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(rows), len(rows)) for _ in range(n_boot)]

    def interval(pred: npt.NDArray[np.object_]) -> dict[str, float]:
        stats = np.array([macro_f1(list(truth[d]), list(pred[d]), names) for d in draws])
        low, high = np.percentile(stats, [2.5, 97.5])
        value = macro_f1(list(truth), list(pred), names)
        return {"value": value, "low": float(low), "high": float(high)}

    baseline = np.full(len(rows), majority, dtype=object)
    return {
        "n": len(rows),
        "reasons": names,
        "macro_f1": interval(predicted),
        "majority": {"reason": majority, "macro_f1": interval(baseline)},
        "per_reason_f1": {r: macro_f1(truth == r, predicted == r, [True]) for r in names},
        "confusion": {
            r: {q: int(np.sum((truth == r) & (predicted == q))) for q in names} for r in names
        },
    }


def evaluate(model: QualityModel, data: PreparedData, config: TrainConfig) -> dict[str, Any]:
    """Scores the test part once and measures it; see the module docstring. The bootstrap
    counts and seed are the recipe's (``config``)."""
    seed, n_boot = config.seed, config.n_boot
    test = data.parts["test"]
    y = test.y
    p = model.predict_proba(test.questions, test.catalog)
    sites = test.frame["site"].astype(str).to_numpy()
    result: dict[str, Any] = {
        "n_test": len(y),
        "threshold": model.threshold,
        "metrics": m.binary_metrics(y, p, model.threshold),
        "intervals": {
            name: _estimate(m.bootstrap_ci(y, p, fn, n_boot=n_boot, seed=seed))
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
        comparison = m.paired_bootstrap(y, p, scores, m.roc_auc, n_boot=n_boot, seed=seed)
        result["baselines"][name] = {
            "roc_auc": _estimate(m.bootstrap_ci(y, scores, m.roc_auc, n_boot=n_boot, seed=seed)),
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
    reputation = (
        test.frame["owner_reputation"].to_numpy(dtype=float, na_value=np.nan)
        if "owner_reputation" in test.frame
        else None
    )
    result["slices"] = slices(
        test.questions, sites.tolist(), y, p, seed, reputation, config.slice_n_boot
    )
    result["bands"] = band_evidence(model, y, p, seed, n_boot)
    result["errors"] = worst_errors(model, test.questions, test.catalog, test.frame, y, p)
    result["reasons"] = reason_metrics(model, data, seed, n_boot)
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


def band_evidence(
    model: QualityModel,
    y: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    seed: int,
    n_boot: int,
) -> dict[str, Any]:
    """The bands' evidence re-checked on test: per band, the test questions in it and the
    share that met the label, with a 95% bootstrap interval, beside the calibration slice's
    share the editor shows. For a closing model with a live rate, the same for its verdicts:
    the closed share, the test sample reweighted to the live rate as at training."""
    out: dict[str, Any] = {"bands": []}
    names = np.array([model.bands.name(float(v)) for v in p], dtype=object)
    for stats in model.bands.stats:
        inside = names == stats.name
        out["bands"].append(
            {
                "name": stats.name,
                "calibration": {"n": stats.n, "rate": stats.good_rate},
                "test": m.mean_ci(y[inside], n_boot=n_boot, seed=seed),
            }
        )
    risk_bands = model.risk_bands
    closed = (1 - y).astype(float)
    if risk_bands is not None and 0 < closed.mean() < 1:
        risk = 1 - model.live(p)
        weights = live_weights(closed, risk_bands.live_rate)
        verdicts = np.array([risk_bands.name(float(v)) for v in risk], dtype=object)
        out["verdicts"] = []
        for verdict in risk_bands.stats:
            inside = verdicts == verdict.name
            out["verdicts"].append(
                {
                    "name": verdict.name,
                    "calibration": {"n": verdict.n, "rate": verdict.closed_rate},
                    "test": m.mean_ci(closed[inside], weights[inside], n_boot, seed=seed),
                }
            )
        out["live_rate"] = risk_bands.live_rate
    return out
