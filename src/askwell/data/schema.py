"""The tables ingestion writes: their columns, Arrow types and which dump fields feed them.

One place defines each table. Readers (XML and CSV) look dump fields up by their official
names (``PostTypeId``, ``CreationDate``…); SEDE exports use the same column names. The Kaggle
"Predict Closed Questions on Stack Overflow" CSV has its own names (``PostId``,
``BodyMarkdown``, ``OpenStatus``…): ``CLOSED_QUESTIONS`` maps them onto the same tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa

# Bump when a table's columns or their meaning change; bump PARSER_VERSION when the same
# input would now produce different values (e.g. better HTML extraction; for Markdown bodies,
# a change of askwell.markdown's HTML).
# Schema 2: questions gain closed, close_reason, owner_reputation and body_markdown.
SCHEMA_VERSION = 2
PARSER_VERSION = 1

TIMESTAMP = pa.timestamp("ms", tz="UTC")
STRINGS = pa.list_(pa.string())


class FieldType(StrEnum):
    INT = "integer"
    TIMESTAMP = "timestamp"
    TEXT = "text"
    TAGS = "tags"
    OPEN_STATUS = "open status"  # one of OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class Field:
    """A dump field (``attr``) and the column it becomes."""

    attr: str
    column: str
    type: FieldType
    required: bool = False


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of dump file: its root element and the fields of its rows."""

    name: str
    file_name: str
    root: str  # "" for a kind that only comes as CSV
    fields: tuple[Field, ...]
    site: str | None = None  # the site all its rows come from, when the kind says so

    @property
    def id_attr(self) -> str:
        """The field that holds the row's id."""
        return next(f.attr for f in self.fields if f.column == "id")


def _f(attr: str, column: str, type_: FieldType, required: bool = False) -> Field:
    return Field(attr, column, type_, required)


_INT, _TS, _TXT = FieldType.INT, FieldType.TIMESTAMP, FieldType.TEXT

POST_FIELDS = (
    _f("Id", "id", _INT, True),
    _f("PostTypeId", "post_type_id", _INT, True),
    _f("CreationDate", "creation_date", _TS, True),
    _f("ParentId", "parent_id", _INT),
    _f("AcceptedAnswerId", "accepted_answer_id", _INT),
    _f("Score", "score", _INT),
    _f("ViewCount", "view_count", _INT),
    _f("AnswerCount", "answer_count", _INT),
    _f("CommentCount", "comment_count", _INT),
    _f("FavoriteCount", "favorite_count", _INT),
    _f("OwnerUserId", "owner_user_id", _INT),
    _f("OwnerDisplayName", "owner_display_name", _TXT),
    _f("LastEditorUserId", "last_editor_user_id", _INT),
    _f("LastEditDate", "last_edit_date", _TS),
    _f("LastActivityDate", "last_activity_date", _TS),
    _f("ClosedDate", "closed_date", _TS),
    _f("CommunityOwnedDate", "community_owned_date", _TS),
    _f("ContentLicense", "content_license", _TXT),
    _f("Title", "title", _TXT),
    _f("Tags", "tags", FieldType.TAGS),
    _f("Body", "body_html", _TXT),
)

POSTS = Kind("posts", "Posts.xml", "posts", POST_FIELDS)
VOTES = Kind(
    "votes",
    "Votes.xml",
    "votes",
    (
        _f("Id", "id", _INT, True),
        _f("PostId", "post_id", _INT, True),
        _f("VoteTypeId", "vote_type_id", _INT, True),
        _f("CreationDate", "creation_date", _TS),
        _f("UserId", "user_id", _INT),
        _f("BountyAmount", "bounty_amount", _INT),
    ),
)
COMMENTS = Kind(
    "comments",
    "Comments.xml",
    "comments",
    (
        _f("Id", "id", _INT, True),
        _f("PostId", "post_id", _INT, True),
        _f("CreationDate", "creation_date", _TS, True),
        _f("Score", "score", _INT),
        _f("UserId", "user_id", _INT),
        _f("UserDisplayName", "user_display_name", _TXT),
        _f("ContentLicense", "content_license", _TXT),
        _f("Text", "text", _TXT),
    ),
)
POST_HISTORY = Kind(
    "post_history",
    "PostHistory.xml",
    "posthistory",
    (
        _f("Id", "id", _INT, True),
        _f("PostHistoryTypeId", "post_history_type_id", _INT, True),
        _f("PostId", "post_id", _INT, True),
        _f("CreationDate", "creation_date", _TS, True),
        _f("RevisionGUID", "revision_guid", _TXT),
        _f("UserId", "user_id", _INT),
        _f("UserDisplayName", "user_display_name", _TXT),
        _f("Comment", "comment", _TXT),
        _f("ContentLicense", "content_license", _TXT),
        _f("Text", "text", _TXT),
    ),
)
KINDS = {k.name: k for k in (POSTS, VOTES, COMMENTS, POST_HISTORY)}

# Kaggle's OpenStatus: "open", or the reason a question was closed (the reasons of 2008-2012).
CLOSE_REASONS = ("not a real question", "off topic", "not constructive", "too localized")
OPEN_STATUSES = ("open", *CLOSE_REASONS)

# The Kaggle "Predict Closed Questions on Stack Overflow" CSV (train.csv, train-sample.csv):
# Stack Overflow questions with their Markdown source and whether and why they were closed.
# Tag1..Tag5 are read as one Tags field; OwnerCreationDate and
# OwnerUndeletedAnswerCountAtPostTime are not read. OpenStatus becomes ``closed`` and
# ``close_reason`` (see rows.BatchBuilder).
CLOSED_QUESTIONS = Kind(
    "closed_questions",
    "train.csv",
    "",
    (
        _f("PostId", "id", _INT, True),
        _f("PostCreationDate", "creation_date", _TS, True),
        _f("OwnerUserId", "owner_user_id", _INT),
        _f("ReputationAtPostCreation", "owner_reputation", _INT),
        _f("Title", "title", _TXT),
        _f("BodyMarkdown", "body_markdown", _TXT),
        _f("Tags", "tags", FieldType.TAGS),
        _f("PostClosedDate", "closed_date", _TS),
        _f("OpenStatus", "open_status", FieldType.OPEN_STATUS, True),
    ),
    site="stackoverflow.com",
)
# The header columns that identify it.
CLOSED_QUESTIONS_HEADER = frozenset({"PostId", "PostCreationDate", "BodyMarkdown", "OpenStatus"})
# Every kind, by name (parser processes look kinds up by name).
ALL_KINDS = {**KINDS, CLOSED_QUESTIONS.name: CLOSED_QUESTIONS}

QUESTION_POST_TYPE = 1
ANSWER_POST_TYPE = 2

_ARROW = {
    _INT: pa.int64(),
    _TS: TIMESTAMP,
    _TXT: pa.string(),
    FieldType.TAGS: STRINGS,
    FieldType.OPEN_STATUS: pa.string(),
}

# Columns derived from a post's HTML body by askwell.data.text.html_to_parts.
BODY_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("body_text", pa.string()),
    ("code_blocks", STRINGS),
    ("inline_code", STRINGS),
    ("links", STRINGS),
    ("images", STRINGS),
    ("quotes", STRINGS),
    ("n_code_blocks", pa.int32()),
    ("n_inline_code", pa.int32()),
    ("n_links", pa.int32()),
    ("n_images", pa.int32()),
    ("n_lists", pa.int32()),
    ("n_list_items", pa.int32()),
    ("n_paragraphs", pa.int32()),
    ("n_blockquotes", pa.int32()),
    ("body_chars", pa.int32()),
    ("code_chars", pa.int32()),
)

# Question columns beyond the dump's fields. ``closed``: whether the question was closed
# (OpenStatus is not "open"; for dumps and exports, ClosedDate is set), null when the source
# cannot say (an export without a ClosedDate column). ``close_reason``: OpenStatus's reason,
# null when open or unknown (dumps do not say why). ``owner_reputation``: the asker's
# reputation when asking (ReputationAtPostCreation), for slicing reports, never a feature.
# ``body_markdown``: the body as typed, for sources that have it (``body_html`` and the body
# columns are then derived from it by askwell.markdown.to_html, as in the editor).
QUESTION_EXTRA_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("closed", pa.bool_()),
    ("close_reason", pa.string()),
    ("owner_reputation", pa.int64()),
    ("body_markdown", pa.string()),
)

_LEAD = (pa.field("site", pa.string(), nullable=False),)
_TRACE = (pa.field("source", pa.string()), pa.field("source_line", pa.int64()))

# Question-only and answer-only fields are left out of the other table.
_ANSWER_ONLY = {"parent_id"}
_QUESTION_ONLY = {
    "accepted_answer_id",
    "view_count",
    "answer_count",
    "favorite_count",
    "closed_date",
    "title",
    "tags",
}
_POST_TYPE = {"post_type_id"}


def _fields(fields: tuple[Field, ...], drop: set[str]) -> list[pa.Field]:
    out = []
    for f in fields:
        if f.column not in drop:
            # Only ids are never null: a SEDE export may lack a whole column (e.g. CreationDate).
            out.append(pa.field(f.column, _ARROW[f.type], nullable=f.column != "id"))
    return out


def _schema(*parts: Iterable[pa.Field]) -> pa.Schema:
    return pa.schema([f for part in parts for f in part])


_BODY = [pa.field(name, type_) for name, type_ in BODY_COLUMNS]
_QUESTION_EXTRA = [pa.field(name, type_) for name, type_ in QUESTION_EXTRA_COLUMNS]

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "questions": _schema(
        _LEAD,
        _fields(POST_FIELDS, _ANSWER_ONLY | _POST_TYPE),
        _QUESTION_EXTRA,
        _BODY,
        _TRACE,
    ),
    "answers": _schema(_LEAD, _fields(POST_FIELDS, _QUESTION_ONLY | _POST_TYPE), _BODY, _TRACE),
    "votes": _schema(_LEAD, _fields(VOTES.fields, set()), _TRACE),
    "comments": _schema(_LEAD, _fields(COMMENTS.fields, set()), _TRACE),
    "post_history": _schema(_LEAD, _fields(POST_HISTORY.fields, set()), _TRACE),
    "rejects": pa.schema(
        [
            pa.field("site", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("source_line", pa.int64()),
            pa.field("table", pa.string(), nullable=False),
            pa.field("row_id", pa.string()),
            pa.field("category", pa.string(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),
            pa.field("raw", pa.string()),
        ]
    ),
    # Training data that askwell retrain builds (askwell.loop.sources): where each
    # question's label came from (an outcome in a dump or export, or reviewers), when it was
    # known, and who gave it; and the advice feedback (suggestions marked not helpful,
    # ignored, helpful, or followed in a later revision), with the same three.
    "provenance": pa.schema(
        [
            pa.field("site", pa.string(), nullable=False),
            pa.field("id", pa.int64(), nullable=False),
            pa.field("label_source", pa.string(), nullable=False),
            pa.field("label_detail", pa.string()),
            pa.field("label_time", TIMESTAMP),
            pa.field("label_by", pa.string(), nullable=False),
        ]
    ),
    "advice_feedback": pa.schema(
        [
            pa.field("rule", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("request_id", pa.string(), nullable=False),
            pa.field("time", TIMESTAMP, nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("who", pa.string(), nullable=False),
        ]
    ),
}

# The tables every dataset has (possibly empty); the others appear when their file does.
CORE_TABLES = ("questions", "answers", "rejects")
# Which tables a kind of file feeds.
KIND_TABLES = {
    "posts": ("questions", "answers"),
    "closed_questions": ("questions",),
    "votes": ("votes",),
    "comments": ("comments",),
    "post_history": ("post_history",),
}
