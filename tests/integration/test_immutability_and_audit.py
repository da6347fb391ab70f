"""Events are facts: the database refuses changes, and the hash chain exposes any that slip by."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store, verify_stream
from harbour.runtime.settings import libpq_url


def owner(url: str) -> psycopg.Connection[Any]:
    """The database owner (a superuser here), not the services' role."""
    return psycopg.connect(libpq_url(url), autocommit=True)


def service_role(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(url), autocommit=True, options="-c role=harbour_service")


async def seed(store: EventStore) -> list[int]:
    positions = []
    for client in ("C1", "C2"):
        for n in range(3):
            result = await store.append(
                f"account-{client}",
                [NewEvent("CashDeposited", {"amount": f"{n}.00", "asset": "HKD"})],
                expected_version=n,
            )
            positions.append(result.first_position)
    return positions


STATEMENTS = [
    "UPDATE events SET content = content || '\\x20'::bytea WHERE stream_id = 'account-C1'",
    "DELETE FROM events WHERE stream_id = 'account-C1'",
    "TRUNCATE events",
    "UPDATE command_log SET response = '{}'",
    "DELETE FROM command_log",
]


@pytest.mark.parametrize("statement", STATEMENTS)
async def test_the_service_role_may_not_change_history(
    store: EventStore, database_url: str, statement: str
) -> None:
    await seed(store)
    with service_role(database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert (await verify_store(store)).events_checked == 6


@pytest.mark.parametrize("statement", STATEMENTS)
async def test_even_the_owner_is_refused_by_the_trigger(
    store: EventStore, database_url: str, statement: str
) -> None:
    await store.append(
        "account-C1",
        [NewEvent("CashDeposited", {"amount": "1.00"})],
        expected_version=0,
        request_id="r1",
    )
    with owner(database_url) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute(statement)
    assert refused.value.sqlstate == "HL003"
    assert "immutable" in str(refused.value)
    assert await store.stream_version("account-C1") == 1


async def test_a_tampered_row_is_reported_with_its_position(
    store: EventStore, database_url: str
) -> None:
    positions = await seed(store)
    assert (await verify_store(store)).intact
    victim = positions[1]  # account-C1 version 2
    with owner(database_url) as conn:
        # A superuser can switch triggers off; the chain is what still catches it.
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE events SET content = convert_to(replace(convert_from(content, 'UTF8'), "
            "'\"1.00\"', '\"999.00\"'), 'UTF8') WHERE position = %s",
            (victim,),
        )
    verifier = await verify_store(store)
    assert not verifier.intact
    assert [(b.position, b.stream_id, b.version) for b in verifier.breaks] == [
        (victim, "account-C1", 2)
    ]
    assert "hash mismatch" in verifier.breaks[0].reason
    assert (await verify_stream(store, "account-C2")).intact


async def test_a_deleted_row_breaks_the_version_sequence(
    store: EventStore, database_url: str
) -> None:
    positions = await seed(store)
    with owner(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM events WHERE position = %s", (positions[1],))
    verifier = await verify_stream(store, "account-C1")
    assert [b.position for b in verifier.breaks] == [positions[2], positions[2]]
    assert "missing" in verifier.breaks[0].reason


async def test_a_rewritten_timestamp_is_detected(store: EventStore, database_url: str) -> None:
    positions = await seed(store)
    with owner(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE events SET recorded_at = recorded_at - interval '1 day' WHERE position = %s",
            (positions[4],),
        )
    verifier = await verify_store(store)
    assert [b.position for b in verifier.breaks] == [positions[4]]
