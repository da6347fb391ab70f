"""The feed service's login role: it reads the events and appends none.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10

``harbour_feed`` is made as the other service roles were (0005, then 0009): a LOGIN role that
inherits ``harbour_service``'s privileges but may not become it (SET FALSE), and a row in
``service_roles`` with no event type granted — so the ownership trigger refuses any event it
would try to append. (harbour.runtime.ownership has ``"feed": frozenset()`` to match.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERIC_ROLE = "harbour_service"
ROLE = "harbour_feed"


def upgrade() -> None:
    # Roles are cluster-wide (every database of the server shares them): create once.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} LOGIN;
            END IF;
        END $$;
        """
    )
    op.execute(f"GRANT {GENERIC_ROLE} TO {ROLE} WITH INHERIT TRUE, SET FALSE")
    # As 0005 did for every service: the migrating user may run the service itself.
    op.execute(f"GRANT {ROLE} TO current_user")
    op.execute(sa.text("INSERT INTO service_roles (role) VALUES (:r)").bindparams(r=ROLE))


def downgrade() -> None:
    # The role stays (shared by every database of the server); this database forgets it.
    op.execute(sa.text("DELETE FROM service_roles WHERE role = :r").bindparams(r=ROLE))
