"""The check of the advice against real human edits: what people did when they revised.

``explain/edit_check.py`` re-scores the model's own edits: true by construction. This check
can fail. From each question's history (``askwell.data.revisions``) it pairs the text as
first posted with the last revision that changed it (by its author or an editor; never the
Community bot's automatic edits, such as dropping the "featured" tag), and asks:

- *judgement*: does the model judge the revised question better than the first one, as
  people who revised it thought it was? Overall, and split by who made the last revision.
- *followed*: for each rule that fires on the first text, how often the revised text no
  longer triggers it (people did what the rule asks, unprompted): the rule's precision
  against human editors. Beside it the *base*: where the rule did not fire on the first
  text, how often it still does not fire later; a rule whose ``followed`` is no higher than
  the rate at which edits leave it untouched says little.
- *outcomes*: where the rule fires on the text as first posted against where it does not,
  the share answered and the share closed.

Every share comes with a seeded 95% percentile bootstrap interval over questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from askwell.data.dataset import Dataset
from askwell.data.revisions import Revision
from askwell.explain.suggestions import RULES
from askwell.models.metrics import mean_ci
from askwell.records import Question

COMMUNITY_USER = -1  # Stack Exchange's bot account: its edits are housekeeping, not advice
_BATCH = 512  # questions judged per call: bounds the feature rows held at once
_TIE = 1e-12  # judgements this close are the same judgement
_ALPHA = 0.05

Bools = npt.NDArray[np.bool_]


class Judge(Protocol):
    """What the check needs of a model: ``Predictor.judge`` (higher is better)."""

    def judge(self, questions: Sequence[Question]) -> npt.NDArray[np.float64]: ...


def edit_pairs(
    revisions: Mapping[tuple[str, int], Sequence[Revision]],
) -> list[tuple[Revision, Revision]]:
    """Per question: (the text as first posted, the last human revision that changed the
    title, body or tags), where that revision's text differs from the first one (an edit
    later rolled back to the original is no edit). Questions without one are left out."""
    pairs = []
    for revs in revisions.values():
        later = None
        for before, after in pairwise(revs):
            if after.user_id != COMMUNITY_USER and _text(after) != _text(before):
                later = after
        if later is not None and _text(later) != _text(revs[0]):
            pairs.append((revs[0], later))
    return pairs


def check_revisions(
    predictor: Judge,
    revisions: dict[tuple[str, int], list[Revision]],
    outcomes: pd.DataFrame,
    seed: int = 0,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """The judgement and each rule against real revisions and outcomes (see the module's
    doc). ``outcomes``: the dataset's questions with site, id, answer_count and closed
    (null where unknown). The result is JSON-serialisable; a share is
    {value, low, high, n}, its value and bounds None when n is 0."""
    # Outcomes are about the text as first posted: every question with history counts.
    keys = [k for k, revs in revisions.items() if revs]
    as_posted = {k: revisions[k][0].question() for k in keys}
    posted = list(as_posted.values())
    answered, closed = _outcomes(outcomes, keys)

    pairs = edit_pairs(revisions)
    first = [as_posted[(a.site, a.post_id)] for a, _ in pairs]
    later = [b.question() for _, b in pairs]
    by_owner = np.array([b.by_owner for _, b in pairs], dtype=bool)
    before, after = _judge(predictor, first), _judge(predictor, later)

    rules = []
    for rule in RULES:
        fires_a = np.array([rule.evidence(q) is not None for q in first], dtype=bool)
        fires_b = np.array([rule.evidence(q) is not None for q in later], dtype=bool)
        fires_posted = np.array([rule.evidence(q) is not None for q in posted], dtype=bool)
        rules.append(
            {
                "id": rule.id,
                "fires_first": int(fires_a.sum()),  # of the pairs
                "fires_first_questions": int(fires_posted.sum()),  # of all with history
                "followed": _share(~fires_b[fires_a], seed, n_boot),
                "base": _share(~fires_b[~fires_a], seed, n_boot),
                **_outcome_split(fires_posted, answered, closed, seed, n_boot),
            }
        )
    return {
        "n_pairs": len(pairs),
        "n_questions": len(keys),
        "n_by_owner": int(by_owner.sum()),
        "n_by_editor": int((~by_owner).sum()),
        "judgement": {
            "overall": _judgement(before, after, seed, n_boot),
            "by_owner": _judgement(before[by_owner], after[by_owner], seed, n_boot),
            "editor": _judgement(before[~by_owner], after[~by_owner], seed, n_boot),
        },
        "rules": rules,
        "note": (
            "Evidence against real human edits: each question as first posted against its "
            "last human revision that changed it (the Community bot's edits left out), and "
            "against real outcomes (answered, closed). Unlike the self-consistency check of "
            "explain/edit_check.py, which is true by construction, these numbers can "
            "disagree with the model and the rules. 'followed': of pairs where a rule fires "
            "on the first text, the share where the revision no longer triggers it; 'base': "
            "of pairs where it does not fire first, the share where it still does not. "
            f"Intervals: {100 * (1 - _ALPHA):.0f}% percentile bootstrap over questions "
            f"({n_boot} resamples, seed {seed}); questions of one site are not independent, "
            "so they are if anything too narrow."
        ),
    }


def _text(r: Revision) -> tuple[str, str, tuple[str, ...]]:
    return r.title, r.body_markdown, r.tags


def _judge(predictor: Judge, questions: list[Question]) -> npt.NDArray[np.float64]:
    parts = [
        np.asarray(predictor.judge(questions[i : i + _BATCH]), dtype=np.float64)
        for i in range(0, len(questions), _BATCH)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def _outcomes(
    outcomes: pd.DataFrame, keys: list[tuple[str, int]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Answered (answer_count > 0) and closed, as 1.0/0.0 per key, nan where unknown."""
    if not keys:
        return np.zeros(0), np.zeros(0)
    frame = outcomes.drop_duplicates(["site", "id"]).set_index(["site", "id"])
    index = pd.MultiIndex.from_tuples(keys, names=["site", "id"])
    count = pd.to_numeric(frame["answer_count"], errors="coerce").reindex(index)
    closed = frame["closed"].reindex(index)
    answered = np.where(count.isna(), np.nan, (count > 0).astype(float))
    shut = np.array([np.nan if pd.isna(v) else float(bool(v)) for v in closed], dtype=np.float64)
    return answered.astype(np.float64), shut


def _outcome_split(
    fires: Bools,
    answered: npt.NDArray[np.float64],
    closed: npt.NDArray[np.float64],
    seed: int,
    n_boot: int,
) -> dict[str, dict[str, Any]]:
    out = {}
    for name, values in (("answered", answered), ("closed", closed)):
        known = ~np.isnan(values)
        out[f"{name}_when_fires"] = _share(values[fires & known] == 1.0, seed, n_boot)
        out[f"{name}_otherwise"] = _share(values[~fires & known] == 1.0, seed, n_boot)
    return out


def _judgement(
    before: npt.NDArray[np.float64], after: npt.NDArray[np.float64], seed: int, n_boot: int
) -> dict[str, Any]:
    change = after - before
    tie = np.abs(change) <= _TIE
    return {
        "improves": _share(~tie & (change > 0), seed, n_boot),
        "ties": _share(tie, seed, n_boot),
        "worsens": _share(~tie & (change < 0), seed, n_boot),
        "mean_change": _mean(change, seed, n_boot),
    }


def _share(values: Bools, seed: int, n_boot: int) -> dict[str, Any]:
    """The share of True with its bootstrap interval."""
    return _mean(values.astype(np.float64), seed, n_boot)


def _mean(values: npt.NDArray[np.float64], seed: int, n_boot: int) -> dict[str, Any]:
    """The mean with a seeded percentile bootstrap interval (resampling the values)."""
    return mean_ci(values, n_boot=n_boot, alpha=_ALPHA, seed=seed)


def check_test_questions(
    bundle: Path, dataset: Dataset, test: pd.DataFrame, seed: int = 0
) -> dict[str, Any] | None:
    """The check for a bundle (with the closing model beside it, as the product judges) on
    its test questions that have a history: never on questions it was trained on. None when
    none has one (a dataset without PostHistory.xml)."""
    from askwell.data.revisions import question_revisions
    from askwell.explain.predictor import Predictor

    keys = set(zip(test["site"], test["id"], strict=True))
    revisions = {k: v for k, v in question_revisions(dataset).items() if k in keys}
    if not revisions:
        return None
    outcomes = dataset.table("questions", ["site", "id", "answer_count", "closed"]).to_pandas()
    return {
        "part": "test",
        **check_revisions(Predictor.load(bundle), revisions, outcomes, seed),
    }
