"""Settlement requests: an idempotency key per settled facts file, so that a batch run again after a crash
(or a request retried) is recorded once, even when later files of the run corrected the same member.

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
    op.create_table(
        "requests",
        sa.Column("key", sa.String(64), primary_key=True),  # sha256 of the facts as given and the rulebook versions
        sa.Column("member_id", sa.Text, nullable=False, index=True),
        sa.Column("facts_hash", sa.String(64), nullable=False),  # the member's merged facts after it
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER requests_append_only BEFORE UPDATE OR DELETE ON requests "
                   "FOR EACH ROW EXECUTE FUNCTION medrules_ledger_append_only()")
        op.execute("CREATE TRIGGER requests_no_truncate BEFORE TRUNCATE ON requests "
                   "FOR EACH STATEMENT EXECUTE FUNCTION medrules_ledger_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER requests_no_{action.lower()} BEFORE {action} ON requests "
                       f"BEGIN SELECT RAISE(ABORT, 'the medrules ledger is append-only: {action} on requests "
                       "refused'); END")


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; it is never downgraded")
