"""Alembic environment: migrations run on the connection engine.store.db hands over (never from alembic.ini)."""

from alembic import context
from sqlalchemy import text

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":  # two first runs at once: one creates the tables, the other waits
        connection.execute(text("SELECT pg_advisory_xact_lock(7212012)"))
    context.run_migrations()
