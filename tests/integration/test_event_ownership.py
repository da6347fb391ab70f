"""Each service appends only the event types it owns: the database refuses the rest."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.runtime.database import open_database
from harbour.runtime.ownership import EVENT_OWNERS, service_role
from harbour.runtime.server import system_clock
from harbour.runtime.settings import SERVICES, Settings


def test_every_event_type_has_an_owner_and_every_service_a_role() -> None:
    owned = set().union(*EVENT_OWNERS.values())
    assert owned == set(ev.EVENT_TYPES)
    assert set(SERVICES) <= set(EVENT_OWNERS)
    settings = Settings()
    assert [settings.role_of(s) for s in SERVICES] == [f"harbour_{s}" for s in SERVICES]
    assert settings.role_of(None) == "harbour_service"  # the projector and tools


async def test_the_database_holds_the_same_owners_as_the_code(
    engine: sa.ext.asyncio.AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT role, event_type FROM event_type_owners"))).all()
        roles = {r for (r,) in await conn.execute(sa.text("SELECT role FROM service_roles"))}
    in_database: dict[str, set[str]] = {role: set() for role in roles}
    for role, event_type in rows:
        in_database[role].add(event_type)
    assert in_database == {service_role(s): set(types) for s, types in EVENT_OWNERS.items()}


async def _append_as(role: str, url: str, event_type: str) -> None:
    database = await open_database(url, role=role, pool_size=1)
    try:
        store = EventStore(database, clock=system_clock)
        await store.append("account-C1", [NewEvent(event_type, {"x": 1})], expected_version=0)
    finally:
        await database.close()


@pytest.mark.parametrize(
    ("service", "event_type", "allowed"),
    [
        ("collateral", "PriceObserved", True),
        ("collateral", "CashDeposited", False),
        ("accounts", "CashDeposited", True),
        ("accounts", "LoanAdvanced", False),
        ("lending", "LoanAdvanced", True),
        ("lending", "PolicyChangeApproved", False),
        ("audit", "CashDeposited", False),
    ],
)
async def test_a_service_role_may_append_only_its_own_types(
    database_url: str, service: str, event_type: str, allowed: bool
) -> None:
    if allowed:
        await _append_as(service_role(service), database_url, event_type)
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="another service owns"):
            await _append_as(service_role(service), database_url, event_type)
