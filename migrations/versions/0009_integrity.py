"""The database checks what it stores: hash chains, login roles, signed snapshots.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

* A trigger recomputes every inserted event's hash from its stored columns, exactly as the
  store and the auditor compute it (``harbour.eventstore.encoding.event_content``), and
  refuses an event whose hash does not extend its stream's chain — whoever inserts it.
* The service roles log in themselves (LOGIN) and stay members of ``harbour_service`` only
  for its privileges (INHERIT TRUE, SET FALSE): a service session cannot ``SET ROLE`` to the
  generic role, to another service or to the owner. The ownership trigger checks the login
  role (``session_user``) as well as the current one.
* Snapshots carry the hash of the event they fold to and a keyed digest (HMAC-SHA256 with
  HARBOUR_SNAPSHOT_KEY): a role that may write the table cannot write a state a service will
  believe. Existing snapshots are dropped: they are a cache and have no digest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERIC_ROLE = "harbour_service"
SERVICE_ROLES = (
    "harbour_accounts",
    "harbour_audit",
    "harbour_collateral",
    "harbour_lending",
    "harbour_liquidation",
)

# Canonical JSON as ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
# writes it: keys in code-point order (UTF-8 bytes under COLLATE "C" sort the same way), no
# whitespace; jsonb's own text of a scalar already is what Python writes for it (strings
# escaped alike, integers as digits). Recursion only for nested containers.
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

# The bytes the chain covers, as encoding.event_content builds them: stream ids and types are
# concatenated unescaped there too (the store admits only characters JSON never escapes).
EVENT_CONTENT = """
CREATE FUNCTION harbour_event_content(e events) RETURNS bytea
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

# VOLATILE (the default) on purpose: a volatile trigger sees the rows its own statement
# inserted before this one, so the events of one batch chain onto each other.
CHECK_CHAIN = """
CREATE FUNCTION harbour_check_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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

# The login role is checked as well as the current one: a service role cannot shed its
# ownership by becoming another role (it may not), nor an owner session lend itself one.
CHECK_OWNER = """
CREATE OR REPLACE FUNCTION harbour_check_event_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM service_roles s
                WHERE s.role IN (session_user, current_user)
                  AND NOT EXISTS (SELECT FROM event_type_owners o
                                   WHERE o.role = s.role AND o.event_type = NEW.type)) THEN
        RAISE EXCEPTION '% may not append % events: another service owns that type',
            session_user, NEW.type USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
"""

CHECK_OWNER_0005 = """
CREATE OR REPLACE FUNCTION harbour_check_event_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM service_roles WHERE role = current_user)
       AND NOT EXISTS (SELECT FROM event_type_owners
                        WHERE role = current_user AND event_type = NEW.type) THEN
        RAISE EXCEPTION '% may not append % events: another service owns that type',
            current_user, NEW.type USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
"""


def upgrade() -> None:
    op.execute(CANONICAL_JSON)
    op.execute(EVENT_CONTENT)
    op.execute(CHECK_CHAIN)
    op.execute(
        "CREATE TRIGGER events_hash_extends_chain BEFORE INSERT ON events "
        "FOR EACH ROW EXECUTE FUNCTION harbour_check_event_chain()"
    )
    op.execute(CHECK_OWNER)

    # Roles are cluster-wide: every database of the server shares them.
    op.execute(f"ALTER ROLE {GENERIC_ROLE} LOGIN")
    for role in SERVICE_ROLES:
        op.execute(f"ALTER ROLE {role} LOGIN")
        # Privileges granted to the generic role still reach the service (INHERIT), but the
        # service may not become it (SET FALSE) — nor anything else: it is a member of
        # nothing more. PostgreSQL 16 or later.
        op.execute(f"GRANT {GENERIC_ROLE} TO {role} WITH INHERIT TRUE, SET FALSE")

    op.execute("DELETE FROM snapshots")  # a cache, and these have no digest
    op.add_column("snapshots", sa.Column("event_hash", sa.LargeBinary, nullable=False))
    op.add_column("snapshots", sa.Column("digest", sa.LargeBinary, nullable=False))
    op.create_check_constraint(
        "snapshots_event_hash_is_sha256", "snapshots", "length(event_hash) = 32"
    )
    op.create_check_constraint("snapshots_digest_is_sha256", "snapshots", "length(digest) = 32")


def downgrade() -> None:
    # The roles keep LOGIN and their no-SET membership: they are shared by every database of
    # the server, and loosening them for one database's downgrade would loosen them for all.
    op.drop_constraint("snapshots_digest_is_sha256", "snapshots")
    op.drop_constraint("snapshots_event_hash_is_sha256", "snapshots")
    op.drop_column("snapshots", "digest")
    op.drop_column("snapshots", "event_hash")
    op.execute(CHECK_OWNER_0005)
    op.execute("DROP TRIGGER events_hash_extends_chain ON events")
    op.execute("DROP FUNCTION harbour_check_event_chain")
    op.execute("DROP FUNCTION harbour_event_content")
    op.execute("DROP FUNCTION harbour_canonical_json")
