"""An event is the exact bytes its hash covers: ``content`` replaces the JSON columns.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12

Until now an event's ``data`` and ``metadata`` were ``jsonb`` columns and the chain trigger of
0009 rebuilt the canonical JSON from them in PL/pgSQL (``harbour_canonical_json``) to check
each insert's hash: about 210 µs per insert (three quarters of a bulk accrual statement), and
an auditor had to rebuild the same bytes from ``jsonb`` text for every event it checked. The
writer already builds those bytes (it sends them to be hashed). So:

* ``events.content`` holds the canonical bytes of the event — the envelope ``{data, metadata,
  recorded_at, schema_version, stream_id, type, version}`` exactly as hashed — and is the one
  place the event's data and metadata are stored. Readers (the store, the feed, replay, the
  auditor) read these bytes; there is no second copy that could say something else.
* ``stream_id``, ``version``, ``type``, ``schema_version`` and ``recorded_at`` stay columns
  (indexes, the feed, ownership); the trigger checks that the bytes end with exactly what
  those columns say (``harbour_event_tail``), that they are JSON, and that
  ``hash = sha256(previous hash || content)``.
* ``event_documents`` is a view with ``data`` and ``metadata`` as ``jsonb`` for people who
  query the store by hand.

Existing rows get their content from ``harbour_event_content`` (the function their hash was
checked against when they were inserted): a change of schema, not of facts, done with the
immutability trigger off inside this migration's transaction; every row's hash still covers
exactly the bytes now stored (``harbour audit verify`` checks that). It rewrites each row: a
store with many events should run it in a maintenance window.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The end of an event's canonical bytes, from its columns, exactly as
# ``harbour.eventstore.encoding.event_content`` writes it (stream ids and types are
# restricted to characters JSON never escapes).
# Scalar arguments and STABLE (to_char is), so PostgreSQL inlines it into a query: with the
# whole row as its argument it was a call per row, 10 µs, five times the rest of a read.
TAIL = """
CREATE FUNCTION harbour_event_tail(
    recorded_at timestamptz, schema_version smallint, stream_id text, type text, version integer
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(
        ',"recorded_at":"'
        || to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'
        || '","schema_version":' || schema_version
        || ',"stream_id":"' || stream_id
        || '","type":"' || type
        || '","version":' || version || '}',
        'UTF8')
$$;
"""

CHECK_CHAIN = """
CREATE OR REPLACE FUNCTION harbour_check_event_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea := '\\x'::bytea;
    tail bytea := harbour_event_tail(
        NEW.recorded_at, NEW.schema_version, NEW.stream_id, NEW.type, NEW.version);
BEGIN
    IF NEW.version > 1 THEN
        SELECT e.hash INTO previous FROM events e
         WHERE e.stream_id = NEW.stream_id AND e.version = NEW.version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'event % version % refused: version % of its stream is not recorded',
                NEW.stream_id, NEW.version, NEW.version - 1 USING ERRCODE = 'HL004';
        END IF;
    END IF;
    IF substr(NEW.content, 1, 8) IS DISTINCT FROM '\\x7b2264617461223a'::bytea  -- {"data":
       OR substr(NEW.content, octet_length(NEW.content) - octet_length(tail) + 1) <> tail THEN
        RAISE EXCEPTION 'event % version % refused: its canonical bytes do not say what its '
            'columns say (they must start with {"data": and end with %)',
            NEW.stream_id, NEW.version, convert_from(tail, 'UTF8') USING ERRCODE = 'HL004';
    END IF;
    -- JSON at all (the json type only checks the syntax: no value is built).
    PERFORM convert_from(NEW.content, 'UTF8')::json;
    IF NEW.hash IS DISTINCT FROM sha256(previous || NEW.content) THEN
        RAISE EXCEPTION 'event % version % refused: its hash does not extend the stream''s '
            'hash chain (sha256 of the previous hash and the event''s canonical bytes)',
            NEW.stream_id, NEW.version USING ERRCODE = 'HL004';
    END IF;
    RETURN NEW;
END
$$;
"""

DOCUMENTS = """
CREATE VIEW event_documents AS
SELECT position, stream_id, version, type, schema_version,
       convert_from(content, 'UTF8')::jsonb -> 'data' AS data,
       convert_from(content, 'UTF8')::jsonb -> 'metadata' AS metadata,
       recorded_at, txid, hash, content
  FROM events
"""

# 0009's functions and trigger, for the downgrade.
CANONICAL_JSON = """
CREATE FUNCTION harbour_canonical_json(value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    CASE jsonb_typeof(value)
    WHEN 'object' THEN
        RETURN '{' || coalesce((
            SELECT string_agg(
                       to_jsonb(o.key)::text || ':' ||
                       CASE WHEN jsonb_typeof(o.value) IN ('object', 'array')
                            THEN harbour_canonical_json(o.value) ELSE o.value::text END,
                       ',' ORDER BY o.key COLLATE "C")
              FROM jsonb_each(value) AS o), '') || '}';
    WHEN 'array' THEN
        RETURN '[' || coalesce((
            SELECT string_agg(
                       CASE WHEN jsonb_typeof(a.value) IN ('object', 'array')
                            THEN harbour_canonical_json(a.value) ELSE a.value::text END,
                       ',' ORDER BY a.ord)
              FROM jsonb_array_elements(value) WITH ORDINALITY AS a(value, ord)), '') || ']';
    ELSE
        RETURN value::text;
    END CASE;
END
$$;
"""

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


def upgrade() -> None:
    op.add_column("events", sa.Column("content", sa.LargeBinary, nullable=True))
    op.execute("ALTER TABLE events DISABLE TRIGGER events_immutable")
    op.execute("UPDATE events e SET content = harbour_event_content(e)")
    op.execute("ALTER TABLE events ENABLE TRIGGER events_immutable")
    op.alter_column("events", "content", nullable=False)
    op.execute(TAIL)
    op.execute(CHECK_CHAIN)
    op.execute("DROP FUNCTION harbour_event_content(events)")
    op.execute("DROP FUNCTION harbour_canonical_json(jsonb)")
    op.drop_column("events", "data")
    op.drop_column("events", "metadata")
    op.execute(DOCUMENTS)
    op.execute("GRANT SELECT ON event_documents TO harbour_service")


def downgrade() -> None:
    op.execute("DROP VIEW event_documents")
    op.add_column("events", sa.Column("data", JSONB, nullable=True))
    op.add_column("events", sa.Column("metadata", JSONB, nullable=True))
    op.execute("ALTER TABLE events DISABLE TRIGGER events_immutable")
    op.execute(
        "UPDATE events SET data = convert_from(content, 'UTF8')::jsonb -> 'data', "
        "metadata = convert_from(content, 'UTF8')::jsonb -> 'metadata'"
    )
    op.execute("ALTER TABLE events ENABLE TRIGGER events_immutable")
    op.alter_column("events", "data", nullable=False)
    op.alter_column("events", "metadata", nullable=False)
    op.execute(CANONICAL_JSON)
    op.execute(EVENT_CONTENT)
    op.execute(CHECK_CHAIN_0009)
    op.execute("DROP FUNCTION harbour_event_tail(timestamptz, smallint, text, text, integer)")
    op.drop_column("events", "content")
