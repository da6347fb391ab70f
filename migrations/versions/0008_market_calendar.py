"""Market calendar events: extraordinary closures and price-feed alerts, and their owners.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

The collateral service owns prices and the market calendar, so it appends both new types:
``MarketClosureRecorded`` (stream ``calendar-<MARKET>``: a typhoon or black-rainstorm
closure) and ``PriceFeedStale`` (stream ``price-<ASSET>``: its feed watchdog's alert). The
owners are written here as they stood at this revision (a migration is a frozen fact);
``harbour.runtime.ownership`` holds the same map and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_collateral"
EVENT_TYPES = ("MarketClosureRecorded", "PriceFeedStale")


def upgrade() -> None:
    for event_type in EVENT_TYPES:
        op.execute(
            sa.text("INSERT INTO event_type_owners (role, event_type) VALUES (:r, :t)").bindparams(
                r=ROLE, t=event_type
            )
        )


def downgrade() -> None:
    for event_type in EVENT_TYPES:
        op.execute(
            sa.text("DELETE FROM event_type_owners WHERE role = :r AND event_type = :t").bindparams(
                r=ROLE, t=event_type
            )
        )
