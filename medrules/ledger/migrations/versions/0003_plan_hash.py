"""The hash of the rules that settle a claim (the lowered plan and the facts it reads), beside the hash of
the source texts: a reformatted rulebook or a corrected citation is the same rules, and re-settles nothing.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # new columns only (rows recorded before keep NULL: their rules' hash was not taken)
    op.add_column("rulebook_versions", sa.Column("plan_hash", sa.String(64)))
    op.add_column("decisions", sa.Column("plan_hash", sa.String(64)))


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; it is never downgraded")
