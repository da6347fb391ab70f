"""The simulated venues' own memory of orders (created by migration 0007).

A venue is an external system: this table stands for the exchange's order database, not for
the ledger. It outlives the liquidation process (a kill -9 of the engine leaves it intact),
which is what lets the engine ask a venue, after a crash, what became of an order it had sent.
Rows are written once and never changed (the service role holds SELECT and INSERT only).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

# One row per (venue, client order id): the order's final result, first write wins. A cancel
# of an id never seen writes a CANCELLED tombstone with no order details (asset, quantity and
# limit are then NULL).
venue_orders = sa.Table(
    "venue_orders",
    metadata,
    sa.Column("venue", sa.Text, primary_key=True),
    sa.Column("client_order_id", sa.Text, primary_key=True),
    sa.Column("asset", sa.Text),
    sa.Column("quantity", sa.Numeric(60, 0)),  # minor units of ``asset``
    sa.Column("limit_price", sa.Numeric),  # HKD per whole unit
    sa.Column("status", sa.Text, nullable=False),
    # Decimals and minor-unit quantities as strings: JSON numbers would pass through floats.
    sa.Column("fills", pg.JSONB, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
