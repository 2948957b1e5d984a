"""The store's tables (SQLAlchemy Core), as the migrations in engine/store/migrations build them."""

from __future__ import annotations

from sqlalchemy import (Column, Date, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text,
                        UniqueConstraint)

metadata = MetaData()

# One row: serialises writers on PostgreSQL (SELECT … FOR UPDATE), as BEGIN IMMEDIATE does on SQLite.
store_lock = Table("store_lock", metadata, Column("id", Integer, primary_key=True))

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(32), nullable=False),  # UTC, ISO 8601
    Column("command", String(32), nullable=False),
    Column("tool_version", String(32), nullable=False),
    Column("rules_fingerprint", String(80), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("issued_on", Date),
    Column("summary", Text, nullable=False),  # JSON: counts by status and by lifecycle state
    Column("subjects", LargeBinary),  # zlib of the sorted subject keys the run read (None: not known)
)

run_inputs = Table(
    "run_inputs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("sha256", String(64)),
    Column("kind", String(64)),
    Column("rows", Integer),
    Column("evaluated", Integer),
    Column("rejected", Integer),
)

# A case: one finding identity (subject, rule, period) across runs, and where it stands after the latest run.
cases = Table(
    "cases", metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("subject_kind", String(64), nullable=False),
    Column("subject_key", Text, nullable=False, index=True),
    Column("subject_id", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("period", Integer),
    Column("open", Integer, nullable=False),  # 1 while the latest run that could see it found it
    Column("status", String(16), nullable=False),  # the latest status found
    Column("message", Text, nullable=False),
    Column("first_run", Integer, nullable=False),
    Column("last_run", Integer, nullable=False),  # the run that last changed it
)

findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(12), nullable=False),  # new, persisting, reopened, fixed
    Column("rule_id", String(64), nullable=False),
    Column("subject_kind", String(64), nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("period", Integer),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("file", Text),
    Column("row", Integer),
    Column("waiver_id", Integer, ForeignKey("waivers.id")),
    Index("ix_findings_run", "run_id"),
    Index("ix_findings_fingerprint", "fingerprint"),
)

letters = Table(
    "letters", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("letter_type", String(40), nullable=False),
    Column("addressee", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("doc_number", Text, nullable=False),
    Column("issuers", Text, nullable=False),  # JSON: the issuing authorities as the documents name them
    Column("identity", String(64), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("deadline", Date),
)

letter_findings = Table(
    "letter_findings", metadata,
    Column("letter_id", Integer, ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Index("ix_letter_findings_fingerprint", "fingerprint"),
)

# The 文号 register: each number once per prefix and year; a letter of the same identity keeps its number.
numbers = Table(
    "numbers", metadata,
    Column("prefix", Text, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("serial", Integer, primary_key=True),
    Column("letter_type", String(40), nullable=False),
    Column("addressee", Text, nullable=False),
    Column("identity", String(64), nullable=False),
    Column("run_id", Integer, nullable=False),
    UniqueConstraint("prefix", "year", "identity", name="uq_numbers_identity"),
)

# The next serial per prefix and year: the row a run locks while it takes numbers.
counters = Table(
    "counters", metadata,
    Column("prefix", Text, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("next_serial", Integer, nullable=False),
)

waivers = Table(
    "waivers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", Text, nullable=False),  # as given
    Column("subject_key", Text, nullable=False, index=True),
    Column("rule_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("basis", Text, nullable=False),
    Column("granted_by", Text, nullable=False),
    Column("until", Date, nullable=False),  # applies to runs as of a date before this one
    Column("created_at", String(32), nullable=False),
    Column("source", Text),  # None: `ecocheck waive`; else the waiver file and entry, "FILE#N"
    Column("source_sha256", String(64)),  # the waiver file's sha256 when recorded
)
