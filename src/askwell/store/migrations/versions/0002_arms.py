"""Each prediction names its arm (champion, challenger or shadow) and the registry version of
the model that made it; rows from before serve the champion.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: the same operations on SQLite (which alters little in place) and PostgreSQL.
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("arm", sa.String(16), nullable=False, server_default="champion"))
        batch.add_column(sa.Column("registry_version", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("registry_version")
        batch.drop_column("arm")
