"""The event store's tables as SQLAlchemy Core metadata.

Alembic migrations create them (``migrations/``); this metadata is what queries are built
from, and a pytest-alembic test checks the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

# xid8 has no SQLAlchemy type: it is read as text (cast in queries) and compared in SQL.


class Xid8(sa.types.UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


# Let reflection (Alembic's autogenerate comparison) recognise the column type.
pg.base.ischema_names["xid8"] = Xid8


events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.SmallInteger, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("txid", Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    # The event itself: its canonical bytes (data, metadata and the columns above), exactly
    # as hashed (migration 0017).
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
    sa.CheckConstraint("version >= 1", name="events_version_positive"),
    sa.CheckConstraint("length(hash) = 32", name="events_hash_is_sha256"),
    sa.Index("events_feed_idx", "txid", "position"),
)

command_log = sa.Table(
    "command_log",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.LargeBinary, nullable=False),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("first_position", sa.BigInteger, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("response", pg.JSONB),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("schema_version", sa.SmallInteger, nullable=False),
    sa.Column("state", pg.JSONB, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    # The hash of the event at ``version`` (what the state folds to) and the keyed digest
    # binding stream, version, that hash and the state (harbour.eventstore.snapshots).
    sa.Column("event_hash", sa.LargeBinary, nullable=False),
    sa.Column("digest", sa.LargeBinary, nullable=False),
    sa.CheckConstraint("length(event_hash) = 32", name="snapshots_event_hash_is_sha256"),
    sa.CheckConstraint("length(digest) = 32", name="snapshots_digest_is_sha256"),
)

projection_checkpoints = sa.Table(
    "projection_checkpoints",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("txid", Xid8(), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# A domain-free read model that every deployment has: one row per stream. It proves the
# projection machinery (checkpoint in the same transaction, rebuild, verify) end to end.
stream_heads = sa.Table(
    "stream_heads",
    metadata,
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_count", sa.BigInteger, nullable=False),
    sa.Column("last_type", sa.Text, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("last_recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# Beside each projection's checkpoint: whether it is stopped at an event it cannot apply
# (quarantined, released by an operator) and the last such event it met — a follower that
# skips such events (the risk monitor) records each it skipped here and counts them.
projection_status = sa.Table(
    "projection_status",
    metadata,
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
    sa.CheckConstraint("state IN ('running', 'quarantined')", name="projection_status_state_known"),
)
