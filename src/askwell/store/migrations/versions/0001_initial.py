"""The first schema: predictions, feedback, revisions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("site", sa.String(200), nullable=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(300), nullable=False),
        sa.Column("degraded", sa.Boolean, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("band", sa.String(40), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("suggestions", sa.JSON, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
    )
    op.create_index("ix_predictions_session_id", "predictions", ["session_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("suggestion_id", sa.String(64), nullable=True),
        sa.Column("helpful", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feedback_request_id", "feedback", ["request_id"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False, unique=True),
        sa.Column("previous_request_id", sa.String(36), nullable=False),
        sa.Column("score_before", sa.Float, nullable=False),
        sa.Column("score_after", sa.Float, nullable=False),
        sa.Column("followed", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_revisions_session_id", "revisions", ["session_id"])


def downgrade() -> None:
    op.drop_table("revisions")
    op.drop_table("feedback")
    op.drop_table("predictions")
