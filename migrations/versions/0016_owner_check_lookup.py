"""The ownership check as a cheap lookup: the owners compiled into a function, no query per row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-11

The trigger of 0005/0009 ran two nested queries against ``service_roles`` and
``event_type_owners`` for every inserted event (measured: about as much as the insert itself).
The same rule now reads a map compiled from those tables into ``harbour_owned_types(role)``
(the types a service role owns, NULL for a role that is no service's): a plain expression,
no query. The tables stay the one place the owners are written: a statement trigger on each
compiles the function again whenever a migration changes them, so the map cannot drift.
Same rule as 0009: the login role and the current one are both checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# STABLE, not IMMUTABLE: the map changes when it is compiled again, and no plan may keep a
# folded copy of it. A STABLE SQL function is inlined into the caller's expression.
COMPILE = """
CREATE FUNCTION harbour_compile_event_owners() RETURNS trigger
LANGUAGE plpgsql AS $compile$
DECLARE
    cases text;
BEGIN
    SELECT string_agg(format('WHEN %L THEN %L::text[]', s.role, coalesce(o.types, '{}')),
                      ' ' ORDER BY s.role)
      INTO cases
      FROM service_roles s
      LEFT JOIN (SELECT role, array_agg(event_type ORDER BY event_type) AS types
                   FROM event_type_owners GROUP BY role) AS o USING (role);
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION harbour_owned_types(who name) RETURNS text[] '
        'LANGUAGE sql STABLE PARALLEL SAFE AS %L',
        'SELECT CASE who::text ' || coalesce(cases, '') || ' ELSE NULL::text[] END');
    RETURN NULL;
END
$compile$;
"""

CHECK_OWNER = """
CREATE OR REPLACE FUNCTION harbour_check_event_owner() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owned text[] := harbour_owned_types(session_user);
BEGIN
    IF owned IS NOT NULL AND NOT NEW.type = ANY (owned) THEN
        RAISE EXCEPTION '% may not append % events: another service owns that type',
            session_user, NEW.type USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF current_user <> session_user THEN
        owned := harbour_owned_types(current_user);
        IF owned IS NOT NULL AND NOT NEW.type = ANY (owned) THEN
            RAISE EXCEPTION '% may not append % events: another service owns that type',
                current_user, NEW.type USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
"""

# 0009's check, restored by a downgrade.
CHECK_OWNER_0009 = """
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

TABLES = ("service_roles", "event_type_owners")


def upgrade() -> None:
    # A placeholder the compile replaces at once (the check must resolve the name).
    op.execute(
        "CREATE FUNCTION harbour_owned_types(who name) RETURNS text[] "
        "LANGUAGE sql STABLE PARALLEL SAFE AS 'SELECT NULL::text[]'"
    )
    op.execute(COMPILE)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_compiled AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION harbour_compile_event_owners()"
        )
    # Compile now: a no-op statement on one of the tables fires the trigger.
    op.execute("DELETE FROM service_roles WHERE false")
    op.execute(CHECK_OWNER)


def downgrade() -> None:
    op.execute(CHECK_OWNER_0009)
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_compiled ON {table}")
    op.execute("DROP FUNCTION harbour_compile_event_owners")
    op.execute("DROP FUNCTION harbour_owned_types")
