"""The simulated venues' own memory of orders (an external system's state, not the ledger's).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"


def upgrade() -> None:
    op.create_table(
        "venue_orders",
        sa.Column("venue", sa.Text, primary_key=True),
        sa.Column("client_order_id", sa.Text, primary_key=True),
        sa.Column("asset", sa.Text),
        sa.Column("quantity", sa.Numeric(60, 0)),
        sa.Column("limit_price", sa.Numeric),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("fills", pg.JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Insert-only: a venue's record of an order is its first result, never rewritten.
    op.execute(f"GRANT SELECT, INSERT ON venue_orders TO {SERVICE_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON venue_orders FROM {SERVICE_ROLE}")
    op.drop_table("venue_orders")
