"""The reference a bundle carries for drift monitoring: the distributions, on the questions
that calibrated it, of what serving logs for every prediction: each catalog feature, and the
model's output as served (the answer model: ``score`` and ``band``; a closing model:
``closing_risk`` at the live closing rate and ``verdict``).

A numeric value is summarised by 101 quantiles (the reference CDF a window is tested
against) and the shares of up to ten quantile bins (for PSI); one with at most ten distinct
values is kept as those values and their shares. A label (band, verdict) by its shares.
About 40 kB of JSON in the bundle's description, whatever the calibration set's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

QUANTILES = 101
BINS = 10
MAX_DISCRETE = 10
SOURCE = "the calibration slice of the validation part"


def numeric_entry(values: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> dict[str, Any]:
    """One numeric distribution (finite values only, each counted with its weight), as
    described above."""
    v = np.asarray(values, dtype=np.float64)
    w = np.ones(v.size) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(v)
    v, w = v[keep], w[keep]
    if v.size == 0:
        return {"kind": "empty", "n": 0}
    distinct, inverse = np.unique(v, return_inverse=True)
    if distinct.size <= MAX_DISCRETE:
        return {
            "kind": "discrete",
            "n": int(v.size),
            "values": distinct.tolist(),
            "shares": (np.bincount(inverse, weights=w) / w.sum()).tolist(),
        }
    edges = np.unique(_quantiles(v, w, np.linspace(0, 1, BINS + 1)[1:-1]))
    shares = np.bincount(
        np.searchsorted(edges, v, side="right"), weights=w, minlength=edges.size + 1
    )
    return {
        "kind": "continuous",
        "n": int(v.size),
        "quantiles": _quantiles(v, w, np.linspace(0, 1, QUANTILES)).tolist(),
        "edges": edges.tolist(),  # inner bin edges: bin i holds edges[i-1] <= x < edges[i]
        "shares": (shares / w.sum()).tolist(),
    }


def _quantiles(
    v: npt.NDArray[np.float64], w: npt.NDArray[np.float64], levels: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Weighted quantiles (equal weights: numpy's default, linear between order statistics)."""
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cumulative = np.cumsum(w) - w[0]
    return np.interp(levels, cumulative / cumulative[-1] if cumulative[-1] > 0 else cumulative, v)


def label_entry(labels: Sequence[str], weights: npt.ArrayLike | None = None) -> dict[str, Any]:
    names, inverse = np.unique(
        np.asarray(list(labels), dtype=object).astype(str), return_inverse=True
    )
    w = np.ones(inverse.size) if weights is None else np.asarray(weights, dtype=np.float64)
    counts = np.bincount(inverse, weights=w, minlength=names.size)
    return {
        "kind": "label",
        "n": int(inverse.size),
        "values": names.tolist(),
        "shares": (counts / max(counts.sum(), 1e-12)).tolist(),
    }


def build_reference(
    catalog: npt.NDArray[np.float64],
    names: Sequence[str],
    outputs: Mapping[str, npt.ArrayLike],
    labels: Mapping[str, Sequence[str]],
    weights: npt.ArrayLike | None = None,
    source: str = SOURCE,
) -> dict[str, Any]:
    """The reference from catalog feature rows (``names`` their columns), numeric outputs
    (e.g. ``{"score": p}``) and label outputs (e.g. ``{"band": names}``), each row counted
    with its weight."""
    return {
        "source": source,
        "n": int(catalog.shape[0]),
        "weighted": weights is not None,
        "features": {name: numeric_entry(catalog[:, i], weights) for i, name in enumerate(names)},
        "outputs": {
            **{k: numeric_entry(v, weights) for k, v in outputs.items()},
            **{k: label_entry(v, weights) for k, v in labels.items()},
        },
    }


def model_reference(
    model: Any,
    questions: Sequence[Any],
    catalog: npt.NDArray[np.float64],
    y: npt.ArrayLike | None = None,
) -> dict[str, Any]:
    """The reference of a trained ``QualityModel`` on ``questions`` (with their catalog rows
    and outcomes ``y``): its outputs as serving states them. A closing model's sample has its
    own mix of closed questions (the Stack Overflow sample is half closed): its questions are
    weighted to the live closing rate, as the verdicts' closed shares are, so the reference
    looks like the live site's traffic."""
    from askwell.features.catalog import feature_names
    from askwell.models.bands import live_weights

    p = np.asarray(model.predict_proba(questions, catalog), dtype=np.float64)
    if model.risk_bands is None:
        return build_reference(
            catalog,
            feature_names(),
            {"score": p},
            {"band": [model.bands.name(float(x)) for x in p]},
        )
    risk = 1.0 - np.asarray(model.live(p), dtype=np.float64)  # stated at the live rate
    weights = None
    if y is not None:
        closed = 1.0 - np.asarray(y, dtype=np.float64)
        if 0 < closed.mean() < 1:
            weights = live_weights(closed, model.risk_bands.live_rate)
    return build_reference(
        catalog,
        feature_names(),
        {"closing_risk": risk},
        {"verdict": [model.risk_bands.name(float(r)) for r in risk]},
        weights,
        SOURCE + (", weighted to the live closing rate" if weights is not None else ""),
    )


def add_reference(bundle: Any, dataset: Any, key: bytes | None = None) -> dict[str, Any]:
    """Computes the reference of a trained bundle that has none (from before references)
    on ``dataset`` split by the bundle's recorded recipe, as training would have (the
    calibrating slice of the validation part, or the whole of it where training shared it),
    and rewrites the bundle with it (signed with ``key``, default the deployment's; the
    model unchanged).
    Returns the reference."""
    import dataclasses

    from askwell.errors import InputError
    from askwell.features.catalog import feature_matrix
    from askwell.models.bundle import load_bundle, save_bundle
    from askwell.models.train import TrainConfig, prepare, validation_slices

    model, info = load_bundle(bundle)
    try:
        recipe = TrainConfig(**info.config)
    except TypeError as exc:
        raise InputError(f"{bundle}: its recorded recipe is not readable ({exc})") from None
    if dataset.fingerprint != info.data_fingerprint:
        raise InputError(
            f"{bundle} was trained on data {info.data_fingerprint[:12]}, not this dataset "
            f"({dataset.fingerprint[:12]}): its reference must come from its own data"
        )
    val = prepare(dataset, recipe).parts["val"]
    shared = bool(info.training.get("validation_slices", {}).get("shared", False))
    rows = None if shared else validation_slices(val.y, recipe.calibration_share, recipe.seed)
    picked = list(range(len(val.y))) if rows is None else rows[1].tolist()
    questions = [val.questions[i] for i in picked]
    reference = model_reference(model, questions, feature_matrix(questions), val.y[picked])
    save_bundle(bundle, model, dataclasses.replace(info, reference=reference), key=key)
    return reference
