"""Labels and leakage-free splits, on real dumps."""

from __future__ import annotations

import pandas as pd
import pytest

from askwell.data.dataset import Dataset
from askwell.data.labels import LABELS, LabelInputs, get_label, positive_rate_by_part
from askwell.data.split import SplitConfig, UnknownSplitError, split
from askwell.errors import InputError
from tests.conftest import DUMPS, SHARED_DATA, IngestFn, ingest_dataset

pytestmark = pytest.mark.data

SITES = [
    "beer.stackexchange.com",
    "quantumcomputing.stackexchange.com",
    "ai.stackexchange.com",
    "bicycles.meta.stackexchange.com",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> LabelInputs:
    sources = [DUMPS / s for s in SITES]
    sources.append(SHARED_DATA / "sede/stackoverflow-posts__alaingarcia/QueryResults.csv")
    sources.append(
        SHARED_DATA
        / "sede/stackoverflow-android-2009-2011-title-only__SanduniTharaka"
        / "QueryResults.csv"
    )
    return LabelInputs.from_dataset(
        ingest_dataset(tmp_path_factory.mktemp("labels") / "ds", *sources)
    )


def test_time_split_trains_on_the_past(inputs: LabelInputs) -> None:
    frame, report = split(inputs.questions, "time")
    assert report.sizes["test"] > 0 and report.sizes["val"] > 0
    for site, group in frame.groupby("site"):
        train = group[group["part"] == "train"]["creation_date"]
        val = group[group["part"] == "val"]["creation_date"]
        test = group[group["part"] == "test"]["creation_date"]
        assert train.max() < test.min(), site
        if len(val):
            assert train.max() < val.min() and val.max() < test.min(), site
        assert 0.15 <= len(test) / len(group) <= 0.3, site


def test_author_split_keeps_each_author_in_one_part(inputs: LabelInputs) -> None:
    frame, _ = split(inputs.questions, "author", SplitConfig(seed=3))
    known = frame[frame["owner_user_id"].notna()]
    parts_per_author = known.groupby(["site", "owner_user_id"])["part"].nunique()
    assert (parts_per_author == 1).all()
    share = (frame["part"] == "test").mean()
    assert 0.15 <= share <= 0.25


def test_no_identical_text_in_two_parts(inputs: LabelInputs) -> None:
    questions = inputs.questions
    doubled = pd.concat([questions, questions.head(50).assign(id=lambda f: f["id"] + 10**9)])
    for strategy in ("time", "author", "random"):
        frame, report = split(doubled, strategy)
        assert report.duplicates_dropped >= 50
        key = frame["title"].fillna("") + "\x1f" + frame["body_text"].fillna("")
        texted = frame[key.str.strip("\x1f") != ""]
        assert (texted.groupby(key[texted.index])["part"].nunique() == 1).all()


def test_near_duplicates_are_dropped_before_splitting(inputs: LabelInputs) -> None:
    """Real questions reposted with a word changed, or with a line added, are found and
    dropped (the earliest is kept); every other question is kept; off, nothing is."""
    questions = inputs.questions
    long = questions[questions["body_text"].fillna("").str.split().str.len() > 80].head(40)
    first = long.head(20)

    def change_one_word(body: str) -> str:
        words = body.split()
        words[len(words) // 2] = "REPLACED"
        return " ".join(words)

    reposted = first.assign(
        id=first["id"] + 10**9,
        creation_date=first["creation_date"] + pd.Timedelta(days=30),
        body_text=first["body_text"].map(change_one_word) + " Thanks in advance.",
    )
    _, before = split(questions, "time")
    frame, report = split(pd.concat([questions, reposted], ignore_index=True), "time")
    assert report.duplicates_dropped == before.duplicates_dropped  # no exact copy among them
    assert not set(frame["id"]) & set(reposted["id"])  # every repost found ...
    assert report.near_duplicates_dropped == before.near_duplicates_dropped + len(reposted)
    assert before.near_duplicates_dropped <= len(questions) // 100  # the real data's own
    kept, off = split(
        pd.concat([questions, reposted], ignore_index=True),
        "time",
        SplitConfig(near_duplicates=None),
    )
    assert off.near_duplicates_dropped == 0 and set(reposted["id"]) <= set(kept["id"])
    # A different question on the same subject is not a duplicate.
    other = long.iloc[20:21].assign(id=10**10, title=first["title"].iloc[0])
    frame, report = split(pd.concat([first, other], ignore_index=True), "random")
    assert report.near_duplicates_dropped == 0 and len(frame) == len(first) + 1


def test_random_split_is_seeded(inputs: LabelInputs) -> None:
    a, _ = split(inputs.questions, "random", SplitConfig(seed=1))
    b, _ = split(inputs.questions, "random", SplitConfig(seed=1))
    c, _ = split(inputs.questions, "random", SplitConfig(seed=2))
    assert a["part"].equals(b["part"]) and not a["part"].equals(c["part"])


def test_unknown_split_and_label_list_the_valid_names() -> None:
    with pytest.raises(UnknownSplitError, match="valid splits are author, first_tag, random, time"):
        split(pd.DataFrame(), "chronological")
    with pytest.raises(KeyError, match="valid labels are accepted, answered"):
        get_label("good")


def test_every_label_is_documented_and_computes(inputs: LabelInputs) -> None:
    frame, _ = split(inputs.questions, "time")
    labelled = LabelInputs(frame, inputs.answers, inputs.sources_without_accepted)
    for name, label in LABELS.items():
        values = label(labelled)
        assert label.description and values.name == name
        assert len(values) == len(frame) and str(values.dtype) == "boolean"
        known = values.dropna()
        assert 0 < known.mean() < 1, name


def test_book_label_needs_a_split(inputs: LabelInputs) -> None:
    with pytest.raises(InputError, match="needs a split"):
        get_label("score_above_median")(inputs)


def test_book_label_uses_training_medians_only(inputs: LabelInputs) -> None:
    frame, _ = split(inputs.questions, "time")
    labelled = LabelInputs(frame, inputs.answers)
    # Changing test scores must not change any training label (the median is train's).
    shifted = frame.assign(score=frame["score"].where(frame["part"] != "test", 10_000))
    before = get_label("score_above_median")(labelled)
    after = get_label("score_above_median")(LabelInputs(shifted, inputs.answers))
    train = frame["part"] == "train"
    assert before[train].equals(after[train])


def test_unknown_is_not_false(inputs: LabelInputs) -> None:
    frame, _ = split(inputs.questions, "time")
    labelled = LabelInputs(frame, inputs.answers, inputs.sources_without_accepted)
    accepted = get_label("accepted")(labelled)
    android = frame["source"].str.contains("SanduniTharaka")
    assert accepted[android].isna().all()  # that export has no AcceptedAnswerId column
    assert accepted[~android].notna().all()
    label = get_label("good_answer_within_7d")
    timely, censored = label(labelled), label.censored(labelled)
    exports = frame["site"].str.startswith("stackoverflow-")
    assert timely[exports].isna().all() and timely[~exports & ~censored].notna().all()
    assert timely[censored].isna().all()


def test_a_windowed_label_waits_for_its_outcome(inputs: LabelInputs) -> None:
    """good_answer_within_7d is unknown for exactly the questions posted in the last 7 days
    of their site's data: before, they counted as negatives, which made the newest (test)
    questions look worse than they were."""
    frame, _ = split(inputs.questions, "time")
    dumps = frame[frame["site"].isin(SITES)]
    labelled = LabelInputs(dumps, inputs.answers)
    label = get_label("good_answer_within_7d")
    censored = label.censored(labelled)
    for site in SITES:
        posts = pd.concat(
            [dumps.loc[dumps["site"] == site, "creation_date"],
             inputs.answers.loc[inputs.answers["site"] == site, "creation_date"]]
        )  # fmt: skip
        end = posts.max()
        young = dumps["site"].eq(site) & (dumps["creation_date"] > end - pd.Timedelta(days=7))
        assert censored[dumps["site"] == site].equals(young[dumps["site"] == site]), site
    assert censored.sum() > 0 and (dumps.loc[censored, "part"] == "test").all()
    raw = label.compute(labelled).astype("boolean")  # what the label said before waiting
    assert raw[censored].mean() < raw[~censored & (dumps["part"] == "test")].mean()
    assert label(labelled)[censored].isna().all()
    # Labels without a window censor nothing.
    assert not get_label("answered").censored(labelled).any()


def test_age_fair_label_removes_the_age_bias(inputs: LabelInputs) -> None:
    frame, _ = split(inputs.questions, "time")
    dumps = frame[frame["site"].isin(SITES)]
    labelled = LabelInputs(dumps, inputs.answers)
    book = positive_rate_by_part(get_label("score_above_median")(labelled), dumps["part"])
    fair = positive_rate_by_part(get_label("score_above_cohort_median")(labelled), dumps["part"])
    assert book["train"] - book["test"] > 0.05  # newer questions look worse
    assert abs(fair["train"] - fair["test"]) < abs(book["train"] - book["test"]) / 2


def test_label_inputs_from_a_dataset(run_ingest: IngestFn) -> None:
    report = run_ingest(DUMPS / "coffee.stackexchange.com")
    inputs = LabelInputs.from_dataset(Dataset.open(report.out))
    assert len(inputs.questions) == 225 and len(inputs.answers) == 327
