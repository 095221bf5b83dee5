"""The ledger's tables as SQLAlchemy Core sees them, for queries and inserts.

The schema itself is created and upgraded only by the Alembic migrations in ``migrations/``
(a test checks that these definitions match what the migrations build)."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

rulebook_versions = sa.Table(
    "rulebook_versions", metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("rulebook_id", sa.Text, nullable=False),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("effective_from", sa.Date),
    sa.Column("effective_to", sa.Date),
    sa.Column("files", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("plan_hash", sa.String(64)),  # migration 0003
)

facts_documents = sa.Table(
    "facts_documents", metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

member_facts = sa.Table(
    "member_facts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.Text, nullable=False),
    sa.Column("facts_hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

decisions = sa.Table(
    "decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Text, nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("supersedes", sa.Integer),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("claim_date", sa.Date, nullable=False),
    sa.Column("benefit_year", sa.Text, nullable=False),
    sa.Column("rulebook_hash", sa.String(64), nullable=False),
    sa.Column("rulebook_id", sa.Text, nullable=False),
    sa.Column("facts_hash", sa.String(64), nullable=False),
    sa.Column("claim_facts", sa.Text, nullable=False),
    sa.Column("member_facts", sa.Text, nullable=False),
    sa.Column("total_cost", sa.Text, nullable=False),
    sa.Column("funds_paid_fen", sa.BigInteger, nullable=False),
    sa.Column("member_pays", sa.Text, nullable=False),
    sa.Column("accumulators_after", sa.Text, nullable=False),
    sa.Column("trace_zh", sa.Text, nullable=False),
    sa.Column("trace_en", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("plan_hash", sa.String(64)),  # migration 0003
    sa.Column("membership", sa.Text),  # migration 0004 (medrules.ledger.routing)
)

decision_funds = sa.Table(
    "decision_funds", metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("fund", sa.Text, nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("paid_fen", sa.BigInteger, nullable=False),
    sa.Column("amounts", sa.Text, nullable=False),
    sa.Column("excluded", sa.Text),
)

adjustments = sa.Table(
    "adjustments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.Integer, nullable=False),
    sa.Column("previous_decision_id", sa.Integer, nullable=False),
    sa.Column("member_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Text, nullable=False),
    sa.Column("fund", sa.Text, nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

requests = sa.Table(
    "requests", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.Text, nullable=False),
    sa.Column("facts_hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
