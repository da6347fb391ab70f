"""Read models of the accounts service: balances and accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"


def upgrade() -> None:
    op.create_table(
        "balances",
        sa.Column("ledger_account", sa.Text, primary_key=True),
        sa.Column("asset", sa.Text, primary_key=True),
        sa.Column("amount", sa.Numeric(60, 0), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("risk_state", sa.Text, nullable=False),
        sa.Column("suspended", sa.Boolean, nullable=False),
        sa.Column("may_borrow", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.Column("state", pg.JSONB, nullable=False),
    )
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON balances, accounts TO {SERVICE_ROLE}"
    )


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON balances, accounts FROM {SERVICE_ROLE}")
    op.drop_table("accounts")
    op.drop_table("balances")
