"""Forced-sale benchmark: part of `make bench-risk` (python -m bench.liquidation).

HARBOUR_BENCH_LIQUIDATIONS borrowers (default 1,000), each holding 1,000 shares of 0700.HK
and 1 BTC against a drawn and spent loan of 400,000 HKD (U 83%), are seeded in process. One
tick (BTC -50%, the shares to 290) puts every one of them past the forced-sale level. Timed
from the tick to every liquidation settled:

- the risk checks that start them (``LendingHandlers.handle(CheckRisk)``, 16 at a time), then
- the liquidation engine (``LiquidationEngine.settle_all``) selling through the default
  in-process simulated venues (their latency, a few ms a call, is part of the time),

next to the same number of plain one-event appends (16 writers) in the same run: the ceiling a
liquidation's events could be written at if nothing else had to happen. Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bench.common import Report, Row, embedded_server, environment, fresh_database
from harbour.accounts import domain as accounts_domain
from harbour.application.market import market
from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.collateral.domain import ApprovePolicyChange, ProposePolicyChange, RecordPrice
from harbour.collateral.handlers import CollateralHandlers
from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure, replay_exposure
from harbour.ledger.grades import CreditGrade
from harbour.ledger.ids import account_stream
from harbour.ledger.money import Money
from harbour.lending import domain as lending_domain
from harbour.lending.handlers import LendingHandlers
from harbour.liquidation.engine import LiquidationEngine
from harbour.liquidation.handlers import LiquidationHandlers
from harbour.liquidation.venues import cached_marks, default_venues
from harbour.runtime.database import open_database
from harbour.testing import credit

ACCOUNTS = int(os.environ.get("HARBOUR_BENCH_LIQUIDATIONS", "1000"))
TASKS = 16
POLICY = {
    "haircut.0700.HK": "0.30",
    "broker.capital": "10000000000.00",
    "price.jump_band": "0.90",
}
BEFORE = {"BTC": Decimal("500000.00"), "0700.HK": Decimal("400.00")}
AFTER = {"BTC": Decimal("250000.00"), "0700.HK": Decimal("290.00")}
LOAN = Money.of("HKD", "400000.00")
SEED_META = {"actor": "bench-seed", "service": "bench"}
RISK_META = {"actor": "risk-monitor", "service": "lending"}

RAW = "plain appends, 1 event each (ceiling)"
FORCED = "1 tick -> every liquidation settled (events written)"
SALES = "the same run, orders settled"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now = max(self.now, datetime.now(UTC))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def set_market(store: EventStore, clock: Clock, prices: dict[str, Decimal]) -> None:
    collateral = CollateralHandlers(CommandRunner(store), clock=clock)
    for code, price in prices.items():
        clock.tick()
        await collateral.record_price(
            RecordPrice(code, price, clock(), "bench"),
            request_id=uuid.uuid4().hex,
            request={"asset": code},
            metadata={"actor": "bench-feed"},
        )


async def set_policy(store: EventStore, clock: Clock) -> None:
    collateral = CollateralHandlers(CommandRunner(store), clock=clock)
    parameters = tuple(ev.PolicyParameter(k, v) for k, v in POLICY.items())
    for actor, command in (
        ("alice", ProposePolicyChange("P-bench", parameters, clock())),
        ("bob", ApprovePolicyChange("P-bench")),
    ):
        await collateral.change_policy(
            command,
            actor=actor,
            request_id=uuid.uuid4().hex,
            request={"command": type(command).__name__},
            metadata={"actor": actor},
        )


def borrower(
    n: int, now: datetime, policy: Any, prices: Any
) -> tuple[str, list[ev.Event], list[ev.Event]]:
    """A borrower's history from the pure deciders: onboard, deposit, facility, draw, spend."""
    client = f"L{n:06d}"
    state = MarginAccount.initial(client)
    written: list[ev.Event] = []
    accounts = accounts_domain.Context(
        now, policy.minimum_credit_grade, margin_check=AdvanceTest(policy, prices)
    )

    def apply(events: Sequence[ev.Event]) -> None:
        nonlocal state
        for event in events:
            state = evolve(state, event)
        written.extend(events)

    apply(
        credit.onboarded(  # the grade and limit approved by a second principal
            accounts_domain.OnboardClient(
                client,
                f"SMA-{client}",
                None,
                CreditGrade.A,
                Money.of("HKD", "1000000"),
                "MA-2026",
                "VARD-1",
                False,
            ),
            accounts,
        )
    )
    for code, quantity in (("0700.HK", "1000"), ("BTC", "1")):
        apply(
            accounts_domain.decide(
                state,
                accounts_domain.DepositCollateral(client, Money.of(code, quantity), "c"),
                accounts,
            )
        )
    context = lending_domain.Context(now, policy, prices, BrokerExposure(), f"seed-{client}")
    facility = lending_domain.ApproveFacility(
        client, f"F-{client}", Money.of("HKD", "1000000"), Decimal("0.068")
    )
    apply(lending_domain.decide(state, facility, context).account)
    draw = lending_domain.decide(state, lending_domain.DrawLoan(client, LOAN), context)
    apply(draw.account)
    apply(
        accounts_domain.decide(state, accounts_domain.WithdrawCash(client, LOAN, "bank"), accounts)
    )
    return client, written, list(draw.exposure)


async def seed(store: EventStore, clock: Clock) -> list[str]:
    runner = CommandRunner(store)
    policy, prices = await market(runner, clock(), BEFORE)
    clients: list[str] = []
    exposure: list[ev.Event] = []
    queue: asyncio.Queue[tuple[str, list[NewEvent]] | None] = asyncio.Queue(maxsize=128)

    async def writer() -> None:
        while (item := await queue.get()) is not None:
            stream, events = item
            await store.append(stream, events, expected_version=0, metadata=SEED_META)

    writers = [asyncio.create_task(writer()) for _ in range(8)]
    for n in range(ACCOUNTS):
        client, events, moved = borrower(n, clock(), policy, prices)
        clients.append(client)
        exposure.extend(moved)
        await queue.put((account_stream(client), [new_event(e) for e in events]))
    for _ in writers:
        await queue.put(None)
    await asyncio.gather(*writers)
    # Each draw's exposure change, in one append (group totals are what a draw checks).
    assert replay_exposure(exposure).total.get("HKD") == LOAN.minor * ACCOUNTS
    await store.append(
        EXPOSURE_STREAM, [new_event(e) for e in exposure], expected_version=0, metadata=SEED_META
    )
    return clients


async def gated(items: Sequence[str], work: Any) -> None:
    gate = asyncio.Semaphore(TASKS)

    async def one(item: str) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


async def forced_sales(url: str, report: Report) -> None:
    database = await open_database(url, pool_size=TASKS + 4)
    clock = Clock()
    store = EventStore(database, clock=clock)
    try:
        await set_policy(store, clock)
        await set_market(store, clock, BEFORE)
        progress(f"seeding {ACCOUNTS:,} borrowers ...")
        clients = await seed(store, clock)
        lending = LendingHandlers(CommandRunner(store), clock=clock)
        runner = CommandRunner(store)
        handlers = LiquidationHandlers(runner, clock=clock)

        engine = LiquidationEngine(
            handlers, default_venues(store.engine, cached_marks(handlers.mark), clock)
        )
        await set_market(store, clock, AFTER)
        head = await store.head_position()
        progress("tick: checking and liquidating ...")
        started = time.perf_counter()

        async def check(client: str) -> None:
            await lending.handle(
                lending_domain.CheckRisk(client),
                request_id=f"bench-check-{client}",
                request={"rpc": "CheckRisk", "client_id": client},
                metadata=RISK_META,
            )

        await gated(clients, check)
        checked = time.perf_counter() - started
        rounds = await engine.settle_all()
        progress(f"  risk checks {checked:.1f} s; engine {rounds} steps")
        seconds = time.perf_counter() - started
        written = await store.head_position() - head
        async with store.engine.connect() as conn:
            counts = dict(
                (
                    await conn.execute(
                        sa.text("SELECT state, count(*) FROM liquidations GROUP BY state")
                    )
                ).all()
            )
            settled = await conn.scalar(
                sa.text("SELECT count(*) FROM events WHERE type = 'LiquidationOrderSettled'")
            )
        report.environment["liquidations by end state"] = counts
        report.rows.append(Row(FORCED, TASKS, written, seconds, baseline=RAW))
        report.rows.append(Row(SALES, TASKS, int(settled or 0), seconds))
        progress(f"  {written:,} events, {settled:,} orders settled in {seconds:.1f} s")

        progress(f"ceiling: {written:,} plain appends ...")
        started = time.perf_counter()

        async def append(stream: str) -> None:
            event = new_event(ev.AccountSuspended(stream, "bench"))
            await store.append(f"bench-{stream}", [event], expected_version=0, metadata=SEED_META)

        await gated([f"r{n}" for n in range(written)], append)
        report.rows.insert(0, Row(RAW, TASKS, written, time.perf_counter() - started))
    finally:
        await database.close()


def main() -> None:
    report = Report(f"Forced sales: {ACCOUNTS:,} liquidations from one tick")
    with embedded_server() as admin:
        report.environment.update(environment(admin))
        report.environment.pop("server", None)
        url = fresh_database(admin, "bench_liquidation")
        asyncio.run(forced_sales(url, report))
    print(report.markdown())
    report.save("liquidation")


if __name__ == "__main__":
    main()
