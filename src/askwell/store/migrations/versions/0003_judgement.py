"""Each prediction keeps the headline it showed (the closing risk and the verdict, beside the
answer score) and the closing model's version, and a shadow prediction names the request it
scored again, so the rollout report can compare the two arms on the same question.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("closing_risk", sa.Float, nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(40), nullable=True))
        batch.add_column(sa.Column("closing_version", sa.String(300), nullable=True))
        batch.add_column(sa.Column("shadow_of", sa.String(36), nullable=True))
        batch.create_index("ix_predictions_shadow_of", ["shadow_of"])
        batch.create_index("ix_predictions_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_index("ix_predictions_created_at")
        batch.drop_index("ix_predictions_shadow_of")
        batch.drop_column("shadow_of")
        batch.drop_column("closing_version")
        batch.drop_column("verdict")
        batch.drop_column("closing_risk")
