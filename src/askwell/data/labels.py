"""What "a good question" means: a registry of labels, each documented.

A label is a boolean per question, or unknown (``<NA>``) where the data cannot say (an export
without the column it needs, a site whose answers are not in the dataset). Unknown is never
read as False: training and evaluation drop it.

- ``score_above_median`` is the book's label. Its median is taken on the training portion of
  each site only, so it needs a split. Raw Score grows with a question's age, so on a time
  split the newest questions look worse than they are.
- ``score_above_cohort_median`` is age-fair: a question is compared with the questions of its
  own site posted in the same calendar quarter, which have had about as long to collect
  votes. The cohort median is part of the label's definition, like a rank; no model sees it.
- ``answered``, ``accepted``, ``score_positive``, ``good_answer_within_7d``: what the product
  promises, that a better question gets answered (well, and soon).
- A label with a time window (``good_answer_within_7d``) waits for its outcome: a question
  posted less than the window before its site's data ends (the site's last post in the
  dataset) has not had the window yet, so its label is unknown (censored), never a negative.
- ``closed``: the community closed the question (on the Stack Overflow closing data, as not a
  real question, off topic, not constructive or too localized). Its *good* outcome is the
  negative one: askwell's models always predict the good outcome (here: staying open), so
  a higher score is better for every label, and the closing risk is one minus it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from askwell.data.dataset import Dataset
from askwell.errors import AskwellError, InputError

QUESTION_COLUMNS = [
    "site", "id", "creation_date", "score", "answer_count", "accepted_answer_id",
    "owner_user_id", "title", "tags", "body_text", "source", "closed", "close_reason",
    "owner_reputation",  # for the card's slice by reputation only: never a feature
]  # fmt: skip


class UnknownLabelError(AskwellError, KeyError):
    """A label name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


@dataclass(frozen=True)
class LabelInputs:
    """What labels are computed from: the questions (with a ``part`` column once split),
    one row per answer, and the sources that carry no AcceptedAnswerId at all."""

    questions: pd.DataFrame
    answers: pd.DataFrame
    sources_without_accepted: frozenset[str] = frozenset()

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> LabelInputs:
        questions = dataset.table("questions", QUESTION_COLUMNS).to_pandas()
        answers = dataset.table(
            "answers", ["site", "parent_id", "creation_date", "score"]
        ).to_pandas()
        lacking = frozenset(
            str(i["source"])
            for i in dataset.manifest.get("inputs", [])
            if i.get("format") == "csv" and "AcceptedAnswerId" not in (i.get("csv_columns") or [])
        )
        return cls(questions, answers, lacking)


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    needs_split: bool
    compute: Callable[[LabelInputs], pd.Series]  # nullable boolean, aligned on questions
    # Whether True is the good outcome. Models learn the good outcome: a question's score is
    # the chance of it (``good``), whatever the label's own polarity.
    positive_is_good: bool = True
    window: pd.Timedelta | None = None  # how long the outcome takes to be known

    def __call__(self, inputs: LabelInputs) -> pd.Series:
        if self.needs_split and "part" not in inputs.questions:
            raise InputError(
                f"label {self.name!r} needs a split: its median is the training portion's"
            )
        values = self.compute(inputs).astype("boolean")
        return values.mask(self.censored(inputs)).rename(self.name)

    def censored(self, inputs: LabelInputs) -> pd.Series:
        """Per question, True where the outcome cannot be known yet: posted less than the
        label's window before its site's data ends. All False for a label without a window."""
        q = inputs.questions
        if self.window is None:
            return pd.Series(False, index=q.index)
        ends = (
            pd.concat([q[["site", "creation_date"]], inputs.answers[["site", "creation_date"]]])
            .groupby("site")["creation_date"]
            .max()
        )
        young: pd.Series = q["creation_date"] > q["site"].map(ends) - self.window
        return young.fillna(False).astype(bool)

    def good(self, inputs: LabelInputs) -> pd.Series:
        """The good outcome per question (nullable boolean): the label, or its negation
        when True is the bad outcome (``closed``)."""
        values = self(inputs)
        return values if self.positive_is_good else ~values


def _score_above_median(inputs: LabelInputs) -> pd.Series:
    q = inputs.questions
    train = q[q["part"] == "train"]
    medians = train.groupby("site")["score"].median()
    median = q["site"].map(medians)
    return (q["score"] > median).where(q["score"].notna() & median.notna())


def _cohort(q: pd.DataFrame) -> pd.Series:
    quarter = q["creation_date"].dt.tz_convert(None).dt.to_period("Q").astype(str)
    cohort: pd.Series = q["site"].astype(str) + "/" + quarter
    return cohort


def _score_above_cohort_median(inputs: LabelInputs) -> pd.Series:
    q = inputs.questions
    dated = q["creation_date"].notna() & q["score"].notna()
    cohort = _cohort(q[dated])
    median = q.loc[dated, "score"].groupby(cohort).transform("median")
    out = pd.Series(pd.NA, index=q.index, dtype="boolean")
    out[dated] = q.loc[dated, "score"] > median
    return out


def _answered(inputs: LabelInputs) -> pd.Series:
    count = inputs.questions["answer_count"]
    return (count > 0).where(count.notna())


def _accepted(inputs: LabelInputs) -> pd.Series:
    q = inputs.questions
    known = ~q["source"].isin(inputs.sources_without_accepted)
    return q["accepted_answer_id"].notna().where(known)


def _score_positive(inputs: LabelInputs) -> pd.Series:
    score = inputs.questions["score"]
    return (score > 0).where(score.notna())


def _good_answer_within_7d(inputs: LabelInputs) -> pd.Series:
    q, a = inputs.questions, inputs.answers
    good = a[a["score"] > 0]
    first = good.groupby(["site", "parent_id"])["creation_date"].min()
    key = pd.MultiIndex.from_arrays([q["site"], q["id"]])
    first_good = pd.Series(first.reindex(key).to_numpy(), index=q.index)
    within = (first_good - q["creation_date"]) <= pd.Timedelta(days=7)
    # Known only where the site's answers are in the dataset (a dump, not an export).
    known = q["site"].isin(set(a["site"])) & q["creation_date"].notna()
    return within.fillna(False).where(known)


def _closed(inputs: LabelInputs) -> pd.Series:
    """Known where the source says: a dump (ClosedDate) or the closing data (OpenStatus)."""
    return inputs.questions["closed"]


LABELS: dict[str, Label] = {
    label.name: label
    for label in (
        Label(
            "score_above_median",
            "Score strictly above the median Score of the site's training questions "
            "(the book's label; grows with a question's age).",
            True,
            _score_above_median,
        ),
        Label(
            "score_above_cohort_median",
            "Score strictly above the median Score of questions from the same site and "
            "calendar quarter (age-fair: compared with questions as old as it).",
            False,
            _score_above_cohort_median,
        ),
        Label("answered", "At least one answer (AnswerCount > 0).", False, _answered),
        Label("accepted", "Has an accepted answer.", False, _accepted),
        Label("score_positive", "Score above zero.", False, _score_positive),
        Label(
            "good_answer_within_7d",
            "An answer with a positive score arrived within 7 days (sites whose answers "
            "are in the dataset; unknown for questions posted in the last 7 days of their "
            "site's data).",
            False,
            _good_answer_within_7d,
            window=pd.Timedelta(days=7),
        ),
        Label(
            "closed",
            "Closed by the community (as not a real question, off topic, not constructive or "
            "too localized); the good outcome is staying open.",
            False,
            _closed,
            positive_is_good=False,
        ),
    )
}


def get_label(name: str) -> Label:
    try:
        return LABELS[name]
    except KeyError:
        raise UnknownLabelError(
            f"unknown label {name!r}; valid labels are {', '.join(sorted(LABELS))}"
        ) from None


def positive_rate_by_part(label: pd.Series, part: pd.Series) -> dict[str, float]:
    """Share of positives among known labels in each part: a label biased by age shows a
    lower rate in the (newer) test part of a time split."""
    known = label.notna()
    rates = label[known].astype(bool).groupby(part[known]).mean()
    return {str(k): float(v) for k, v in rates.items()}
