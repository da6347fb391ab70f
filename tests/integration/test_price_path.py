"""A price tick's round trips: the collateral service decides a RecordPrice on the cached
price track and the cached policy, and its append holds the policy at the version read — a
warm tick is one statement, no read. A policy changed meanwhile by another replica refuses
that append; the tick catches up and is decided on the policy now in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from harbour.application.decoding import domain_event
from harbour.application.market import market
from harbour.application.runner import CommandRunner
from harbour.collateral.domain import ApprovePolicyChange, ProposePolicyChange, RecordPrice
from harbour.collateral.handlers import CollateralHandlers
from harbour.eventstore.database import Database
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from tests.e2e.callers import ManualClock
from tests.integration.test_command_path import CountingStore

META = {"actor": "test"}


async def tick(handlers: CollateralHandlers, price: str, clock: ManualClock) -> ev.Event:
    """A BTC price one second after the last; returns the event it recorded."""
    clock.advance(timedelta(seconds=1))
    at = clock()
    await handlers.record_price(
        RecordPrice("BTC", Decimal(price), at, "test"),
        request_id=f"tick-{at.isoformat()}",
        request={"price": price, "at": at.isoformat()},
        metadata=META,
    )
    recorded = await EventStore.read_stream(handlers.runner.store, "price-BTC")  # not counted
    return domain_event(recorded[-1])


async def change_band(handlers: CollateralHandlers, band: str, clock: ManualClock) -> None:
    parameters = (ev.PolicyParameter("price.jump_band", band),)
    proposal = f"band-{band}"
    for actor, command in (
        ("alice", ProposePolicyChange(proposal, parameters, clock())),
        ("bob", ApprovePolicyChange(proposal)),
    ):
        await handlers.change_policy(
            command,
            actor=actor,
            request_id=f"{proposal}-{actor}",
            request={"c": type(command).__name__, "band": band},
            metadata=META,
        )


async def test_a_warm_tick_is_one_statement_and_a_policy_changed_elsewhere_is_caught_up(
    database: Database,
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 2, tzinfo=UTC))
    store = CountingStore(database, clock=clock)
    feed = CollateralHandlers(CommandRunner(store), clock=clock)
    # Another replica of the collateral service: its own cache.
    admin = CollateralHandlers(CommandRunner(EventStore(database, clock=clock)), clock=clock)
    await change_band(admin, "0.50", clock)
    await tick(feed, "500000", clock)  # the caches fill

    store.reads = store.appends = 0
    observed = await tick(feed, "520000", clock)
    assert isinstance(observed, ev.PriceObserved) and observed.price == Decimal("520000")
    assert (store.reads, store.appends) == (0, 1)

    # A 10% band set elsewhere: the tick's append, holding the policy it cached (50%), loses;
    # it catches up and a 20% jump is refused under the band now in force.
    await change_band(admin, "0.10", clock)
    store.reads = store.appends = 0
    refused = await tick(feed, "624000", clock)
    assert isinstance(refused, ev.PriceRejected) and refused.reason == "jump_beyond_band"
    policy, _ = await market(admin.runner, clock(), ())
    assert refused.policy_version == policy.version
    assert (store.reads, store.appends) == (1, 2)  # one catch-up, the lost append and the won
