"""Which questions reviewers should label: a registry of picking strategies.

The model is least sure where its calibrated probability is near 1/2 *on the scale it was
trained at* (the closing model's sample is about half closed; its live risk is moved to the
site's rate afterwards, see ``QualityModel.live``), so uncertainty is read from that
probability: ``1 - |2p - 1|``, 1 at p = 1/2 and 0 at certainty.

- ``random``: the baseline, any question with equal chance.
- ``uncertainty``: the ``n`` least sure.
- ``diverse``: uncertainty with diversity (Brinker, 2003, in spirit): the ``pool_factor * n``
  least sure are clustered into ``n`` groups on hashed word vectors of their text, and the
  least sure of each group is taken, so one burst of near-identical questions does not
  take the whole budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from askwell.errors import InputError

if TYPE_CHECKING:
    from scipy import sparse

    from askwell.records import Question

Picker = Callable[
    [npt.NDArray[np.float64], int, int, Callable[[], "sparse.csr_matrix"]], npt.NDArray[np.int64]
]
POOL_FACTOR = 5  # candidates per pick for ``diverse``
HASH_FEATURES = 2**18


class StrategyNotFoundError(InputError):
    """A picking strategy that is not registered; the message lists the valid names."""


def uncertainty(p_good: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """1 - |2p - 1|: 1 where the model cannot tell, 0 where it is sure."""
    p = np.asarray(p_good, dtype=np.float64)
    return np.asarray(1.0 - np.abs(2.0 * p - 1.0), dtype=np.float64)


def _random(
    p: npt.NDArray[np.float64], n: int, seed: int, _vectors: object
) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(p), size=n, replace=False)).astype(np.int64)


def _least_sure(p: npt.NDArray[np.float64], n: int, seed: int) -> npt.NDArray[np.int64]:
    # Ties (equal probabilities) are broken at random, not by position in the pool.
    jitter = np.random.default_rng(seed).random(len(p)) * 1e-12
    order = np.argsort(-(uncertainty(p) + jitter), kind="stable")
    return order[:n].astype(np.int64)


def _uncertainty(
    p: npt.NDArray[np.float64], n: int, seed: int, _vectors: object
) -> npt.NDArray[np.int64]:
    return _least_sure(p, n, seed)


def _diverse(
    p: npt.NDArray[np.float64],
    n: int,
    seed: int,
    vectors: Callable[[], sparse.csr_matrix],
) -> npt.NDArray[np.int64]:
    from sklearn.cluster import MiniBatchKMeans

    pool = _least_sure(p, min(len(p), POOL_FACTOR * n), seed)
    if len(pool) <= n:
        return pool
    x = vectors()[pool]
    groups = MiniBatchKMeans(
        n_clusters=n, random_state=seed, n_init=3, batch_size=max(1024, 3 * n)
    ).fit_predict(x)
    u = uncertainty(p[pool])
    picked: list[int] = []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        picked.append(int(pool[members[np.argmax(u[members])]]))
    if len(picked) < n:  # empty clusters: fill with the least sure not yet taken
        taken = set(picked)
        picked += [int(i) for i in pool if int(i) not in taken][: n - len(picked)]
    return np.asarray(picked[:n], dtype=np.int64)


def _no_vectors() -> sparse.csr_matrix:
    raise InputError("this strategy reads no text vectors")


STRATEGIES: dict[str, Picker] = {
    "random": _random,
    "uncertainty": _uncertainty,
    "diverse": _diverse,
}


def text_vectors(questions: Sequence[Question]) -> sparse.csr_matrix:
    """Hashed, L2-normalised word and word-pair counts of title, prose and code: bounded
    memory whatever the vocabulary, and nothing to fit."""
    from sklearn.feature_extraction.text import HashingVectorizer

    texts = [f"{q.title}\n{q.body.text}\n{' '.join(q.tags)}" for q in questions]
    return HashingVectorizer(
        n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False
    ).transform(texts)


def pick(
    p_good: npt.ArrayLike,
    n: int,
    strategy: str,
    *,
    seed: int = 0,
    vectors: Callable[[], sparse.csr_matrix] | None = None,
) -> npt.NDArray[np.int64]:
    """Indices of the ``n`` questions (of those with probabilities ``p_good``) that
    ``strategy`` gives reviewers; all of them when there are no more than ``n``. ``vectors``
    builds their text vectors, for ``diverse`` (called only if needed)."""
    if strategy not in STRATEGIES:
        raise StrategyNotFoundError(
            f"no picking strategy {strategy!r}; valid: {', '.join(sorted(STRATEGIES))}"
        )
    p = np.asarray(p_good, dtype=np.float64)
    if n < 0:
        raise InputError(f"cannot pick {n} questions")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise InputError("probabilities to pick from must lie in [0, 1]")
    if n >= len(p):
        return np.arange(len(p), dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if strategy == "diverse" and vectors is None:
        raise InputError("the diverse strategy needs the questions' text vectors")
    return STRATEGIES[strategy](p, n, seed, vectors or _no_vectors)
