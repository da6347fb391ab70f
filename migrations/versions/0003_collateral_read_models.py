"""Read models of the collateral service: latest prices, price history, policy versions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"
TABLES = "latest_prices, price_observations, policy_versions"


def upgrade() -> None:
    op.create_table(
        "latest_prices",
        sa.Column("asset", sa.Text, primary_key=True),
        sa.Column("price", sa.Numeric, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "price_observations",
        sa.Column("asset", sa.Text, primary_key=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("price", sa.Numeric, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposal_id", sa.Text, nullable=False),
        sa.Column("proposed_by", sa.Text, nullable=False),
        sa.Column("approved_by", sa.Text, nullable=False),
        sa.Column("parameters", pg.JSONB, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {TABLES} TO {SERVICE_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON {TABLES} FROM {SERVICE_ROLE}")
    op.drop_table("policy_versions")
    op.drop_table("price_observations")
    op.drop_table("latest_prices")
