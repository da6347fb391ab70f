"""Client facts over time: the accounts service owns the unlinking and group-change events.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Eligibility facts change after onboarding: a securities margin account may be unlinked
(``SecuritiesMarginAccountUnlinked``) and a client may change or leave its related group
(``RelatedGroupChanged``), both on the client's stream, appended by the accounts service. The
other later facts reuse onboarding's types, which it owns since 0005. The owners are written as
they stood at this revision; ``harbour.runtime.ownership`` holds the same map.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "harbour_accounts"
EVENT_TYPES = ("SecuritiesMarginAccountUnlinked", "RelatedGroupChanged")


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
