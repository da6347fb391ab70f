"""Projection status: a projection stopped at an event it cannot apply, and why.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

One malformed event used to stop the projector for good, and with it every read model. Now
the projection that cannot decode or apply an event stops at it alone (quarantined: its
checkpoint stays just before it) while every other one goes on; a follower that must not stop
(the risk monitor) skips the event instead. Either way the event's position, stream, type and
the reason are recorded here, next to the checkpoint, for ``harbour projections status`` and
for the operator who releases the quarantine after a fix (``harbour projections retry``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"


def upgrade() -> None:
    op.create_table(
        "projection_status",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger),
        sa.Column("stream_id", sa.Text),
        sa.Column("version", sa.Integer),
        sa.Column("event_type", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("since", sa.DateTime(timezone=True)),
        sa.Column("skipped", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('running', 'quarantined')", name="projection_status_state_known"
        ),
    )
    # No DELETE: a release or a rebuild sets the state back, the history of skips stays.
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON projection_status TO {SERVICE_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON projection_status FROM {SERVICE_ROLE}")
    op.drop_table("projection_status")
