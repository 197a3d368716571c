"""The store's tables. The schema is made by the migrations (``store/migrations``), never by
``create_all``: a deployed database moves from one version to the next the same way as a new
one is built."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

# One row per scored question: what the model saw (catalog feature values, for drift
# monitoring), what it said, which model said it, and how long it took. No question text:
# the features are enough to monitor, and a person's draft is theirs.
predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("session_id", String(64), nullable=True, index=True),
    Column("site", String(200), nullable=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(300), nullable=False),
    Column("degraded", Boolean, nullable=False),
    Column("score", Float, nullable=False),
    Column("band", String(40), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("suggestions", JSON, nullable=False),  # the ids shown, best first
    Column("features", JSON, nullable=False),  # catalog feature name -> value
    # champion or challenger (what the person saw), or shadow (scored, never shown)
    Column("arm", String(16), nullable=False, server_default="champion"),
    Column("registry_version", Integer, nullable=True),  # None: not from the registry
    # The headline it showed: the closing risk (None without a closing model) and the verdict.
    Column("closing_risk", Float, nullable=True),
    Column("verdict", String(40), nullable=True),
    Column("closing_version", String(300), nullable=True),  # the closing model's
    # A shadow prediction: the request_id of the answer it scored again.
    Column("shadow_of", String(36), nullable=True, index=True),
)

# A person's explicit word on a result or on one suggestion of it.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("suggestion_id", String(64), nullable=True),
    Column("helpful", Boolean, nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # "Ignore this once" on a suggestion: stored with helpful=False, and counted with "not
    # helpful" in the rule's false-alarm rate.
    Column("ignored", Boolean, nullable=False, server_default=false()),
)

# Implicit feedback: one row per re-score within an editing session, with the score before
# and after and the suggestions shown before that no longer apply (the edit followed them).
revisions = Table(
    "revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), nullable=False, index=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("previous_request_id", String(36), nullable=False),
    Column("score_before", Float, nullable=False),
    Column("score_after", Float, nullable=False),
    Column("followed", JSON, nullable=False),  # suggestion ids
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per window of a monitoring run (askwell monitor): what it found, and its alerts.
monitor_runs = Table(
    "monitor_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_at", DateTime(timezone=True), nullable=False, index=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("n", Integer, nullable=False),
    Column("alerts", Integer, nullable=False),
    Column("result", JSON, nullable=False),  # the window, as askwell.monitoring.monitor gives it
)

# The review queue (askwell.loop.review): questions from public data (or a draft its author
# chose to share) for reviewers to label. ``needs``: how many reviewers label it (2 for the
# share that measures agreement between reviewers).
review_items = Table(
    "review_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_key", String(300), nullable=False, unique=True),  # "site:id", or "draft:<id>"
    Column("source", String(40), nullable=False),  # "batch" or "editor (opted in)"
    Column("site", String(200), nullable=True),
    Column("question_id", BigInteger, nullable=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("tags", String(500), nullable=False, server_default=""),
    Column("model_version", String(300), nullable=True),
    Column("closing_risk", Float, nullable=True),
    Column("score", Float, nullable=True),
    Column("uncertainty", Float, nullable=True),
    Column("strategy", String(40), nullable=False),  # how it was picked
    Column("needs", Integer, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False, index=True),
    Column("added_by", String(200), nullable=False),
)

# One reviewer's label of one item: would it be closed, why, and is it clear.
review_labels = Table(
    "review_labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("review_items.id"), nullable=False, index=True),
    Column("reviewer", String(200), nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("reason", String(40), nullable=True),
    Column("clear", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("item_id", "reviewer", name="uq_review_labels_item_reviewer"),
)
