"""Alembic environment: askwell runs migrations itself (``askwell.store.db.migrate``) on the
connection it passes in; ``alembic`` on the command line works too, with ``-x url=...``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from askwell.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("alembic: give the database as -x url=... (or sqlalchemy.url)")
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
