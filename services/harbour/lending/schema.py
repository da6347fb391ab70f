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

# The limit monitor's own read models (migration 0013, harbour.lending.limits): kept in the
# same transaction as its feed checkpoint, so each counts every event exactly once.
# Collateral moved in or out of every client's custody, per event and asset: summed up to an
# instant, the collateral held then (the limit report as of an instant).
limit_collateral_movements = sa.Table(
    "limit_collateral_movements",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("asset", sa.Text, primary_key=True),
    sa.Column("quantity", sa.Numeric(60, 0), nullable=False),  # signed, minor units
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
# Their running sum: the collateral every client holds now, per asset.
limit_collateral_held = sa.Table(
    "limit_collateral_held",
    metadata,
    sa.Column("asset", sa.Text, primary_key=True),
    sa.Column("quantity", sa.Numeric(60, 0), nullable=False),
)
# Every client's concentration group (its related group, or itself).
limit_group_members = sa.Table(
    "limit_group_members",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("group_id", sa.Text, nullable=False, index=True),
)
# The clients whose stream says they are over the single-client limit, and for which group.
limit_client_flags = sa.Table(
    "limit_client_flags",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("group_id", sa.Text, nullable=False),
)
