"""Drift of one logged quantity in a window against its reference (``monitoring.reference``):
the population stability index on the reference's bins, and a test suited to its type, from
scipy.stats: Kolmogorov-Smirnov against the reference's quantile CDF for a continuous value,
chi-square on the reference's values for a discrete value (each window value counted with
the nearest reference value) or a label (an unseen label in a bin of its own).

PSI = sum over bins of (w - r) * ln(w / r), window share w against reference share r, each
floored at ``EPSILON`` so that an empty bin counts without dividing by zero. The usual reading:
under 0.1 stable, 0.1 to 0.25 a shift worth a look, over 0.25 a large one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

EPSILON = 1e-4


def psi(reference: npt.ArrayLike, window: npt.ArrayLike) -> float:
    """PSI of window shares against reference shares (same bins)."""
    r = np.maximum(np.asarray(reference, dtype=np.float64), EPSILON)
    w = np.maximum(np.asarray(window, dtype=np.float64), EPSILON)
    return float(np.sum((w - r) * np.log(w / r)))


def drift(entry: dict[str, Any], values: Sequence[Any]) -> dict[str, Any] | None:
    """The window's ``values`` against the reference ``entry``: n, PSI, the test, its
    statistic and p-value. None when either side is empty."""
    kind = entry.get("kind")
    if kind == "label":
        return _categorical(entry, [str(v) for v in values])
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0 or kind not in ("discrete", "continuous"):
        return None
    if kind == "discrete":
        # A count: a value the reference never had (12 paragraphs, where it saw up to 11)
        # belongs with the nearest one it had, not in a bin of its own.
        known = np.asarray(entry["values"], dtype=np.float64)
        nearest = known[np.searchsorted((known[1:] + known[:-1]) / 2, x, side="right")]
        return _categorical(entry, nearest.tolist())
    edges = np.asarray(entry["edges"], dtype=np.float64)
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1)
    quantiles = np.asarray(entry["quantiles"], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, quantiles.size)

    def cdf(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # The reference's empirical CDF, linear between its quantiles (ties: the highest level).
        return np.interp(v, quantiles, levels, left=0.0, right=1.0)

    test = stats.kstest(x, cdf)
    return {
        "n": int(x.size),
        "psi": psi(entry["shares"], counts / x.size),
        "test": "ks",
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
        "mean": float(x.mean()),
    }


def _categorical(entry: dict[str, Any], values: list[Any]) -> dict[str, Any] | None:
    if not values:
        return None
    known = list(entry["values"])
    shares = np.asarray(entry["shares"], dtype=np.float64)
    index = {v: i for i, v in enumerate(known)}
    counts = np.zeros(len(known) + 1)  # the last: values the reference never had
    for v in values:
        counts[index.get(v, len(known))] += 1
    n = counts.sum()
    expected = np.append(np.maximum(shares, EPSILON), EPSILON)
    expected = expected / expected.sum() * n
    test = stats.chisquare(counts, expected)
    window_shares = counts / n
    return {
        "n": int(n),
        "psi": psi(np.append(shares, 0.0), window_shares),
        "test": "chi2",
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
        "shares": {str(k): float(s) for k, s in zip([*known, "other"], window_shares, strict=True)},
    }
