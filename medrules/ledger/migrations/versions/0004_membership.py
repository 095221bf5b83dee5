"""Claims settled under a membership rulebook: which scheme settled the claim and why (the deciding 'insured'
statement, its citation, the rulebooks it names with their hashes and, under 'highest of', both amounts),
as JSON beside the decision (medrules.ledger.routing).

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a new column only (NULL: a decision under a rulebook that routes nothing, or recorded before)
    op.add_column("decisions", sa.Column("membership", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; it is never downgraded")
