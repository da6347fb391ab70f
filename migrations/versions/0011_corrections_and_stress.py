"""Corrections of mistaken movements: the accounts service owns their events.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

An operator reverses a mistaken cash or collateral movement by maker-checker:
``CorrectionProposed`` by one operator, then ``MovementReversed`` (the exact opposite journal,
referencing the original) or ``CorrectionRejected`` by another, all on the client's stream,
appended by the accounts service. ``StressTestRun`` (collateral, since 0005) is emitted now
and needs no change here. The owners are written as they stood at this revision (a migration
is a frozen fact); ``harbour.runtime.ownership`` holds the same map and a test keeps the two
equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_accounts"
EVENT_TYPES = ("CorrectionProposed", "MovementReversed", "CorrectionRejected")


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
