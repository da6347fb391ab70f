"""Read models the collateral service owns (created by migration 0003)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

# The last accepted price per asset (HKD per whole unit, exact numeric).
latest_prices = sa.Table(
    "latest_prices",
    metadata,
    sa.Column("asset", sa.Text, primary_key=True),
    sa.Column("price", sa.Numeric, nullable=False),
    sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# Every accepted price, for "the price at an instant". Observations of one asset are strictly
# increasing in time (out-of-order ones are rejected), so (asset, observed_at) is a key.
price_observations = sa.Table(
    "price_observations",
    metadata,
    sa.Column("asset", sa.Text, primary_key=True),
    sa.Column("observed_at", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("price", sa.Numeric, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# One row per approved policy version after the built-in version 1.
policy_versions = sa.Table(
    "policy_versions",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("proposal_id", sa.Text, nullable=False),
    sa.Column("proposed_by", sa.Text, nullable=False),
    sa.Column("approved_by", sa.Text, nullable=False),
    sa.Column("parameters", pg.JSONB, nullable=False),  # every parameter: {name: text}
    sa.Column("position", sa.BigInteger, nullable=False),
)
