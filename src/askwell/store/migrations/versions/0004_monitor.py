"""The results of askwell monitor: one row per window of a run.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
    )
    op.create_index("ix_monitor_runs_run_at", "monitor_runs", ["run_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_runs_run_at", "monitor_runs")
    op.drop_table("monitor_runs")
