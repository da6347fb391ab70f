"""Read models of the lending service: loans and margin calls.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"
TABLES = "loans, margin_calls"


def upgrade() -> None:
    op.create_table(
        "loans",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("facility_id", sa.Text),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("credit_limit", sa.Numeric(60, 0), nullable=False),
        sa.Column("annual_rate", sa.Numeric),
        sa.Column("principal", sa.Numeric(60, 0), nullable=False),
        sa.Column("accrued_interest", sa.Numeric(60, 0), nullable=False),
        sa.Column("unpaid_fees", sa.Numeric(60, 0), nullable=False),
        sa.Column("last_accrual_date", sa.Date),
        sa.Column("risk_state", sa.Text, nullable=False),
        sa.Column("advances_suspended", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", pg.JSONB, nullable=False),
    )
    op.create_table(
        "margin_calls",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(60, 0), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_margin_calls_client_id", "margin_calls", ["client_id"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {TABLES} TO {SERVICE_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON {TABLES} FROM {SERVICE_ROLE}")
    op.drop_index("ix_margin_calls_client_id", table_name="margin_calls")
    op.drop_table("margin_calls")
    op.drop_table("loans")
