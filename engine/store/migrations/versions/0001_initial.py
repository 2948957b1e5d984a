"""The first store: runs, their inputs, cases and findings, letters, the 文号 register and waivers.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("store_lock", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO store_lock (id) VALUES (1)")
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Column("rules_fingerprint", sa.String(80), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("issued_on", sa.Date),
        sa.Column("summary", sa.Text, nullable=False))
    op.create_table(
        "run_inputs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("kind", sa.String(64)),
        sa.Column("rows", sa.Integer),
        sa.Column("evaluated", sa.Integer),
        sa.Column("rejected", sa.Integer))
    op.create_table(
        "cases",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("subject_kind", sa.String(64), nullable=False),
        sa.Column("subject_key", sa.Text, nullable=False, index=True),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("period", sa.Integer),
        sa.Column("open", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("first_run", sa.Integer, nullable=False),
        sa.Column("last_run", sa.Integer, nullable=False))
    op.create_table(
        "waivers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("subject_key", sa.Text, nullable=False, index=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("granted_by", sa.Text, nullable=False),
        sa.Column("until", sa.Date, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False))
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("subject_name", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("period", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("file", sa.Text),
        sa.Column("row", sa.Integer),
        sa.Column("waiver_id", sa.Integer, sa.ForeignKey("waivers.id")))
    op.create_index("ix_findings_run", "findings", ["run_id"])
    op.create_index("ix_findings_fingerprint", "findings", ["fingerprint"])
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("letter_type", sa.String(40), nullable=False),
        sa.Column("addressee", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("doc_number", sa.Text, nullable=False),
        sa.Column("issuers", sa.Text, nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date))
    op.create_table(
        "letter_findings",
        sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("fingerprint", sa.String(64), primary_key=True))
    op.create_index("ix_letter_findings_fingerprint", "letter_findings", ["fingerprint"])
    op.create_table(
        "numbers",
        sa.Column("prefix", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("serial", sa.Integer, primary_key=True),
        sa.Column("letter_type", sa.String(40), nullable=False),
        sa.Column("addressee", sa.Text, nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.UniqueConstraint("prefix", "year", "identity", name="uq_numbers_identity"))
    op.create_table(
        "counters",
        sa.Column("prefix", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("next_serial", sa.Integer, nullable=False))


def downgrade():
    for table in ("counters", "numbers", "letter_findings", "letters", "findings", "waivers", "cases", "run_inputs",
                  "runs", "store_lock"):
        op.drop_table(table)
