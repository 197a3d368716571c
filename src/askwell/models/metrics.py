"""Evaluation metrics for an honest report: discrimination, calibration, uncertainty, KPI fit.

Pure functions over numpy arrays, no I/O and no plotting. ``y`` holds 0/1 (or bool) labels with
unknown labels already dropped by the caller; ``p`` holds the predicted probability of the
positive class, in [0, 1]. A decision threshold is chosen on validation data only
(:func:`choose_threshold`); every other function may run on any split, and the report runs
them on test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

Labels = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]
Metric = Callable[[Labels, Floats], float]
"""``metric(y, p) -> float``; ``nan`` where the metric is undefined (e.g. one class)."""
BinStrategy = Literal["uniform", "quantile"]
Objective = Literal["f1"]

_CLIP = 1e-15  # log loss: a confident mistake costs ~34.5 nats rather than infinity
_BLOCK = 1 << 22  # resample indices drawn per block (~32 MiB), so large n cannot exhaust memory


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability curve: rows with ``lower <= p < upper`` (last bin closed)."""

    lower: float
    upper: float
    mean_predicted: float
    observed_rate: float
    count: int


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile bootstrap interval.

    ``n_boot`` resamples were drawn; ``skipped`` of them gave ``nan`` (e.g. a resample with one
    class for AUC) and the interval comes from the rest (``nan`` if none are left).
    """

    value: float
    low: float
    high: float
    n_boot: int
    skipped: int


@dataclass(frozen=True)
class PairedComparison:
    """``metric(a) - metric(b)`` on shared resamples, its interval and a one-sided p-value."""

    diff: float
    low: float
    high: float
    p_value_one_sided: float
    n_boot: int
    skipped: int


@dataclass(frozen=True)
class GroupCorrelation:
    """Within-group Spearman rho, averaged with weights = group size.

    ``per_group`` maps group -> (rho, n); ``skipped`` maps each left-out group to the reason.
    """

    weighted_mean: float
    per_group: dict[str, tuple[float, int]]
    skipped: dict[str, str]


@dataclass(frozen=True)
class _Grouping:
    """Rows by group: group ``g`` owns ``order[starts[g] : starts[g] + counts[g]]``."""

    names: npt.NDArray[np.generic]
    order: Indices
    starts: Indices
    counts: Indices

    def rows(self, g: int) -> Indices:
        return self.order[self.starts[g] : self.starts[g] + self.counts[g]]


# --- validation and shared building blocks ---------------------------------------------------


def _check_binary(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[Labels, Floats]:
    """Validate labels and probabilities at the boundary; return them as int64 / float64."""
    y_arr = np.asarray(y)
    p_arr = np.asarray(p, dtype=np.float64)
    if y_arr.ndim != 1 or p_arr.shape != y_arr.shape:
        raise ValueError(
            f"y and p must be 1-D and of one length; got shapes {y_arr.shape} and {p_arr.shape}"
        )
    if y_arr.size == 0:
        raise ValueError("y and p are empty")
    if not ((y_arr == 0) | (y_arr == 1)).all():
        raise ValueError("y must hold only 0/1 labels (drop unknown labels first)")
    # Written so that nan fails too.
    if not ((p_arr >= 0.0) & (p_arr <= 1.0)).all():
        raise ValueError("p must hold probabilities in [0, 1] (no nan)")
    return y_arr.astype(np.int64), p_arr


def _check_finite(values: npt.ArrayLike, name: str, n: int | None = None) -> Floats:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ValueError(f"{name} must be 1-D with {n} values; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no nan)")
    return arr


def _grouping(groups: npt.ArrayLike, n: int) -> _Grouping:
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.size != n:
        raise ValueError(f"groups must be 1-D with {n} values; got shape {arr.shape}")
    names, codes = np.unique(arr, return_inverse=True)
    counts = np.bincount(codes, minlength=names.size).astype(np.intp)
    return _Grouping(
        names=names,
        order=np.argsort(codes, kind="stable").astype(np.intp),
        starts=(np.cumsum(counts) - counts).astype(np.intp),
        counts=counts,
    )


def _curve(y: Labels, p: Floats) -> tuple[Floats, Labels, Labels]:
    """Distinct thresholds (descending) with true/false positives when predicting ``p >= t``.

    The one sort behind ROC AUC, average precision and threshold choice; tied scores share a
    threshold, which is what makes ties count half in AUC.
    """
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    tps = np.cumsum(y_sorted)
    fps = np.arange(1, y.size + 1) - tps
    last = np.r_[np.flatnonzero(np.diff(p_sorted)), y.size - 1]  # last row of each value
    return p_sorted[last], tps[last], fps[last]


def _f1(tp: npt.NDArray[np.int64], fp: npt.NDArray[np.int64], n_pos: int) -> Floats:
    # 2TP / (2TP + FP + FN) = 2TP / (TP + FP + P); 0 when undefined, as sklearn's zero_division=0.
    denom = (tp + fp + n_pos).astype(np.float64)
    return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1.0), 0.0)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _bin_edges(values: Floats, n_bins: int, strategy: BinStrategy) -> Floats:
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        # Tied values collapse duplicate edges, so heavy ties give fewer, never split, bins.
        edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
        return edges if edges.size > 1 else np.repeat(edges, 2)
    raise ValueError(f"unknown strategy {strategy!r}; valid: 'uniform', 'quantile'")


def _assign_bins(values: Floats, edges: Floats) -> Indices:
    # Bins are [lower, upper) except the last, which is closed so the maximum belongs to it;
    # assignment depends on values only, so equal values always share a bin.
    return np.searchsorted(edges[1:-1], values, side="right").astype(np.intp)


# --- point metrics -----------------------------------------------------------------------------


def roc_auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve (tied scores count half); ``nan`` when ``y`` has one class.

    Equal to sklearn's ``roc_auc_score`` but a single sort, so it is cheap inside a bootstrap.
    """
    y_, p_ = _check_binary(y, p)
    _, tps, fps = _curve(y_, p_)
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    if n_pos == 0 or n_neg == 0:
        return math.nan
    tp = np.r_[0.0, tps.astype(np.float64)]
    fp = np.r_[0.0, fps.astype(np.float64)]
    return float(np.sum(np.diff(fp) * (tp[1:] + tp[:-1])) / (2.0 * n_pos * n_neg))


def average_precision(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Average precision (PR AUC, sklearn's step definition); ``nan`` when ``y`` has one class."""
    y_, p_ = _check_binary(y, p)
    _, tps, fps = _curve(y_, p_)
    n_pos = int(tps[-1])
    if n_pos == 0 or fps[-1] == 0:
        return math.nan
    precision = tps / (tps + fps)
    recall_gain = np.diff(tps, prepend=0) / n_pos
    return float(np.sum(recall_gain * precision))


def brier_score(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Mean squared error of the probabilities; 0 is perfect."""
    y_, p_ = _check_binary(y, p)
    return float(np.mean((p_ - y_) ** 2))


def log_loss(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Mean negative log-likelihood, each row's likelihood clipped to at least 1e-15."""
    y_, p_ = _check_binary(y, p)
    # Clipping the likelihood, not p: 1 - (1 - 1e-15) rounds below 1e-15 in floating point.
    likelihood = np.where(y_ == 1, p_, 1.0 - p_)
    return float(-np.mean(np.log(np.clip(likelihood, _CLIP, 1.0))))


def reliability_curve(
    y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = 10, strategy: BinStrategy = "uniform"
) -> list[CalibrationBin]:
    """The non-empty calibration bins, lowest first.

    ``uniform`` bins split [0, 1] evenly; ``quantile`` bins hold about equally many rows (ties
    are never split, so there may be fewer bins).
    """
    y_, p_ = _check_binary(y, p)
    edges = _bin_edges(p_, n_bins, strategy)
    idx = _assign_bins(p_, edges)
    k = edges.size - 1
    counts = np.bincount(idx, minlength=k)
    sum_p = np.bincount(idx, weights=p_, minlength=k)
    sum_y = np.bincount(idx, weights=y_, minlength=k)
    return [
        CalibrationBin(
            lower=float(edges[i]),
            upper=float(edges[i + 1]),
            mean_predicted=float(sum_p[i] / counts[i]),
            observed_rate=float(sum_y[i] / counts[i]),
            count=int(counts[i]),
        )
        for i in np.flatnonzero(counts)
    ]


def expected_calibration_error(
    y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = 10, strategy: BinStrategy = "uniform"
) -> float:
    """Count-weighted mean of |observed rate - mean predicted| over the non-empty bins."""
    bins = reliability_curve(y, p, n_bins, strategy)
    total = sum(b.count for b in bins)
    return sum(b.count * abs(b.observed_rate - b.mean_predicted) for b in bins) / total


def binary_metrics(y: npt.ArrayLike, p: npt.ArrayLike, threshold: float) -> dict[str, float]:
    """Discrimination, threshold and calibration metrics of one model on one split.

    Keys: roc_auc, pr_auc, f1, precision, recall, accuracy (predicting positive when
    ``p >= threshold``), brier, ece (10 uniform bins), log_loss, positive_rate (share of
    positive labels: the PR AUC of a random model) and n. When ``y`` holds one class, roc_auc and
    pr_auc are ``nan`` rather than an error; precision, recall and f1 are 0 when undefined.
    The threshold must come from validation data (:func:`choose_threshold`).
    """
    y_, p_ = _check_binary(y, p)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    predicted = p_ >= threshold
    n_pos = int(y_.sum())
    tp = int(np.sum(predicted & (y_ == 1)))
    fp = int(predicted.sum()) - tp
    return {
        "roc_auc": roc_auc(y_, p_),
        "pr_auc": average_precision(y_, p_),
        "f1": float(_f1(np.array(tp), np.array(fp), n_pos)),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, n_pos),
        "accuracy": float(np.mean(predicted == (y_ == 1))),
        "brier": brier_score(y_, p_),
        "ece": expected_calibration_error(y_, p_),
        "log_loss": log_loss(y_, p_),
        "positive_rate": n_pos / y_.size,
        "n": float(y_.size),
    }


def choose_threshold(y: npt.ArrayLike, p: npt.ArrayLike, objective: Objective = "f1") -> float:
    """The threshold (one of the distinct values of ``p``) maximising F1 of ``p >= t``.

    Use on validation data only, never on test: a threshold tuned on test inflates every
    threshold metric reported there. Ties go to the smallest threshold. Needs a positive in ``y``.
    """
    if objective != "f1":
        raise ValueError(f"unknown objective {objective!r}; valid: 'f1'")
    y_, p_ = _check_binary(y, p)
    thresholds, tps, fps = _curve(y_, p_)
    n_pos = int(tps[-1])
    if n_pos == 0:
        raise ValueError("choose_threshold needs at least one positive label")
    scores = _f1(tps, fps, n_pos)
    # Thresholds descend, so the last maximum is the smallest threshold among ties.
    best = scores.size - 1 - int(np.argmax(scores[::-1]))
    return float(thresholds[best])


# --- uncertainty -------------------------------------------------------------------------------


def _check_bootstrap(n_boot: int, alpha: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _resamples(n: int, n_boot: int, seed: int, groups: npt.ArrayLike | None) -> Iterator[Indices]:
    """Row indices of each resample: rows with replacement, or whole groups (cluster bootstrap).

    Indices are drawn in blocks from ``default_rng(seed)``, so a seed fixes every resample.
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        block = max(1, _BLOCK // n)
        for start in range(0, n_boot, block):
            yield from rng.integers(0, n, size=(min(block, n_boot - start), n))
        return
    grouping = _grouping(groups, n)
    n_groups = grouping.names.size
    block = max(1, _BLOCK // n_groups)
    for start in range(0, n_boot, block):
        for picks in rng.integers(0, n_groups, size=(min(block, n_boot - start), n_groups)):
            # Concatenate the picked groups' rows without a Python loop over groups.
            lengths = grouping.counts[picks]
            ends = np.cumsum(lengths)
            offsets = np.repeat(grouping.starts[picks] - (ends - lengths), lengths)
            yield grouping.order[offsets + np.arange(ends[-1])]


def _percentile_interval(stats: Floats, alpha: float) -> tuple[float, float, Floats]:
    valid = stats[~np.isnan(stats)]
    if valid.size == 0:
        return math.nan, math.nan, valid
    low, high = np.quantile(valid, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high), valid


def bootstrap_ci(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    metric: Metric,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    groups: npt.ArrayLike | None = None,
) -> Estimate:
    """``metric(y, p)`` with a percentile bootstrap ``1 - alpha`` interval; any split.

    Resamples rows with replacement, or whole groups when ``groups`` is given (a cluster
    bootstrap: rows of one site are not independent, and treating them so understates the
    width). Resamples where the metric is ``nan`` are skipped and counted.
    """
    y_, p_ = _check_binary(y, p)
    _check_bootstrap(n_boot, alpha)
    stats = np.array(
        [metric(y_[i], p_[i]) for i in _resamples(y_.size, n_boot, seed, groups)],
        dtype=np.float64,
    )
    low, high, valid = _percentile_interval(stats, alpha)
    return Estimate(float(metric(y_, p_)), low, high, n_boot, n_boot - valid.size)


def mean_ci(
    values: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    groups: npt.ArrayLike | None = None,
) -> dict[str, float | int | None]:
    """The (weighted) mean of ``values`` (e.g. 0/1 outcomes: a share) with a seeded
    percentile bootstrap ``1 - alpha`` interval, resampling the values (or whole ``groups``:
    e.g. the scores of one editing session are not independent); ``n`` beside it. Value and
    bounds are None for no values."""
    _check_bootstrap(n_boot, alpha)
    v = np.asarray(values, dtype=np.float64)
    w = np.ones(v.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if v.size == 0:
        return {"value": None, "low": None, "high": None, "n": 0}
    means = _resampled_means(v, w, n_boot, seed, groups)
    low, high, _ = _percentile_interval(means, alpha)
    return {"value": float(np.average(v, weights=w)), "low": low, "high": high, "n": int(v.size)}


def _resampled_means(
    v: Floats, w: Floats, n_boot: int, seed: int, groups: npt.ArrayLike | None
) -> Floats:
    return np.array(
        [np.average(v[i], weights=w[i]) for i in _resamples(v.size, n_boot, seed, groups)]
    )


def difference_ci(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    groups_a: npt.ArrayLike | None = None,
    groups_b: npt.ArrayLike | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """mean(a) - mean(b) for two independent samples (e.g. the canary's sessions and the
    champion's), with a percentile bootstrap interval: each sample resampled on its own (by
    its ``groups`` when given), seeded. Value and bounds are None when either is empty."""
    _check_bootstrap(n_boot, alpha)
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if va.size == 0 or vb.size == 0:
        return {"value": None, "low": None, "high": None, "n_a": int(va.size), "n_b": int(vb.size)}
    means_a = _resampled_means(va, np.ones(va.size), n_boot, seed, groups_a)
    means_b = _resampled_means(vb, np.ones(vb.size), n_boot, seed + 1, groups_b)
    low, high, _ = _percentile_interval(means_a - means_b, alpha)
    return {
        "value": float(va.mean() - vb.mean()),
        "low": low,
        "high": high,
        "n_a": int(va.size),
        "n_b": int(vb.size),
    }


def paired_bootstrap(
    y: npt.ArrayLike,
    p_a: npt.ArrayLike,
    p_b: npt.ArrayLike,
    metric: Metric,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    groups: npt.ArrayLike | None = None,
) -> PairedComparison:
    """Is model a better than model b on ``metric``? Both are scored on the same resamples.

    ``diff = metric(a) - metric(b)`` (higher metric = better); the one-sided p-value for
    H0 "a is not better" is (#{resampled diff <= 0} + 1) / (#valid resamples + 1).
    Use on test to report a comparison decided beforehand, or on validation to select.
    """
    y_, a = _check_binary(y, p_a)
    _, b = _check_binary(y_, p_b)
    _check_bootstrap(n_boot, alpha)
    diffs = np.array(
        [
            metric(y_[i], a[i]) - metric(y_[i], b[i])
            for i in _resamples(y_.size, n_boot, seed, groups)
        ],
        dtype=np.float64,
    )
    low, high, valid = _percentile_interval(diffs, alpha)
    p_value = (int(np.sum(valid <= 0.0)) + 1) / (valid.size + 1)
    diff = float(metric(y_, a) - metric(y_, b))
    return PairedComparison(diff, low, high, p_value, n_boot, n_boot - valid.size)


# --- product alignment -------------------------------------------------------------------------


def spearman_by_group(
    score: npt.ArrayLike, outcome: npt.ArrayLike, groups: npt.ArrayLike, min_group: int = 20
) -> GroupCorrelation:
    """Spearman rho of ``score`` vs ``outcome`` within each group, size-weighted; test split.

    Judges "the score tracks answers" within a site: a pooled rho is inflated by differences in
    base rates between sites, so it is deliberately not offered. Groups with fewer than
    ``min_group`` rows or a constant score/outcome are skipped, with the reason.
    """
    s = _check_finite(score, "score")
    o = _check_finite(outcome, "outcome", s.size)
    grouping = _grouping(groups, s.size)
    per_group: dict[str, tuple[float, int]] = {}
    skipped: dict[str, str] = {}
    for g, name in enumerate(grouping.names):
        rows = grouping.rows(g)
        key = str(name)
        if rows.size < min_group:
            skipped[key] = f"{rows.size} rows < min_group={min_group}"
        elif np.ptp(s[rows]) == 0:
            skipped[key] = "constant score"
        elif np.ptp(o[rows]) == 0:
            skipped[key] = "constant outcome"
        else:
            rho = np.corrcoef(rankdata(s[rows]), rankdata(o[rows]))[0, 1]
            per_group[key] = (float(rho), int(rows.size))
    total = sum(n for _, n in per_group.values())
    weighted = sum(rho * n for rho, n in per_group.values()) / total if total else math.nan
    return GroupCorrelation(weighted, per_group, skipped)


def decile_table(
    score: npt.ArrayLike, frame_columns: Mapping[str, npt.ArrayLike], n_bins: int = 10
) -> list[dict[str, float]]:
    """The KPI-alignment table: one row per quantile bin of the model score, lowest first.

    Each row: bin (1-based), lower, upper, count, mean_model_score, ``mean_<column>`` for every
    column (nan values ignored) and, if a column is named "score", median_score. Tied scores
    always share a bin, so heavy ties give fewer bins. Run on test (or any evaluation split).
    """
    s = _check_finite(score, "score")
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in frame_columns.items()}
    for name, values in columns.items():
        if values.shape != s.shape:
            raise ValueError(f"column {name!r} has shape {values.shape}, score has {s.shape}")
    edges = _bin_edges(s, n_bins, "quantile")
    bins = _grouping(_assign_bins(s, edges), s.size)
    table: list[dict[str, float]] = []
    for g, b in enumerate(bins.names):
        rows = bins.rows(g)
        row: dict[str, float] = {
            "bin": int(b) + 1,
            "lower": float(edges[b]),
            "upper": float(edges[b + 1]),
            "count": int(rows.size),
            "mean_model_score": float(s[rows].mean()),
        }
        for name, values in columns.items():
            known = values[rows]
            known = known[~np.isnan(known)]
            row[f"mean_{name}"] = float(known.mean()) if known.size else math.nan
            if name == "score":  # vote scores are skewed: the median says more than the mean
                row["median_score"] = float(np.median(known)) if known.size else math.nan
        table.append(row)
    return table
