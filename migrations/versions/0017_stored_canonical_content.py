"""Every event keeps the exact bytes its hash covers; the chain trigger hashes them, not JSON.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12

Until now the chain trigger of 0009 rebuilt each inserted event's canonical JSON in PL/pgSQL
(``harbour_canonical_json``) to check its hash: 140-290 µs per insert, about three quarters of
a bulk accrual statement, and an auditor had to rebuild the same bytes from ``jsonb`` text to
check a chain. The writer already builds those bytes (it sends them to be hashed), so:

* ``events.content`` holds the canonical bytes of the event, exactly as hashed.
* The trigger checks ``hash = sha256(previous hash || content)`` and that the content says
  what the columns say (parsed by PostgreSQL's own ``jsonb`` input, in C, and compared with
  the envelope of the row's columns). A writer that sends no content (a script) still gets
  the old way: the trigger builds the canonical bytes itself, then checks the hash.
* ``harbour_content_agrees(event)`` is the same comparison for a reader (the auditor): false,
  never an error, for bytes that are not even UTF-8 JSON.

Existing rows get their content from ``harbour_event_content`` (the function their hash was
checked against when they were inserted). That one UPDATE is a change of schema, not of facts:
it runs with the immutability trigger off, inside this migration's transaction, and every
row's hash still covers exactly the bytes stored beside it (``harbour audit verify`` checks
that). A store with many events should run it in a maintenance window: it rewrites each row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What an event's canonical bytes must parse to: its columns, as the writer enveloped them
# (``harbour.eventstore.encoding.event_content``). jsonb equality ignores key order and
# whitespace, so this proves agreement, not canonical form; the hash covers the bytes.
ENVELOPE = """
CREATE FUNCTION harbour_event_envelope(e events) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'data', e.data,
        'metadata', e.metadata,
        'recorded_at',
        to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00',
        'schema_version', e.schema_version,
        'stream_id', e.stream_id,
        'type', e.type,
        'version', e.version)
$$;
"""

# For readers: a verdict for any stored bytes. The EXCEPTION block costs a subtransaction per
# call, which only a reader pays (the trigger lets a bad insert fail, as it should).
AGREES = """
CREATE FUNCTION harbour_content_agrees(e events) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN convert_from(e.content, 'UTF8')::jsonb = harbour_event_envelope(e);
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END
$$;
"""

CHECK_CHAIN = """
CREATE OR REPLACE FUNCTION harbour_check_event_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea := '\\x'::bytea;
BEGIN
    IF NEW.version > 1 THEN
        SELECT e.hash INTO previous FROM events e
         WHERE e.stream_id = NEW.stream_id AND e.version = NEW.version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'event % version % refused: version % of its stream is not recorded',
                NEW.stream_id, NEW.version, NEW.version - 1 USING ERRCODE = 'HL004';
        END IF;
    END IF;
    IF NEW.content IS NULL THEN
        -- A writer that sent no canonical bytes: built here, the slow way.
        NEW.content := harbour_event_content(NEW);
    ELSIF convert_from(NEW.content, 'UTF8')::jsonb IS DISTINCT FROM harbour_event_envelope(NEW)
    THEN
        RAISE EXCEPTION 'event % version % refused: its canonical bytes do not say what its '
            'columns say', NEW.stream_id, NEW.version USING ERRCODE = 'HL004';
    END IF;
    IF NEW.hash IS DISTINCT FROM sha256(previous || NEW.content) THEN
        RAISE EXCEPTION 'event % version % refused: its hash does not extend the stream''s '
            'hash chain (sha256 of the previous hash and the event''s canonical bytes)',
            NEW.stream_id, NEW.version USING ERRCODE = 'HL004';
    END IF;
    RETURN NEW;
END
$$;
"""

# 0009's trigger, for the downgrade.
CHECK_CHAIN_0009 = """
CREATE OR REPLACE FUNCTION harbour_check_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea := '\\x'::bytea;
BEGIN
    IF NEW.version > 1 THEN
        SELECT e.hash INTO previous FROM events e
         WHERE e.stream_id = NEW.stream_id AND e.version = NEW.version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'event % version % refused: version % of its stream is not recorded',
                NEW.stream_id, NEW.version, NEW.version - 1 USING ERRCODE = 'HL004';
        END IF;
    END IF;
    IF NEW.hash IS DISTINCT FROM sha256(previous || harbour_event_content(NEW)) THEN
        RAISE EXCEPTION 'event % version % refused: its hash does not extend the stream''s '
            'hash chain (sha256 of the previous hash and the event''s canonical bytes)',
            NEW.stream_id, NEW.version USING ERRCODE = 'HL004';
    END IF;
    RETURN NEW;
END
$$;
"""

# harbour_event_content(events) reads the row type: rebuilt once the type has its new column.
EVENT_CONTENT = """
CREATE OR REPLACE FUNCTION harbour_event_content(e events) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT convert_to(
        '{"data":' || harbour_canonical_json(e.data)
        || ',"metadata":' || harbour_canonical_json(e.metadata)
        || ',"recorded_at":"'
        || to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'
        || '","schema_version":' || e.schema_version
        || ',"stream_id":"' || e.stream_id
        || '","type":"' || e.type
        || '","version":' || e.version || '}',
        'UTF8')
$$;
"""


def upgrade() -> None:
    op.add_column("events", sa.Column("content", sa.LargeBinary, nullable=True))
    op.execute(EVENT_CONTENT)
    op.execute("ALTER TABLE events DISABLE TRIGGER events_immutable")
    op.execute("UPDATE events e SET content = harbour_event_content(e)")
    op.execute("ALTER TABLE events ENABLE TRIGGER events_immutable")
    op.alter_column("events", "content", nullable=False)
    op.execute(ENVELOPE)
    op.execute(AGREES)
    op.execute(CHECK_CHAIN)


def downgrade() -> None:
    op.execute(CHECK_CHAIN_0009)
    op.execute("DROP FUNCTION harbour_content_agrees(events)")
    op.execute("DROP FUNCTION harbour_event_envelope(events)")
    op.drop_column("events", "content")
    op.execute(EVENT_CONTENT)
