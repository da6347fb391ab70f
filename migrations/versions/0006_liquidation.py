"""The liquidation service: its read models and the event types it owns.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The owners added here are written as they stood at this revision (a migration is a frozen
fact); ``harbour.runtime.ownership`` holds the whole map and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"
TABLES = "liquidations, liquidation_fills, deficits"
# The liquidation service now runs: what it appends beyond migration 0005's grants.
NEW_OWNED = (
    "LiquidationStarted",  # an operator's StartLiquidation
    "LiquidationOrderPlaced",
    "LiquidationOrderSettled",
    "LiquidationProceedsApplied",
    "LiquidationPaused",
    "LiquidationResumed",
    "DeficitSettlementProposed",
    "DeficitSettlementRejected",
    "AdvancesResumed",  # a completed liquidation lifts the call's suspension
)


def upgrade() -> None:
    money = sa.Numeric(60, 0)
    op.create_table(
        "liquidations",
        sa.Column("liquidation_id", sa.Text, primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False, index=True),
        sa.Column("state", sa.Text, nullable=False, index=True),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("target_utilisation", sa.Numeric, nullable=False),
        sa.Column("utilisation_at_start", sa.Numeric),
        sa.Column("outcome", sa.Text),
        sa.Column("pause_reason", sa.Text),
        sa.Column("orders_open", sa.Integer, nullable=False),
        sa.Column("proceeds", money, nullable=False),
        sa.Column("fees", money, nullable=False),
        sa.Column("shortfall", money, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "liquidation_fills",
        sa.Column("fill_id", sa.Text, primary_key=True),
        sa.Column("liquidation_id", sa.Text, nullable=False, index=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("asset", sa.Text, nullable=False),
        sa.Column("quantity", money, nullable=False),
        sa.Column("price", sa.Numeric, nullable=False),
        sa.Column("proceeds", money, nullable=False),
        sa.Column("fee", money, nullable=False),
        sa.Column("venue", sa.Text, nullable=False),
        sa.Column("counterparty", sa.Text, nullable=False),
        sa.Column("affiliated", sa.Boolean, nullable=False),
        sa.Column("quote", sa.Numeric, nullable=False),
        sa.Column("best_independent_quote", sa.Numeric, nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deficits",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("liquidation_id", sa.Text, nullable=False),
        sa.Column("recognised", money, nullable=False),
        sa.Column("recovered", money, nullable=False),
        sa.Column("written_off", money, nullable=False),
        sa.Column("outstanding", money, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("pending_proposals", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Read models are the projector's to write and everyone's to read (like 0004's).
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {TABLES} TO {SERVICE_ROLE}")
    for event_type in NEW_OWNED:
        op.execute(
            sa.text(
                "INSERT INTO event_type_owners (role, event_type) "
                "VALUES ('harbour_liquidation', :t)"
            ).bindparams(t=event_type)
        )


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM event_type_owners WHERE role = 'harbour_liquidation' "
            "AND event_type = ANY(:types)"
        ).bindparams(types=list(NEW_OWNED))
    )
    op.execute(f"REVOKE ALL ON {TABLES} FROM {SERVICE_ROLE}")
    op.drop_table("deficits")
    op.drop_table("liquidation_fills")
    op.drop_table("liquidations")
