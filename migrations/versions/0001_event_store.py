"""The event store: events, command log, snapshots, projection checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Immutability is the database's job, not the application's: a trigger refuses UPDATE, DELETE
and TRUNCATE on ``events`` and ``command_log`` for every role, and the service role
(``harbour_service``) is granted only INSERT and SELECT on them.

An append is one SQL statement (``harbour.eventstore.append``), so its snapshot — every read
it makes — precedes the xid its first write takes: the property the (txid, position) feed
relies on (docs/event-store.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"

REFUSE_CHANGE = """
CREATE FUNCTION harbour_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: recorded events are immutable facts; '
        'append a correcting event instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'HL003';
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("data", pg.JSONB, nullable=False),
        sa.Column("metadata", pg.JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
        sa.CheckConstraint("version >= 1", name="events_version_positive"),
        sa.CheckConstraint("length(hash) = 32", name="events_hash_is_sha256"),
    )
    # xid8 is not an SQLAlchemy type; the feed orders by (txid, position).
    op.execute("ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX events_feed_idx ON events (txid, position)")
    op.create_table(
        "command_log",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("first_position", sa.BigInteger, nullable=False),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.Column("response", pg.JSONB),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("stream_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("state", pg.JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "CREATE TABLE projection_checkpoints (name text PRIMARY KEY, txid xid8 NOT NULL, "
        "position bigint NOT NULL, updated_at timestamptz NOT NULL)"
    )
    op.create_table(
        "stream_heads",
        sa.Column("stream_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_count", sa.BigInteger, nullable=False),
        sa.Column("last_type", sa.Text, nullable=False),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.Column("last_recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(REFUSE_CHANGE)
    for table in ("events", "command_log"):
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION harbour_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION harbour_refuse_change()"
        )
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVICE_ROLE}') THEN
                CREATE ROLE {SERVICE_ROLE} NOLOGIN;
            END IF;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {SERVICE_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON events, command_log TO {SERVICE_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON snapshots TO {SERVICE_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON projection_checkpoints, "
        f"stream_heads TO {SERVICE_ROLE}"
    )


def downgrade() -> None:
    op.execute(
        f"REVOKE ALL ON events, command_log, snapshots, projection_checkpoints, "
        f"stream_heads FROM {SERVICE_ROLE}"
    )
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {SERVICE_ROLE}")
    for table in ("stream_heads", "projection_checkpoints", "snapshots", "command_log", "events"):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION harbour_refuse_change")
