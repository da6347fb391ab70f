"""Credit facts by maker and checker: the accounts service owns the proposal events and the
credit hold on advances.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-13

A credit assessment, a credit limit or a professional-investor status is proposed
(``ClientFactProposed``) and takes effect only when a different principal approves it
(``ClientFactApproved``, then the fact's own event) or never (``ClientFactRejected``), all on
the client's stream, appended by the accounts service. An approved assessment below the
policy's minimum grade, or lapsed, suspends advances in the same append (``AdvancesSuspended``)
and an acceptable one lifts that hold (``AdvancesResumed``): types the lending service (and,
for the resumption, the liquidation service) keeps owning too. The owners are written as they
stood at this revision (a migration is a frozen fact); ``harbour.runtime.ownership`` holds the
same map and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_accounts"
EVENT_TYPES = (
    "ClientFactProposed",
    "ClientFactApproved",
    "ClientFactRejected",
    "AdvancesSuspended",
    "AdvancesResumed",
)


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
