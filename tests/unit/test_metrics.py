"""Evaluation metrics: equal to reference implementations, calibrated, honest about uncertainty."""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.metrics import log_loss as sk_log_loss

from askwell.models.metrics import (
    average_precision,
    binary_metrics,
    bootstrap_ci,
    brier_score,
    choose_threshold,
    decile_table,
    expected_calibration_error,
    paired_bootstrap,
    reliability_curve,
    roc_auc,
    spearman_by_group,
)

Data = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _sample(n: int, seed: int, decimals: int | None = None) -> Data:
    """Labels with an informative, noisy score; rounding creates ties."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + 0.65 * rng.random(n), 0.0, 1.0)
    return y, (p.round(decimals) if decimals is not None else p)


def _positive_rate(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> float:
    return float(np.mean(y))


# --- point metrics against scikit-learn -----------------------------------------------------


@pytest.mark.parametrize(("seed", "decimals"), [(0, None), (1, 2), (2, 1), (3, 0)])
def test_ranking_metrics_equal_sklearn_with_and_without_ties(
    seed: int, decimals: int | None
) -> None:
    y, p = _sample(500, seed, decimals)
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.77, 1.0])
def test_binary_metrics_equal_sklearn(threshold: float) -> None:
    y, p = _sample(1000, 7, decimals=3)
    got = binary_metrics(y, p, threshold)
    pred = (p >= threshold).astype(int)
    expected = {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "f1": f1_score(y, pred, zero_division=0),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "accuracy": accuracy_score(y, pred),
        "brier": brier_score_loss(y, p),
        "log_loss": sk_log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)),
        "positive_rate": y.mean(),
        "n": 1000.0,
    }
    assert set(got) == set(expected) | {"ece"}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_log_loss_clips_confident_mistakes() -> None:
    got = binary_metrics(np.array([1, 0]), np.array([0.0, 0.0]), 0.5)["log_loss"]
    assert got == pytest.approx(-math.log(1e-15) / 2)


def test_bool_labels_are_accepted() -> None:
    y, p = _sample(200, 3)
    assert binary_metrics(y.astype(bool), p, 0.5) == binary_metrics(y, p, 0.5)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_nan_auc_not_an_error(label: int) -> None:
    y = np.full(50, label)
    p = np.linspace(0, 1, 50)
    got = binary_metrics(y, p, 0.5)
    assert math.isnan(got["roc_auc"]) and math.isnan(got["pr_auc"])
    others = {k: v for k, v in got.items() if k not in {"roc_auc", "pr_auc"}}
    assert all(math.isfinite(v) for v in others.values())


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1, math.nan], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1], [0.1, 1.2], r"\[0, 1\]"),
        ([0, 1], [0.1, math.nan], r"\[0, 1\]"),
        ([0, 1], [0.1], "one length"),
        ([], [], "empty"),
    ],
)
def test_invalid_input_fails_loudly(y: list[float], p: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        binary_metrics(np.array(y), np.array(p), 0.5)


# --- calibration ---------------------------------------------------------------------------


def _loop_ece(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64], edges: list[float]) -> float:
    """An independent ECE: bins [lo, hi) with the last one closed, one row at a time."""
    k = len(edges) - 1
    members: list[list[int]] = [[] for _ in range(k)]
    for row, value in enumerate(p):
        for b in range(k):
            last = b == k - 1
            if edges[b] <= value < edges[b + 1] or (last and value == edges[b + 1]):
                members[b].append(row)
                break
    gap = sum(len(m) * abs(np.mean(y[m]) - np.mean(p[m])) for m in members if m)
    return float(gap / len(p))


def test_ece_by_hand() -> None:
    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.05, 0.15, 0.12, 0.85, 0.95])
    # Bins: {0.05} gap .05; {0.15, 0.12} gap |0.5 - 0.135| x 2 rows; {0.85} .15; {0.95} .05.
    assert expected_calibration_error(y, p) == pytest.approx((0.05 + 0.73 + 0.15 + 0.05) / 5)
    curve = reliability_curve(y, p)
    assert [b.count for b in curve] == [1, 2, 1, 1]
    assert curve[1].lower == pytest.approx(0.1) and curve[1].upper == pytest.approx(0.2)
    assert curve[1].mean_predicted == pytest.approx(0.135) and curve[1].observed_rate == 0.5


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_ece_equals_an_independent_implementation(n_bins: int) -> None:
    y, p = _sample(700, n_bins)
    uniform = np.linspace(0, 1, n_bins + 1).tolist()
    assert expected_calibration_error(y, p, n_bins) == pytest.approx(_loop_ece(y, p, uniform))
    quantile = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1))).tolist()
    got = expected_calibration_error(y, p, n_bins, "quantile")
    assert got == pytest.approx(_loop_ece(y, p, quantile))


def test_quantile_bins_hold_similar_counts_and_never_split_ties() -> None:
    y, p = _sample(1000, 4)
    counts = [b.count for b in reliability_curve(y, p, 10, "quantile")]
    assert len(counts) == 10 and sum(counts) == 1000 and max(counts) - min(counts) <= 2
    y, p = _sample(1000, 4, decimals=1)
    bins = reliability_curve(y, p, 10, "quantile")
    assert sum(b.count for b in bins) == 1000
    # Membership is by value, so each bin holds whole groups of tied values.
    for b in bins:
        upper_ok = p <= b.upper if b is bins[-1] else p < b.upper
        assert b.count == np.sum((p >= b.lower) & upper_ok)


def test_calibrated_sample_has_small_ece_and_a_miscalibrated_one_large() -> None:
    rng = np.random.default_rng(11)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(np.int64)
    for strategy in ("uniform", "quantile"):
        assert expected_calibration_error(y, p, strategy=strategy) < 0.02
        assert expected_calibration_error(y, p**2, strategy=strategy) > 0.1


def test_unknown_strategy_lists_the_valid_ones() -> None:
    y, p = _sample(20, 0)
    with pytest.raises(ValueError, match="uniform"):
        expected_calibration_error(y, p, strategy="equal")  # type: ignore[arg-type]


# --- threshold choice ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_choose_threshold_maximises_f1_with_the_smallest_tied_threshold(seed: int) -> None:
    y, p = _sample(300, seed, decimals=2)
    chosen = choose_threshold(y, p)
    f1 = {t: f1_score(y, (p >= t).astype(int)) for t in np.unique(p)}
    best = max(f1.values())
    assert f1[chosen] == pytest.approx(best, abs=1e-12)
    assert chosen == min(t for t, v in f1.items() if v >= best - 1e-12)


def test_choose_threshold_tie_goes_to_the_smallest() -> None:
    # t=0.8 and t=0.2 both reach F1 = 2/3.
    assert choose_threshold(np.array([1, 0, 0, 1]), np.array([0.2, 0.4, 0.6, 0.8])) == 0.2


def test_choose_threshold_needs_a_positive_and_a_known_objective() -> None:
    with pytest.raises(ValueError, match="positive"):
        choose_threshold(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="f1"):
        choose_threshold(np.array([0, 1]), np.array([0.1, 0.9]), "accuracy")  # type: ignore[arg-type]


# --- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_interval_contains_the_point_and_narrows_with_more_data() -> None:
    small = bootstrap_ci(*_sample(300, 5), roc_auc)
    large = bootstrap_ci(*_sample(5000, 5), roc_auc)
    for est in (small, large):
        assert est.low <= est.value <= est.high and est.skipped == 0 and est.n_boot == 1000
    assert large.high - large.low < 0.5 * (small.high - small.low)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    y, p = _sample(400, 6)
    groups = np.arange(400) % 13
    assert bootstrap_ci(y, p, roc_auc, seed=3) == bootstrap_ci(y, p, roc_auc, seed=3)
    assert bootstrap_ci(y, p, roc_auc, seed=3) != bootstrap_ci(y, p, roc_auc, seed=4)
    once = bootstrap_ci(y, p, brier_score, groups=groups, seed=1)
    assert once == bootstrap_ci(y, p, brier_score, groups=groups, seed=1)


def test_cluster_bootstrap_is_wider_when_groups_are_correlated() -> None:
    rng = np.random.default_rng(8)
    n_groups, size = 40, 100
    # Each site has its own base rate, so its rows rise and fall together.
    site_rate = np.repeat(rng.beta(2, 2, n_groups), size)
    y = (rng.random(n_groups * size) < site_rate).astype(np.int64)
    p = np.full(y.size, 0.5)
    groups = np.repeat([f"site{i}" for i in range(n_groups)], size)
    rows = bootstrap_ci(y, p, _positive_rate)
    clusters = bootstrap_ci(y, p, _positive_rate, groups=groups)
    assert clusters.value == rows.value
    assert clusters.high - clusters.low > 3 * (rows.high - rows.low)


def test_cluster_resamples_keep_whole_groups() -> None:
    seen: list[npt.NDArray[np.int64]] = []

    def record(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> float:
        seen.append(y.copy())
        return 0.0

    groups = np.repeat(np.array(["a", "b", "c"]), [1, 2, 3])
    y = np.repeat(np.array([0, 1, 0]), [1, 2, 3])  # y identifies the group by its pattern
    bootstrap_ci(y, np.zeros(6), record, n_boot=50, groups=groups)
    assert len(seen) == 51
    for sample in seen[:-1]:
        assert sample.size in range(3, 10) and sample.sum() % 2 == 0


def test_nan_resamples_are_skipped_and_counted() -> None:
    y = np.zeros(20, dtype=np.int64)
    y[0] = 1  # a resample misses the only positive about (19/20)**20 = 36% of the time
    p = np.linspace(0, 1, 20)
    est = bootstrap_ci(y, p, roc_auc)
    assert 250 < est.skipped < 450 and math.isfinite(est.low) and math.isfinite(est.high)
    single = bootstrap_ci(np.zeros(20, dtype=np.int64), p, roc_auc, n_boot=100)
    assert math.isnan(single.value) and math.isnan(single.low) and single.skipped == 100


def test_bootstrap_of_auc_is_fast() -> None:
    y, p = _sample(5000, 9)
    start = time.perf_counter()
    bootstrap_ci(y, p, roc_auc)
    # ~0.3 s here; the bound leaves room for a loaded CI machine.
    assert time.perf_counter() - start < 4.0


# --- paired bootstrap ------------------------------------------------------------------------


def test_paired_bootstrap_detects_a_clearly_better_model() -> None:
    rng = np.random.default_rng(10)
    y = rng.integers(0, 2, 1000)
    truthish = np.clip(0.6 * y + 0.4 * rng.random(1000), 0, 1)
    noise = rng.random(1000)
    better = paired_bootstrap(y, truthish, noise, roc_auc)
    assert better.diff > 0.3 and better.low > 0 and better.p_value_one_sided < 0.01
    worse = paired_bootstrap(y, noise, truthish, roc_auc)
    assert worse.diff == pytest.approx(-better.diff) and worse.p_value_one_sided > 0.99


def test_paired_bootstrap_of_equal_models_is_not_significant() -> None:
    y, p = _sample(500, 12)
    same = paired_bootstrap(y, p, p.copy(), roc_auc)
    assert same.diff == 0 and same.low == same.high == 0 and same.p_value_one_sided == 1.0
    rng = np.random.default_rng(12)
    a, b = rng.random(500), rng.random(500)  # two equally useless models
    assert paired_bootstrap(y, a, b, roc_auc).p_value_one_sided > 0.05
    assert paired_bootstrap(y, b, a, roc_auc).p_value_one_sided > 0.05


def test_paired_bootstrap_is_deterministic() -> None:
    y, p = _sample(300, 13)
    q = np.clip(p + 0.1, 0, 1)
    assert paired_bootstrap(y, p, q, brier_score) == paired_bootstrap(y, p, q, brier_score)


# --- product alignment -----------------------------------------------------------------------


def test_spearman_by_group_equals_scipy_and_weights_by_size() -> None:
    rng = np.random.default_rng(14)
    sizes = {"ell": 60, "math": 200, "tiny": 5, "flat": 40}
    groups = np.repeat(list(sizes), list(sizes.values()))
    score = rng.random(groups.size)
    outcome = rng.poisson(1 + 3 * score).astype(float)
    outcome[groups == "flat"] = 2.0
    got = spearman_by_group(score, outcome, groups)
    assert set(got.per_group) == {"ell", "math"}
    assert set(got.skipped) == {"tiny", "flat"} and "constant outcome" in got.skipped["flat"]
    for name, (rho, n) in got.per_group.items():
        mask = groups == name
        assert n == sizes[name]
        assert rho == pytest.approx(spearmanr(score[mask], outcome[mask]).statistic, abs=1e-12)
    expected = (got.per_group["ell"][0] * 60 + got.per_group["math"][0] * 200) / 260
    assert got.weighted_mean == pytest.approx(expected)


def test_spearman_by_group_with_no_usable_group_is_nan() -> None:
    got = spearman_by_group(np.arange(10.0), np.arange(10.0), np.array(["a"] * 10))
    assert math.isnan(got.weighted_mean) and not got.per_group and "a" in got.skipped


def test_decile_table_orders_bins_and_averages_columns() -> None:
    rng = np.random.default_rng(15)
    score = rng.random(1000)
    answered = (rng.random(1000) < score).astype(float)
    votes = rng.integers(-3, 20, 1000).astype(float)
    votes[:10] = np.nan
    table = decile_table(score, {"answered": answered, "score": votes})
    assert [row["bin"] for row in table] == list(range(1, 11))
    assert sum(row["count"] for row in table) == 1000
    means = [row["mean_model_score"] for row in table]
    assert means == sorted(means)
    assert table[-1]["mean_answered"] > table[0]["mean_answered"]
    for row in table:
        inside = (score >= row["lower"]) & (
            (score < row["upper"]) if row["bin"] < 10 else (score <= row["upper"])
        )
        assert row["count"] == inside.sum()
        assert row["mean_answered"] == pytest.approx(answered[inside].mean())
        assert row["median_score"] == pytest.approx(np.nanmedian(votes[inside]))
        assert row["mean_score"] == pytest.approx(np.nanmean(votes[inside]))


def test_decile_table_never_splits_tied_scores() -> None:
    score = np.repeat([0.1, 0.5, 0.9], [500, 300, 200])
    table = decile_table(score, {"x": np.ones(1000)})
    assert sorted(row["count"] for row in table) == [200, 300, 500]
    assert "median_score" not in table[0]
    single = decile_table(np.full(7, 0.3), {})
    assert len(single) == 1 and single[0]["count"] == 7


# --- properties --------------------------------------------------------------------------------

_RANGES = {
    "roc_auc": (0.0, 1.0),
    "pr_auc": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "brier": (0.0, 1.0),
    "ece": (0.0, 1.0),
    "log_loss": (0.0, -math.log(1e-15)),
    "positive_rate": (0.0, 1.0),
}


@st.composite
def _labelled(draw: st.DrawFn) -> tuple[Data, float, list[int]]:
    rows = draw(
        st.lists(
            st.tuples(st.booleans(), st.floats(0.0, 1.0, allow_nan=False)), min_size=2, max_size=60
        ).filter(lambda r: len({label for label, _ in r}) == 2)
    )
    y = np.array([label for label, _ in rows], dtype=np.int64)
    p = np.array([prob for _, prob in rows], dtype=np.float64)
    threshold = draw(st.floats(0.0, 1.0, allow_nan=False))
    order = draw(st.permutations(list(range(len(rows)))))
    return (y, p), threshold, order


@settings(max_examples=200, deadline=None)
@given(_labelled())
def test_binary_metrics_are_finite_in_range_and_order_free(
    case: tuple[Data, float, list[int]],
) -> None:
    (y, p), threshold, order = case
    got = binary_metrics(y, p, threshold)
    assert got["n"] == len(y)
    for key, (low, high) in _RANGES.items():
        assert math.isfinite(got[key]) and low <= got[key] <= high + 1e-12, key
    shuffled = binary_metrics(y[order], p[order], threshold)
    for key, value in got.items():
        assert shuffled[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
