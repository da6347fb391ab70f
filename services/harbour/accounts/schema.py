"""Read models the accounts service owns (created by migration 0002)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

# One row per ledger account and asset. Amounts are minor units in numeric: an ETH balance in
# wei does not fit a bigint. The trial balance is `sum(amount) group by asset`, always zero.
balances = sa.Table(
    "balances",
    metadata,
    sa.Column("ledger_account", sa.Text, primary_key=True),
    sa.Column("asset", sa.Text, primary_key=True),
    sa.Column("amount", sa.Numeric(60, 0), nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("risk_state", sa.Text, nullable=False),
    sa.Column("suspended", sa.Boolean, nullable=False),
    sa.Column("may_borrow", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("state", pg.JSONB, nullable=False),
)
