"""The ledger's first schema: rulebook versions, facts documents, decisions, fund amounts, adjustments.

Money is stored exactly: integer fen for what is summed (``*_fen``), canonical decimal strings for
the rest; never floats. Every table is append-only; triggers refuse UPDATE and DELETE (SQLite and
PostgreSQL alike), so a mistake in code cannot rewrite history.

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("rulebook_versions", "facts_documents", "member_facts", "decisions", "decision_funds", "adjustments")


def upgrade() -> None:
    op.create_table(
        "rulebook_versions",
        sa.Column("hash", sa.String(64), primary_key=True),  # sha256 of the resolved source texts
        sa.Column("rulebook_id", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("effective_from", sa.Date),
        sa.Column("effective_to", sa.Date),
        sa.Column("files", sa.Text, nullable=False),  # JSON: the files read, in order (amended, layered bases)
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "facts_documents",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.Text, nullable=False, index=True),
        sa.Column("document", sa.Text, nullable=False),  # canonical JSON, numbers as given
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(  # the member's facts as last settled: what a later, partial facts file adds to
        "member_facts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("member_id", sa.Text, nullable=False, index=True),
        sa.Column("facts_hash", sa.String(64), sa.ForeignKey("facts_documents.hash"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("member_id", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),  # 1 for the first decision on a claim, 2 …
        sa.Column("supersedes", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Column("key", sa.String(64), nullable=False, index=True),  # inputs and outcome: same key, same decision
        sa.Column("claim_date", sa.Date, nullable=False),
        sa.Column("benefit_year", sa.Text, nullable=False),
        sa.Column("rulebook_hash", sa.String(64), sa.ForeignKey("rulebook_versions.hash"), nullable=False),
        sa.Column("rulebook_id", sa.Text, nullable=False),
        sa.Column("facts_hash", sa.String(64), sa.ForeignKey("facts_documents.hash"), nullable=False),
        sa.Column("claim_facts", sa.Text, nullable=False),  # this claim's record as given (JSON)
        sa.Column("member_facts", sa.Text, nullable=False),  # the member record as given (JSON)
        sa.Column("total_cost", sa.Text, nullable=False),  # decimal strings, exact
        sa.Column("funds_paid_fen", sa.BigInteger, nullable=False),
        sa.Column("member_pays", sa.Text, nullable=False),
        sa.Column("accumulators_after", sa.Text, nullable=False),  # JSON, decimal strings
        sa.Column("trace_zh", sa.Text, nullable=False),  # the explanation document (medrules.explanation/1)
        sa.Column("trace_en", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("member_id", "claim_id", "sequence", name="uq_decisions_claim_sequence"),
    )
    op.create_index("ix_decisions_member_claim", "decisions", ["member_id", "claim_id"])
    op.create_index("ix_decisions_claim", "decisions", ["claim_id"])
    op.create_table(
        "decision_funds",
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("fund", sa.Text, nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("paid_fen", sa.BigInteger, nullable=False),
        sa.Column("amounts", sa.Text, nullable=False),  # JSON: base, deductible, payable, above_cap, … (decimal strings)
        sa.Column("excluded", sa.Text),  # JSON {"zh","en"}: the reason no fund paid, if any
    )
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False, index=True),
        sa.Column("previous_decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("member_id", sa.Text, nullable=False, index=True),
        sa.Column("claim_id", sa.Text, nullable=False),
        sa.Column("fund", sa.Text, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),  # > 0: pay the member (补付); < 0: recover (追回)
        sa.Column("cause", sa.Text, nullable=False),  # JSON: facts and rulebook that changed, the step that moved
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    append_only()


def append_only() -> None:
    """Refuse UPDATE and DELETE on every ledger table, in the database itself."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""
            CREATE FUNCTION medrules_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'the medrules ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION medrules_ledger_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION medrules_ledger_append_only()")
    else:
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'the medrules ledger is append-only: {action} on "
                           f"{table} refused'); END")


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; it is never downgraded")
