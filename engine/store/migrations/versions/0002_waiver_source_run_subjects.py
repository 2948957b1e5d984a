"""Where a waiver came from (a waiver file and its entry, or the waive command), and the subjects each run read (for
states by as-of: a run recorded later with an earlier as-of re-derives the states of the runs after it).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("waivers") as batch:
        batch.add_column(sa.Column("source", sa.Text))  # None: `ecocheck waive`; else "FILE#N" (sha256 apart)
        batch.add_column(sa.Column("source_sha256", sa.String(64)))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("subjects", sa.LargeBinary))  # zlib of the sorted subject keys read; None: unknown


def downgrade():
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("subjects")
    with op.batch_alter_table("waivers") as batch:
        batch.drop_column("source_sha256")
        batch.drop_column("source")
