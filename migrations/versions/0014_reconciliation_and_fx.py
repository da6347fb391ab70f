"""Reconciliation runs and FX rates: the accounts service owns ``ReconciliationRun``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

A statement from the custodian, the bank or the securities margin system is compared with the
ledger and each run is recorded as ``ReconciliationRun`` on ``reconciliation-<run_id>``,
appended by the accounts service (its ``ReconcileStatement`` RPC; the ``harbour reconcile``
CLI appends as whatever login its database URL names). FX rates (USD/HKD, USDT/HKD) are
``PriceObserved`` events on ``price-USD`` and ``price-USDT``, owned by the collateral service
since 0005: no new type and no table. The owners are written as they stood at this revision (a
migration is a frozen fact); ``harbour.runtime.ownership`` holds the same map and a test keeps
the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_accounts"
EVENT_TYPES = ("ReconciliationRun",)


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
