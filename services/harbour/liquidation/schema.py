"""Read models the liquidation service owns (created by migration 0006)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per liquidation, from its start to its end. Amounts are HKD minor units.
liquidations = sa.Table(
    "liquidations",
    metadata,
    sa.Column("liquidation_id", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False, index=True),
    # selling | paused | completed | deficit
    sa.Column("state", sa.Text, nullable=False, index=True),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("target_utilisation", sa.Numeric, nullable=False),
    sa.Column("utilisation_at_start", sa.Numeric),
    sa.Column("outcome", sa.Text),  # target_reached | cured | shortfall
    sa.Column("pause_reason", sa.Text),
    sa.Column("orders_open", sa.Integer, nullable=False),
    sa.Column("proceeds", sa.Numeric(60, 0), nullable=False),
    sa.Column("fees", sa.Numeric(60, 0), nullable=False),
    sa.Column("shortfall", sa.Numeric(60, 0), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# Every fill, with the evidence of the conflict-of-interest safeguard.
liquidation_fills = sa.Table(
    "liquidation_fills",
    metadata,
    sa.Column("fill_id", sa.Text, primary_key=True),
    sa.Column("liquidation_id", sa.Text, nullable=False, index=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("asset", sa.Text, nullable=False),
    sa.Column("quantity", sa.Numeric(60, 0), nullable=False),  # minor units of ``asset``
    sa.Column("price", sa.Numeric, nullable=False),
    sa.Column("proceeds", sa.Numeric(60, 0), nullable=False),
    sa.Column("fee", sa.Numeric(60, 0), nullable=False),
    sa.Column("venue", sa.Text, nullable=False),
    sa.Column("counterparty", sa.Text, nullable=False),
    sa.Column("affiliated", sa.Boolean, nullable=False),
    sa.Column("quote", sa.Numeric, nullable=False),
    sa.Column("best_independent_quote", sa.Numeric, nullable=False),
    sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# The deficit book: one row per client and currency with a shortfall ever recognised.
deficits = sa.Table(
    "deficits",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("liquidation_id", sa.Text, nullable=False),
    sa.Column("recognised", sa.Numeric(60, 0), nullable=False),
    sa.Column("recovered", sa.Numeric(60, 0), nullable=False),
    sa.Column("written_off", sa.Numeric(60, 0), nullable=False),
    sa.Column("outstanding", sa.Numeric(60, 0), nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # open | recovered | written_off
    sa.Column("pending_proposals", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
