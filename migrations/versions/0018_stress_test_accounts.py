"""Stress tests list who they move out of healthy: the collateral service owns
``StressTestAccountsListed``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10

A stress test's ``StressTestRun`` (v2) is followed, in the same append on ``stress-<run_id>``,
by ``StressTestAccountsListed`` pages naming every account the scenario would warn, call or
liquidate with its implied state and shortfall (``harbour.ledger.stress``). No table: the
pages are read back from the run's stream. The owners are written as they stood at this
revision (a migration is a frozen fact); ``harbour.runtime.ownership`` holds the same map and a
test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_collateral"
EVENT_TYPES = ("StressTestAccountsListed",)


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
