"""Limits that hold all the time: the lending service owns the broker-wide limit events, and
the limit monitor keeps its read models.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

``BrokerLimitBreached``/``BrokerLimitCleared`` (stream ``broker-limits``) are appended by the
lending service's limit monitor; the single-client limit reuses ``ConcentrationLimitBreached``/
``Cleared`` on the client's stream, which lending owns since 0005. The broker's capital and
shareholders' funds stay policy parameters (``broker.capital``, ``broker.shareholders_funds``)
changed by maker and checker with an effective instant: no new type for them. The owners are
written as they stood at this revision; ``harbour.runtime.ownership`` holds the same map.

Tables (harbour.lending.schema): the collateral moved per event and asset and its running sum
per asset (per-asset and per-security concentration, now and as of an instant), each client's
concentration group, and the clients flagged over the single-client limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_lending"
EVENT_TYPES = ("BrokerLimitBreached", "BrokerLimitCleared")
SERVICE_ROLE = "harbour_service"
TABLES = (
    "limit_collateral_movements, limit_collateral_held, limit_group_members, limit_client_flags"
)


def upgrade() -> None:
    for event_type in EVENT_TYPES:
        op.execute(
            sa.text("INSERT INTO event_type_owners (role, event_type) VALUES (:r, :t)").bindparams(
                r=ROLE, t=event_type
            )
        )
    op.create_table(
        "limit_collateral_movements",
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("asset", sa.Text, primary_key=True),
        sa.Column("quantity", sa.Numeric(60, 0), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_limit_collateral_movements_recorded_at",
        "limit_collateral_movements",
        ["recorded_at"],
    )
    op.create_table(
        "limit_collateral_held",
        sa.Column("asset", sa.Text, primary_key=True),
        sa.Column("quantity", sa.Numeric(60, 0), nullable=False),
    )
    op.create_table(
        "limit_group_members",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("group_id", sa.Text, nullable=False),
    )
    op.create_index("ix_limit_group_members_group_id", "limit_group_members", ["group_id"])
    op.create_table(
        "limit_client_flags",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("group_id", sa.Text, nullable=False),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {TABLES} TO {SERVICE_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON {TABLES} FROM {SERVICE_ROLE}")
    op.drop_table("limit_client_flags")
    op.drop_index("ix_limit_group_members_group_id", table_name="limit_group_members")
    op.drop_table("limit_group_members")
    op.drop_table("limit_collateral_held")
    op.drop_index(
        "ix_limit_collateral_movements_recorded_at", table_name="limit_collateral_movements"
    )
    op.drop_table("limit_collateral_movements")
    for event_type in EVENT_TYPES:
        op.execute(
            sa.text("DELETE FROM event_type_owners WHERE role = :r AND event_type = :t").bindparams(
                r=ROLE, t=event_type
            )
        )
