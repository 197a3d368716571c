"""The loop: the review queue (items and reviewers' labels) and "ignore this once" feedback.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_key", sa.String(300), nullable=False, unique=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("site", sa.String(200), nullable=True),
        sa.Column("question_id", sa.BigInteger, nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("tags", sa.String(500), nullable=False, server_default=""),
        sa.Column("model_version", sa.String(300), nullable=True),
        sa.Column("closing_risk", sa.Float, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("uncertainty", sa.Float, nullable=True),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("needs", sa.Integer, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_review_items_added_at", "review_items", ["added_at"])
    op.create_table(
        "review_labels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("review_items.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("clear", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("item_id", "reviewer", name="uq_review_labels_item_reviewer"),
    )
    op.create_index("ix_review_labels_item_id", "review_labels", ["item_id"])
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(
            sa.Column("ignored", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("ignored")
    op.drop_index("ix_review_labels_item_id", "review_labels")
    op.drop_table("review_labels")
    op.drop_index("ix_review_items_added_at", "review_items")
    op.drop_table("review_items")
