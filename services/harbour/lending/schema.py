"""Read models the lending service owns (created by migration 0004)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

# One row per client with a facility or a loan. Amounts are minor units of the loan currency.
loans = sa.Table(
    "loans",
    metadata,
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

# One row per margin call, from issue to its end (met, expired, liquidating).
margin_calls = sa.Table(
    "margin_calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", sa.Numeric(60, 0), nullable=False),  # HKD minor units
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("position", sa.BigInteger, nullable=False),
)
