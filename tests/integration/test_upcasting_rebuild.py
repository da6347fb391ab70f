"""A read model rebuilds across a schema change: events stored as CashDeposited v1 (whose
reference was called ``bank_reference``) read as today's v2 through the vocabulary's upcasters
the runtime wires into the store — and without them, the rebuild refuses the old shape instead
of folding it wrongly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from harbour.accounts import domain as d
from harbour.accounts.handlers import AccountHandlers
from harbour.accounts.projections import Accounts, Balances
from harbour.eventstore.database import Database
from harbour.eventstore.model import NewEvent
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.runtime.upcasting import vocabulary_upcasters


def now() -> datetime:
    return datetime.now(UTC)


def renamed_reference(data: dict[str, Any]) -> dict[str, Any]:
    """CashDeposited v1 -> v2: ``bank_reference`` became ``reference`` (same meaning)."""
    upgraded = dict(data)
    upgraded["reference"] = upgraded.pop("bank_reference")
    return upgraded


async def onboard_and_deposit(handlers: AccountHandlers, client: str, amount: str) -> None:
    onboard = d.OnboardClient(
        client, f"SMA-{client}", "CA", CreditGrade.A, Money.of("HKD", "1000.00"), "MA", "VA", False
    )
    await handlers.handle(onboard, request_id=f"{client}-on", request={}, metadata={})
    deposit = d.DepositCash(client, Money.of("HKD", amount), "bank-1")
    await handlers.handle(deposit, request_id=f"{client}-dep", request={}, metadata={})


async def write_as_v1(store: EventStore, source: str, client: str) -> None:
    """What an older release wrote: the same deposit, in v1's shape, on another account."""
    recorded = (await store.read_stream(f"account-{source}"))[-1]
    assert recorded.type == "CashDeposited" and recorded.schema_version == 2
    data = json.loads(recorded.data_json.replace(source, client))
    data["bank_reference"] = data.pop("reference")
    head = len(await store.read_stream(f"account-{client}"))
    await store.append(
        f"account-{client}",
        [NewEvent("CashDeposited", data, schema_version=1)],
        expected_version=head,
    )


async def cash_of(store: EventStore, client: str) -> list[tuple[str, Any]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT asset, amount FROM balances WHERE ledger_account = :a"),
            {"a": f"client:{client}:cash"},
        )
        return [(asset, amount) for asset, amount in rows]


async def test_a_projection_rebuilds_across_a_v1_to_v2_upcaster(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ev.SCHEMA_VERSION, "CashDeposited", 2)  # today's shape is v2
    plain = EventStore(database, clock=now)
    handlers = AccountHandlers(plain, clock=now, snapshot_every=100)
    await onboard_and_deposit(handlers, "NEW", "125.50")
    await handlers.handle(
        d.OnboardClient(
            "OLD", "SMA-OLD", "CA", CreditGrade.A, Money.of("HKD", "1000.00"), "MA", "VA", False
        ),
        request_id="OLD-on",
        request={},
        metadata={},
    )
    await write_as_v1(plain, "NEW", "OLD")

    upcasting = EventStore(
        database,
        clock=now,
        upcasters=vocabulary_upcasters({("CashDeposited", 1): renamed_reference}),
    )
    runner = ProjectionRunner(upcasting, clock=now, page_size=2)
    for projection in (Balances(), Accounts()):
        await runner.rebuild(projection)
        assert not (await runner.status(projection)).quarantined, projection.name
        assert await runner.verify(projection) == [], projection.name
    assert await cash_of(upcasting, "OLD") == await cash_of(upcasting, "NEW") != []
    old = [e for e in await upcasting.read_stream("account-OLD") if e.type == "CashDeposited"]
    assert old[0].schema_version == 1 and old[0].data["reference"] == "bank-1"
    assert "bank_reference" in old[0].stored_data  # the stored bytes are untouched

    # The same rebuild without the upcasters refuses the old shape (quarantine), never folds it.
    blind = ProjectionRunner(plain, clock=now, page_size=2)
    await blind.rebuild(Accounts())
    status = await blind.status(Accounts())
    assert status.quarantined and status.poison is not None
    assert status.poison.event_type == "CashDeposited" and "upcast" in status.poison.reason
