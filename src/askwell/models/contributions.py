"""Each feature's contribution to a prediction, exact for the model kinds askwell trains.

Contributions are on the estimator's logit scale, before calibration: Platt scaling is
monotone, so what pushes the logit up pushes the calibrated probability up too.

- logistic regression: ``coef_j * x_j`` (exact);
- LightGBM: tree SHAP values from ``pred_contrib`` (exact for the trees);
- a blend: the mean of its members' contributions, each on its own logit scale (the blend
  averages probabilities, so this is the members' view, not an exact decomposition).

Feature columns are also *grouped* into ideas a person recognises: the catalog's groups
(length, readability, code…), the wording of the text, the wording of the title, the tags.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from askwell.features.catalog import get_feature

Floats = npt.NDArray[np.float64]

# Prefixes that QuestionFeatures gives its text blocks, and the idea each block stands for.
_TEXT_BLOCKS = {"word": "wording", "title_chars": "title wording", "tag": "tags"}


@dataclass(frozen=True)
class Contributions:
    """Per-row, per-column contributions, the base value (the logit with no evidence), and
    the columns' names."""

    values: sparse.csr_matrix  # rows by feature columns
    base: Floats  # one per row
    names: tuple[str, ...]

    def grouped(self) -> tuple[Floats, list[str]]:
        """Rows by groups: the sum of each group's columns; and the group names, in order."""
        member, order = _membership(self.names)
        summed = np.asarray((self.values @ member).todense(), dtype=np.float64)
        return summed, order


@functools.lru_cache(maxsize=8)
def _membership(names: tuple[str, ...]) -> tuple[sparse.csr_matrix, list[str]]:
    """Columns by groups, 1 where the column belongs to the group: built once per model (a
    model has tens of thousands of columns; rebuilding it per question was most of the cost
    of explaining one)."""
    groups = [group_of(n) for n in names]
    order = sorted(set(groups))
    index = {g: i for i, g in enumerate(order)}
    member = sparse.csr_matrix(
        (np.ones(len(groups)), (np.arange(len(groups)), [index[g] for g in groups])),
        shape=(len(groups), len(order)),
    )
    return member, order


def group_of(name: str) -> str:
    """The idea a feature column belongs to: its catalog group, or its text block's."""
    prefix, sep, rest = name.partition(":")
    if prefix == "bin":  # a range of a catalog feature belongs with the feature
        return get_feature(rest.partition(":")[0]).group
    if sep:
        return _TEXT_BLOCKS.get(prefix, prefix)
    return get_feature(name).group


def display_name(name: str) -> str:
    """How a column reads in a report: the catalog's display name, or the word itself."""
    prefix, sep, rest = name.partition(":")
    if not sep:
        return get_feature(name).display
    if prefix == "bin":
        feature, _, span = rest.partition(":")
        return f"{get_feature(feature).display} {span}"
    return {"word": f"word “{rest}”", "title_chars": f"title “{rest}”", "tag": f"tag [{rest}]"}.get(
        prefix, name
    )


def contributions(estimator: Any, x: sparse.csr_matrix, names: Sequence[str]) -> Contributions:
    """Exact contributions of ``estimator`` (fitted on columns ``names``) for the rows ``x``."""
    names = tuple(names)
    members = getattr(estimator, "estimators", None)
    if members is not None:  # a blend: the mean of its members' views
        parts = [contributions(e, x, names) for e in members]
        values = sum((p.values for p in parts[1:]), parts[0].values) / len(parts)
        base = np.mean([p.base for p in parts], axis=0)
        return Contributions(sparse.csr_matrix(values), base, names)
    if hasattr(estimator, "coef_"):
        coef = np.asarray(estimator.coef_, dtype=np.float64).ravel()
        values = sparse.csr_matrix(x.multiply(coef[np.newaxis, :]), dtype=np.float64)
        base = np.full(x.shape[0], float(np.ravel(estimator.intercept_)[0]))
        return Contributions(values, base, names)
    if hasattr(estimator, "booster_"):
        raw = estimator.booster_.predict(x, pred_contrib=True)
        matrix = sparse.csr_matrix(raw, dtype=np.float64)
        # The last column is the expected value (the trees' base), not a feature.
        base = np.asarray(matrix[:, -1].todense(), dtype=np.float64).ravel()
        return Contributions(sparse.csr_matrix(matrix[:, :-1]), base, names)
    raise TypeError(f"no exact contributions for {type(estimator).__name__}")
