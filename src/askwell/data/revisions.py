"""Every question's revisions, rebuilt from the ``post_history`` table (PostHistory.xml).

A Stack Exchange post's history is a series of rows, one per changed field: types 1, 2, 3 are
the title, body and tags as first posted; 4, 5, 6 edit them; 7, 8, 9 roll them back (their
text is the value restored, so they read like edits). Rows that share a RevisionGUID are one
revision (a title and body edited at once). Here each revision becomes the question's full
state after it, fields it did not change carried forward, so any revision can be scored as
the question it was. Answers' history is left out; so is a question whose history lacks its
first body (it cannot be rebuilt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from askwell.data.dataset import Dataset
from askwell.records import Question

_INITIAL = (1, 2, 3)  # title, body, tags as first posted
_TEXT_TYPES = tuple(range(1, 10))  # 1-3 initial, 4-6 edits, 7-9 rollbacks, in that field order
_FIELDS = ("title", "body", "tags")  # (type - 1) % 3
_INITIAL_KEY = ""  # the revision key of revision 0, whatever GUIDs its rows carry
_ANGLE_TAG = re.compile(r"<([^<>]+)>")

_HISTORY_COLUMNS = [
    "site",
    "id",
    "post_history_type_id",
    "post_id",
    "creation_date",
    "revision_guid",
    "user_id",
    "user_display_name",
    "text",
]


@dataclass(frozen=True)
class Revision:
    """A question as it stood after one revision: its whole title, body and tags."""

    site: str
    post_id: int
    number: int  # 0 = as first posted, then 1, 2, ... in date order
    date: pd.Timestamp  # UTC
    user_id: int | None
    by_owner: bool  # made by the question's author (always True for revision 0)
    title: str
    body_markdown: str
    tags: tuple[str, ...]

    def question(self) -> Question:
        """The question as askwell reads it at this revision."""
        return Question.from_markdown(self.title, self.body_markdown, self.tags, self.site)


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Tags as the history writes them: ``<a><b>``, or ``|a|b|`` in newer dumps."""
    if not text:
        return ()
    text = text.strip()
    if text.startswith("|"):
        return tuple(t for t in text.split("|") if t)
    return tuple(_ANGLE_TAG.findall(text))


def question_revisions(dataset: Dataset) -> dict[tuple[str, int], list[Revision]]:
    """Per (site, question id) that has history: its full states after each revision, in
    order (each Revision holds the complete title, body and tags at that point, carrying
    forward fields a revision did not change)."""
    states = _states(dataset)
    out: dict[tuple[str, int], list[Revision]] = {}
    for row in states.to_dict("records"):
        user = row["user_id"]
        out.setdefault((str(row["site"]), int(row["post_id"])), []).append(
            Revision(
                site=str(row["site"]),
                post_id=int(row["post_id"]),
                number=int(row["number"]),
                date=pd.Timestamp(row["date"]),
                user_id=None if pd.isna(user) else int(user),
                by_owner=bool(row["by_owner"]),
                title=str(row["title"]),
                body_markdown=str(row["body"]),
                tags=parse_tags(row["tags"]),
            )
        )
    return out


def history_coverage(dataset: Dataset) -> dict[str, dict[str, int]]:
    """Per site: questions, questions with a first revision in the history (count), so
    reports can say the share without history. Keys: questions, with_history,
    without_history."""
    questions = dataset.table("questions", ["site", "id"]).to_pandas()
    totals = questions.groupby("site").size()
    with_history = _rebuildable(_history(dataset, questions)).groupby("site").post_id.nunique()
    with_history = with_history.reindex(totals.index, fill_value=0)
    return {
        str(site): {
            "questions": int(totals[site]),
            "with_history": int(with_history[site]),
            "without_history": int(totals[site] - with_history[site]),
        }
        for site in totals.index
    }


def _history(dataset: Dataset, questions: pd.DataFrame) -> pd.DataFrame:
    """The text-bearing history rows of questions (not answers)."""
    if not dataset.has("post_history"):
        return pd.DataFrame(columns=_HISTORY_COLUMNS)
    rows: pd.DataFrame = dataset.table("post_history", _HISTORY_COLUMNS).to_pandas()
    rows = rows[rows["post_history_type_id"].isin(_TEXT_TYPES)]
    keys = questions[["site", "id"]].rename(columns={"id": "post_id"}).drop_duplicates()
    return rows.merge(keys, on=["site", "post_id"], how="inner")


def _rebuildable(rows: pd.DataFrame) -> pd.DataFrame:
    """Only the rows of questions whose history holds their first body."""
    first_body = rows.loc[rows["post_history_type_id"] == 2, ["site", "post_id"]]
    return rows.merge(first_body.drop_duplicates(), on=["site", "post_id"], how="inner")


def _states(dataset: Dataset) -> pd.DataFrame:
    """One row per revision: site, post_id, number, date, user_id, by_owner and the full
    title, body and tags after it, ordered by question and number."""
    owners = dataset.table(
        "questions", ["site", "id", "owner_user_id", "owner_display_name"]
    ).to_pandas()
    rows = _rebuildable(_history(dataset, owners))
    if rows.empty:
        return pd.DataFrame(columns=["site", "post_id", "number", "date", "user_id", "by_owner"])
    kind = rows["post_history_type_id"].astype("int64")
    rows = rows.assign(
        field=((kind - 1) % 3).map(dict(enumerate(_FIELDS))),
        initial=kind.isin(_INITIAL),
        # The first post is one revision even where its rows' GUIDs differ; an edit row
        # without a GUID is its own revision.
        key=rows["revision_guid"].where(
            rows["revision_guid"].notna(), "#" + rows["id"].astype(str)
        ),
    )
    rows.loc[rows["initial"], "key"] = _INITIAL_KEY
    rows = rows.sort_values(["site", "post_id", "creation_date", "id"], kind="stable")
    by_revision = ["site", "post_id", "key"]
    meta = rows.groupby(by_revision, sort=False).agg(
        date=("creation_date", "min"),
        first_row=("id", "min"),
        initial=("initial", "max"),
        user_id=("user_id", "first"),
        user_display_name=("user_display_name", "first"),
    )
    # A field set twice within one revision keeps its last value.
    texts = (
        rows.drop_duplicates([*by_revision, "field"], keep="last")
        .set_index([*by_revision, "field"])["text"]
        .unstack("field")
        .reindex(columns=list(_FIELDS))
    )
    states = meta.join(texts).reset_index()
    states = states.sort_values(
        ["site", "post_id", "initial", "date", "first_row"],
        ascending=[True, True, False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    per_question = states.groupby(["site", "post_id"], sort=False)
    states[list(_FIELDS)] = per_question[list(_FIELDS)].ffill().fillna("")
    states["number"] = per_question.cumcount()
    states = states.merge(
        owners.rename(columns={"id": "post_id"}), on=["site", "post_id"], how="left"
    )
    states["by_owner"] = (states["number"] == 0) | _same_person(states)
    return states


def _same_person(states: pd.DataFrame) -> pd.Series[Any]:
    """The revision's author is the question's: the same user id or, where both ids are
    missing (a deleted account), the same display name."""
    same_id = states["user_id"].notna() & (states["user_id"] == states["owner_user_id"])
    both_anonymous = states["user_id"].isna() & states["owner_user_id"].isna()
    same_name = states["user_display_name"].notna() & (
        states["user_display_name"] == states["owner_display_name"]
    )
    return same_id | (both_anonymous & same_name)
