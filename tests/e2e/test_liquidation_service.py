"""Forced sales over gRPC: accounts, collateral, lending and liquidation servers on loopback,
one real PostgreSQL, the real in-process simulated venues, a manual clock shared by all."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest
import sqlalchemy as sa

from harbour.accounts.projections import TRIAL_BALANCE_SQL, Balances
from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
    liquidation_pb2,
    liquidation_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount
from harbour.application.decoding import domain_event
from harbour.application.runner import CommandRunner
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.lending.projections import MarginCalls
from harbour.liquidation.domain import AdvanceLiquidation
from harbour.liquidation.engine import LiquidationEngine
from harbour.liquidation.handlers import LiquidationHandlers
from harbour.liquidation.projections import Liquidations
from harbour.liquidation.venue_schema import venue_orders
from harbour.liquidation.venues import SimulatedVenue, cached_marks, default_venues
from harbour.runtime.metrics import serve_metrics
from harbour.runtime.projections import all_projections
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings
from harbour.testing.credit import approve_client_facts
from tests.e2e import followers
from tests.e2e.callers import OPERATOR, PLATFORM, RISK, ManualClock, event_count, rid
from tests.e2e.followers import CATCH_UP_SECONDS
from tests.e2e.test_audit_service import details
from tests.e2e.test_lending_service import Stack, moved
from tests.e2e.test_observability import scrape
from tests.integration.poison import insert_poison

LIQUIDATION_EVENTS = {
    "LiquidationStarted",
    "LiquidationOrderPlaced",
    "LiquidationFillExecuted",
    "FeeCharged",
    "LiquidationProceedsApplied",
    "LiquidationOrderSettled",
    "LiquidationCompleted",
    "ShortfallRecognised",
}


@dataclass
class LiquidationStack(Stack):
    liquidation: liquidation_pb2_grpc.LiquidationServiceStub | None = None

    @property
    def liq(self) -> liquidation_pb2_grpc.LiquidationServiceStub:
        assert self.liquidation is not None
        return self.liquidation

    async def borrow_and_spend(self, client: str, value: str) -> None:
        await self.borrower(client)
        await self.draw(client, value)
        await self.withdraw_cash(client, value)  # the proceeds leave: only collateral is left
        await followers.caught_up(self.store, [Balances()], clock=self.clock)

    async def settled(self, client: str, within: float = 30.0) -> liquidation_pb2.Liquidation:
        """The client's liquidation once the engine (running in the server) ended it."""
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            listed = await self.liq.ListLiquidations(
                liquidation_pb2.ListLiquidationsRequest(client_id=client), metadata=RISK
            )
            ended = [x for x in listed.liquidations if x.state in ("completed", "deficit")]
            if ended:
                got = await self.liq.GetLiquidation(
                    liquidation_pb2.GetLiquidationRequest(liquidation_id=ended[0].liquidation_id),
                    metadata=RISK,
                )
                return got.liquidation
            await asyncio.sleep(0.1)
        raise AssertionError(f"the liquidation of {client} did not end in {within} s")


@asynccontextmanager
async def serving(
    settings: Settings, database: Database, names: Sequence[str]
) -> AsyncIterator[LiquidationStack]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    runtime = Runtime(settings, database, store, clock)
    servers = [await start_server(name, runtime, port=0, host="127.0.0.1") for name in names]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    stack = LiquidationStack(
        accounts_pb2_grpc.AccountsServiceStub(channels[0]),
        collateral_pb2_grpc.CollateralServiceStub(channels[1]),
        lending_pb2_grpc.LendingServiceStub(channels[2]),
        store,
        clock,
        liquidation_pb2_grpc.LiquidationServiceStub(channels[3]) if len(channels) > 3 else None,
    )
    await stack.policy(**{"haircut.0700.HK": "0.30"})
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    try:
        yield stack
    finally:
        for channel in channels:
            await channel.close()
        for server in servers:
            await server.stop(0)


@pytest.fixture
async def stack(settings: Settings, database: Database) -> AsyncIterator[LiquidationStack]:
    names = ("accounts", "collateral", "lending", "liquidation")
    async with serving(settings, database, names) as stack:
        yield stack


@pytest.fixture
async def without_engine(settings: Settings, database: Database) -> AsyncIterator[LiquidationStack]:
    """The stack without the liquidation service: the test runs engines itself, as the
    processes before and after a crash."""
    async with serving(settings, database, ("accounts", "collateral", "lending")) as stack:
        yield stack


@pytest.fixture(scope="module")
def metrics_port() -> Iterator[int]:
    """This process's /metrics (the servers of the stack run in it), scraped over HTTP."""
    serving = serve_metrics(0, "127.0.0.1")
    yield serving.port
    serving.close()


def engine_process(stack: LiquidationStack) -> tuple[LiquidationEngine, list[SimulatedVenue]]:
    """What a fresh liquidation process builds: its own runner, handlers and venue clients
    (the venues' memory is in the database, like a real venue's is on its side)."""
    runner = CommandRunner(stack.store)
    handlers = LiquidationHandlers(runner, clock=stack.clock)

    venues = default_venues(stack.store.engine, cached_marks(handlers.mark), stack.clock)
    return LiquidationEngine(handlers, venues), venues


async def crashed_account(stack: LiquidationStack, client: str) -> None:
    """A borrower pushed past the forced-sale level: LIQUIDATING, nothing sold yet."""
    await stack.borrow_and_spend(client, "400000.00")
    await stack.price("BTC", "250000.00")
    await stack.price("0700.HK", "290.00")
    await stack.check(client)
    history = [e.type for e in await stack.store.read_stream(f"account-{client}")]
    assert "LiquidationStarted" in history


async def caught_up(stack: LiquidationStack, within: float = CATCH_UP_SECONDS) -> None:
    """Every read model caught up with every event written so far."""
    await followers.caught_up(stack.store, all_projections(), clock=stack.clock, within=within)


async def stepped(
    stack: LiquidationStack, engine: LiquidationEngine, within: float = CATCH_UP_SECONDS
) -> None:
    """One round that moved something (the feed shows an event to followers once every
    transaction older than it has ended, so a round may first see nothing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await engine.run_round():
        if loop.time() >= deadline:
            runner = ProjectionRunner(stack.store, clock=stack.clock)
            head = await stack.store.head_position()
            behind = await followers.short_of_head(stack.store, runner, all_projections(), head)
            why = await followers.why_behind(stack.store, runner, behind or [Liquidations()], head)
            raise AssertionError(f"the engine found nothing to do in {within:g} s: {why}")
        await asyncio.sleep(0.05)


async def venue_rows(stack: LiquidationStack) -> list[sa.RowMapping]:
    async with stack.store.engine.connect() as conn:
        return list((await conn.execute(sa.select(venue_orders))).mappings().all())


async def assert_sold_once(stack: LiquidationStack, *clients: str) -> None:
    """Every order id reached a venue at most once, and the ledger recorded exactly the fills
    the venues executed for ``clients`` (every client liquidated): nothing sold twice, nothing
    sold unrecorded."""
    rows = await venue_rows(stack)
    ids = [(r["venue"], r["client_order_id"]) for r in rows]
    assert len(ids) == len(set(ids))
    executed = {f["fill_id"] for r in rows for f in r["fills"]}
    recorded = [
        domain_event(e).fill_id  # type: ignore[attr-defined]
        for client in clients
        for e in await stack.store.read_stream(f"account-{client}")
        if e.type == "LiquidationFillExecuted"
    ]
    assert len(recorded) == len(set(recorded))
    assert set(recorded) == executed


async def _trial_balance(store: EventStore) -> list[tuple[str, Decimal]]:
    await followers.caught_up(store, [Balances()], clock=lambda: datetime.now(UTC))
    async with store.engine.connect() as conn:
        return [(a, t) for a, t in (await conn.execute(sa.text(TRIAL_BALANCE_SQL))).all()]


async def test_a_crash_is_liquidated_to_the_target_with_best_execution(
    stack: LiquidationStack, metrics_port: int
) -> None:
    # CV 480,000 (shares 280,000 + BTC 200,000), D 400,000. BTC -50% and the shares to 290:
    # non-VA 203,000 + VA 100,000 = 303,000: U 1.32 >= 130% -> call and forced sale at once.
    before = scrape(metrics_port)
    await stack.borrow_and_spend("C1", "400000.00")
    await stack.price("BTC", "250000.00")
    await stack.price("0700.HK", "290.00")
    await stack.check("C1")
    liquidation = await stack.settled("C1")
    assert liquidation.state == "completed" and liquidation.outcome == "target_reached"
    assert liquidation.trigger == "forced_sale_threshold"
    assert liquidation.fills, "something was sold"
    # BTC goes first (ETH: none), and this crash needs no shares sold.
    assert {f.quantity.asset for f in liquidation.fills} == {"BTC"}
    for fill in liquidation.fills:
        if fill.affiliated:  # the safeguard: never below the best independent quote
            assert Decimal(fill.price) >= Decimal(fill.best_independent_quote)
        assert Decimal(fill.price) >= Decimal("250000") * Decimal("0.95")  # slippage floor
    proceeds = sum(Decimal(f.proceeds.value) for f in liquidation.fills)
    fees = sum(Decimal(f.fee.value) for f in liquidation.fills)
    assert Decimal(liquidation.proceeds.value) == proceeds
    assert Decimal(liquidation.fees.value) == fees
    assert fees == sum(
        (Decimal(f.proceeds.value) * Decimal("0.02")).quantize(Decimal("0.01"), "ROUND_CEILING")
        for f in liquidation.fills
    )
    loan = await stack.loan("C1")
    assert loan.risk_state in ("healthy", "warning") and not loan.advances_suspended
    assert Decimal(loan.principal.value) == Decimal(400000) - (proceeds - fees)
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    assert history.index("LiquidationStarted") < history.index("LiquidationCompleted")
    # Each order was placed, then settled exactly once; the venues executed each id once.
    placed = history.count("LiquidationOrderPlaced")
    assert placed == history.count("LiquidationOrderSettled") >= 1
    async with stack.store.engine.connect() as conn:
        executed = await conn.scalar(sa.select(sa.func.count()).select_from(venue_orders))
    assert executed == placed
    # The business counters moved by what the account's history records, counted where each
    # event was appended (the lending server's risk check, the liquidation server's engine).
    after = scrape(metrics_port)
    assert moved(before, after, "harbour_liquidations_started_total") == 1
    assert moved(before, after, "harbour_liquidations_completed_total") == 1
    assert moved(before, after, "harbour_liquidation_fills_total") == len(liquidation.fills)
    assert moved(before, after, "harbour_shortfalls_recognised_total") == 0
    calls = history.count("MarginCallIssued")
    assert moved(before, after, "harbour_margin_calls_issued_total") == calls >= 1
    appended = "harbour_events_appended_total"
    assert moved(before, after, appended, type="LiquidationOrderPlaced") == placed
    assert await _trial_balance(stack.store) == []
    assert (await verify_store(stack.store)).intact


async def test_nothing_left_to_sell_ends_in_deficit_then_write_off_and_close(
    stack: LiquidationStack, metrics_port: int
) -> None:
    before = scrape(metrics_port)
    await stack.borrow_and_spend("C1", "400000.00")
    await stack.policy(**{"price.jump_band": "0.90"})  # let the feed post a collapse
    # A weekend-style collapse: BTC -80%, the shares -50% (last close): D 400,000 against
    # everything sold for well under it.
    await stack.price("BTC", "100000.00")
    await stack.price("0700.HK", "200.00")
    await stack.check("C1")
    liquidation = await stack.settled("C1")
    assert liquidation.state == "deficit" and liquidation.outcome == "shortfall"
    assert {f.quantity.asset for f in liquidation.fills} == {"BTC", "0700.HK"}
    placed = [
        domain_event(e).quantity.asset.code  # type: ignore[attr-defined]
        for e in await stack.store.read_stream("account-C1")
        if e.type == "LiquidationOrderPlaced"
    ]
    assert placed.index("0700.HK") > max(i for i, a in enumerate(placed) if a == "BTC")
    net = sum(Decimal(f.proceeds.value) - Decimal(f.fee.value) for f in liquidation.fills)
    assert Decimal(liquidation.shortfall.value) == Decimal(400000) - net  # exact
    loan = await stack.loan("C1")
    assert loan.risk_state == "deficit"
    after = scrape(metrics_port)
    assert moved(before, after, "harbour_shortfalls_recognised_total") == 1
    assert moved(before, after, "harbour_liquidation_fills_total") == len(liquidation.fills)

    await caught_up(stack)
    book = await stack.liq.ListDeficits(liquidation_pb2.ListDeficitsRequest(), metadata=RISK)
    assert [(d.client_id, d.outstanding.value, d.state) for d in book.deficits] == [
        ("C1", liquidation.shortfall.value, "open")
    ]
    propose = liquidation_pb2.ProposeDeficitSettlementRequest(
        request_id=rid(),
        client_id="C1",
        proposal_id="WO-1",
        kind="write_off",
        amount=liquidation.shortfall,
        reference="board minute 12",
    )
    await stack.liq.ProposeDeficitSettlement(propose, metadata=OPERATOR)
    approve = liquidation_pb2.ApproveDeficitSettlementRequest(
        request_id=rid(), client_id="C1", proposal_id="WO-1"
    )
    with pytest.raises(grpc.aio.AioRpcError) as same:
        await stack.liq.ApproveDeficitSettlement(approve, metadata=OPERATOR)
    assert same.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await stack.liq.ApproveDeficitSettlement(approve, metadata=RISK)
    assert (await stack.loan("C1")).risk_state == "written_off"
    await stack.accounts.CloseAccount(
        accounts_pb2.CloseAccountRequest(request_id=rid(), client_id="C1"),
        metadata=OPERATOR,
    )
    assert await _trial_balance(stack.store) == []
    await caught_up(stack)
    book = await stack.liq.ListDeficits(liquidation_pb2.ListDeficitsRequest(), metadata=RISK)
    assert [(d.state, d.outstanding.value) for d in book.deficits] == [("written_off", "0.00")]


async def test_an_operator_starts_one_on_a_sound_account_and_it_ends_cured(
    stack: LiquidationStack,
) -> None:
    await stack.borrow_and_spend("C1", "400000.00")
    started = await stack.liq.StartLiquidation(
        liquidation_pb2.StartLiquidationRequest(
            request_id="start-1", client_id="C1", reason="client in default elsewhere"
        ),
        metadata=OPERATOR,
    )
    assert started.liquidation_id == "liq-start-1"
    # U = 400,000 / 480,000 (83%): above the 80% target but under the call level, and nothing
    # sold yet: the engine's first step finds the account cured and ends it without a sale.
    liquidation = await stack.settled("C1")
    assert (liquidation.outcome, liquidation.trigger, liquidation.reason) == (
        "cured",
        "operator",
        "client in default elsewhere",
    )
    assert list(liquidation.fills) == []
    assert (await stack.loan("C1")).risk_state == "healthy"


async def test_bad_input_is_refused_and_writes_nothing(stack: LiquidationStack) -> None:
    await stack.borrow_and_spend("C1", "100000.00")
    before = await event_count(stack.store)
    cases = [
        (
            liquidation_pb2.StartLiquidationRequest(request_id=rid(), client_id="C1", reason=""),
            OPERATOR,
            grpc.StatusCode.INVALID_ARGUMENT,
            "StartLiquidation",
        ),
        (
            liquidation_pb2.StartLiquidationRequest(request_id=rid(), client_id="../x", reason="r"),
            OPERATOR,
            grpc.StatusCode.INVALID_ARGUMENT,
            "StartLiquidation",
        ),
        (
            liquidation_pb2.StartLiquidationRequest(request_id=rid(), client_id="C9", reason="r"),
            OPERATOR,
            grpc.StatusCode.NOT_FOUND,
            "StartLiquidation",
        ),
        (
            liquidation_pb2.StartLiquidationRequest(request_id=rid(), client_id="C1", reason="r"),
            PLATFORM,
            grpc.StatusCode.PERMISSION_DENIED,
            "StartLiquidation",
        ),
        (
            liquidation_pb2.ResumeLiquidationRequest(request_id=rid(), client_id="C1", reason="r"),
            OPERATOR,
            grpc.StatusCode.FAILED_PRECONDITION,
            "ResumeLiquidation",
        ),
        (
            liquidation_pb2.ResumeLiquidationRequest(
                request_id=rid(), client_id="C1", reason="r", floor_price="-1"
            ),
            OPERATOR,
            grpc.StatusCode.INVALID_ARGUMENT,
            "ResumeLiquidation",
        ),
        (
            liquidation_pb2.ProposeDeficitSettlementRequest(
                request_id=rid(),
                client_id="C1",
                proposal_id="P1",
                kind="recovery",
                amount=Amount(asset="HKD", value="1.00"),
                source="external",
            ),
            OPERATOR,
            grpc.StatusCode.FAILED_PRECONDITION,
            "ProposeDeficitSettlement",
        ),
        (
            liquidation_pb2.ApproveDeficitSettlementRequest(
                request_id=rid(), client_id="C1", proposal_id="nope"
            ),
            RISK,
            grpc.StatusCode.NOT_FOUND,
            "ApproveDeficitSettlement",
        ),
        (
            liquidation_pb2.GetLiquidationRequest(liquidation_id="liq-none"),
            RISK,
            grpc.StatusCode.NOT_FOUND,
            "GetLiquidation",
        ),
        (
            liquidation_pb2.ListLiquidationsRequest(state="dancing"),
            RISK,
            grpc.StatusCode.INVALID_ARGUMENT,
            "ListLiquidations",
        ),
    ]
    for request, caller, code, rpc in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await getattr(stack.liq, rpc)(request, metadata=caller)
        assert refused.value.code() == code, (rpc, refused.value.details())
        if code != grpc.StatusCode.PERMISSION_DENIED:
            assert details(refused.value)[0]  # a stable reason to act on
    assert await event_count(stack.store) == before


async def test_a_client_follows_its_own_liquidation_events(stack: LiquidationStack) -> None:
    await stack.borrow_and_spend("C1", "400000.00")
    await stack.borrow_and_spend("C2", "10000.00")
    await stack.price("BTC", "250000.00")
    await stack.price("0700.HK", "290.00")
    await stack.check("C1")
    await stack.settled("C1")
    stream = stack.liq.SubscribeLiquidationEvents(
        liquidation_pb2.SubscribeLiquidationEventsRequest(client_id="C1", idle_seconds=1),
        metadata=PLATFORM,
    )
    types = [reply.event.type async for reply in stream]
    assert types[0] == "LiquidationStarted" and "LiquidationCompleted" in types[-2:]
    assert set(types) <= LIQUIDATION_EVENTS | {"AdvancesResumed"}
    other = stack.liq.SubscribeLiquidationEvents(
        liquidation_pb2.SubscribeLiquidationEventsRequest(
            client_id="C2", idle_seconds=1, max_events=5
        ),
        metadata=PLATFORM,
    )
    assert [reply async for reply in other] == []  # scoped: nobody else's events


async def test_a_sale_whose_answer_was_lost_is_recovered_after_a_restart_not_sold_again(
    without_engine: LiquidationStack,
) -> None:
    stack = without_engine
    await crashed_account(stack, "C1")
    first, venues = engine_process(stack)
    for venue in venues:
        venue.timeout_next()  # every venue executes the order, then the answer is lost
    await stepped(stack, first)  # the orders were placed and sent
    state = [e.type for e in await stack.store.read_stream("account-C1")]
    assert "LiquidationOrderPlaced" in state and "LiquidationFillExecuted" not in state
    executed = [r for r in await venue_rows(stack) if r["fills"]]
    assert executed, "the venue sold before the answer was lost"
    # The process dies here (its engine and venue clients are dropped); a new one starts.
    second, _ = engine_process(stack)
    await second.settle_all()
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    assert history[-1] in ("LiquidationCompleted", "AdvancesResumed")
    await assert_sold_once(stack, "C1")
    account, _ = await second._handlers.account("C1")
    assert account.reserved.is_zero and account.liquidation is None


async def test_an_order_recorded_but_never_sent_is_tombstoned_then_sold_afresh(
    without_engine: LiquidationStack,
) -> None:
    stack = without_engine
    await crashed_account(stack, "C1")
    first, _ = engine_process(stack)
    # The process records its orders, then dies before any of them leaves it.
    account, version = await first._handlers.account("C1")
    assert account.liquidation is not None
    await first._handlers.handle(
        AdvanceLiquidation("C1", await first._quotes(account)),
        request_id=f"{account.liquidation.liquidation_id}:step:{version}",
        request={"rpc": "AdvanceLiquidation", "client_id": "C1", "version": str(version)},
        metadata={"actor": "liquidation-engine"},
    )
    account, _ = await first._handlers.account("C1")
    assert account.liquidation is not None and account.liquidation.orders
    lost = {o.order_id for o in account.liquidation.orders}
    assert account.reserved.get("BTC") > 0  # reserved while its fate is unknown
    second, _ = engine_process(stack)
    await second.settle_all()
    rows = {r["client_order_id"]: r for r in await venue_rows(stack)}
    assert all(rows[i]["status"] == "cancelled" and not rows[i]["fills"] for i in lost)
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    assert "LiquidationCompleted" in history
    await assert_sold_once(stack, "C1")


# 200 in the suite (about 25 s here); HARBOUR_CRASH_ACCOUNTS=1000 for the full book.
CRASH_ACCOUNTS = int(os.environ.get("HARBOUR_CRASH_ACCOUNTS", "200"))


async def open_book(stack: LiquidationStack, clients: int, seed: int = 11) -> dict[str, str]:
    """``clients`` borrowers with mixed collateral (shares, BTC, ETH in random amounts), each
    drawing 40-88% of its marginable value and spending it; returns client -> amount drawn."""
    rng = random.Random(seed)
    drawn: dict[str, str] = {}

    async def one(n: int) -> None:
        client = f"B{n:04d}"
        shares, btc, eth = rng.randint(200, 3000), rng.randint(1, 300), rng.randint(0, 2000)
        await stack.accounts.OnboardClient(
            accounts_pb2.OnboardClientRequest(
                request_id=rid(),
                client_id=client,
                securities_margin_account_id=f"SMA-{client}",
                credit_grade="A",
                credit_limit=Amount(asset="HKD", value="5000000.00"),
                margin_agreement_version="MA-2026",
                risk_disclosure_version="VARD-1",
            ),
            metadata=OPERATOR,
        )
        await approve_client_facts(stack.accounts, client)  # a second person approves the credit
        holdings = (
            ("0700.HK", str(shares)),
            ("BTC", f"{btc / 100:.2f}"),
            ("ETH", f"{eth / 100:.2f}"),
        )
        for code, quantity in holdings:
            if Decimal(quantity) > 0:
                await stack.accounts.DepositCollateral(
                    accounts_pb2.DepositCollateralRequest(
                        request_id=rid(),
                        client_id=client,
                        quantity=Amount(asset=code, value=quantity),
                        reference="custody",
                    ),
                    metadata=PLATFORM,
                )
        await stack.lending.ApproveFacility(
            lending_pb2.ApproveFacilityRequest(
                request_id=rid(),
                client_id=client,
                facility_id=f"F-{client}",
                credit_limit=Amount(asset="HKD", value="5000000.00"),
                # No interest: the clock jumps days ahead, and accruals would issue new calls
                # (with new deadlines) after the test's last check.
                annual_rate="0",
            ),
            metadata=RISK,
        )
        # CV: shares x 400 x 0.7, VA capped at that; draw a random share of it.
        non_va = Decimal(shares) * 400 * Decimal("0.7")
        va = Decimal(btc) / 100 * 500000 * Decimal("0.4") + Decimal(eth) / 100 * 20000 * Decimal(
            "0.35"
        )
        cv = non_va + min(va, non_va)
        amount = (cv * Decimal(rng.randint(40, 88)) / 100).quantize(Decimal("0.01"), "ROUND_DOWN")
        await stack.draw(client, str(amount))
        await stack.withdraw_cash(client, str(amount))
        drawn[client] = str(amount)

    for start in range(0, clients, 32):
        await asyncio.gather(*(one(n) for n in range(start, min(start + 32, clients))))
    return drawn


async def test_a_btc_crash_over_a_book_ends_each_account_healthy_liquidated_or_in_deficit(
    stack: LiquidationStack,
) -> None:
    await stack.policy(**{"price.jump_band": "0.90"})
    await stack.price("ETH", "20000.00")
    drawn = await open_book(stack, CRASH_ACCOUNTS)
    await caught_up(stack)
    await stack.price("BTC", "200000.00")  # -60%
    await stack.price("ETH", "9000.00")  # -55%
    await stack.price("0700.HK", "300.00")  # -25% at the last close
    clients = list(drawn)
    for start in range(0, len(clients), 32):  # the monitor may get there first: either way
        await asyncio.gather(*(stack.check(c) for c in clients[start : start + 32]))
    # Calls between 100% and 130% run to their deadline; then every account is checked.
    stack.clock.advance(timedelta(days=5))
    for start in range(0, len(clients), 32):
        await asyncio.gather(*(stack.check(c) for c in clients[start : start + 32]))
    # The liquidation service's engine (in its server) sells until nothing is left to do.
    deadline = asyncio.get_running_loop().time() + 600
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        # Nothing selling counts only once the read model holds every liquidation started so
        # far (the last checks may have started some the engine has not read yet).
        await caught_up(stack)
        running = 0
        for state in ("selling", "paused"):
            page = await stack.liq.ListLiquidations(
                liquidation_pb2.ListLiquidationsRequest(state=state), metadata=RISK
            )
            running += len(page.liquidations)
        if running == 0:
            break
    states: dict[str, int] = {}
    for client in drawn:
        state = (await stack.loan(client)).risk_state
        states[state] = states.get(state, 0) + 1
    assert set(states) <= {"healthy", "warning", "deficit"}, states
    async with stack.store.engine.connect() as conn:
        completed = await conn.scalar(
            sa.text("SELECT count(*) FROM liquidations WHERE state = 'completed'")
        )
    assert completed and states.get("deficit", 0) < len(drawn), states  # both ends reached
    assert await _trial_balance(stack.store) == []
    rows = await venue_rows(stack)
    ids = [(r["venue"], r["client_order_id"]) for r in rows]
    assert len(ids) == len(set(ids))
    executed = {f["fill_id"] for r in rows for f in r["fills"]}
    async with stack.store.engine.connect() as conn:
        recorded = [
            row[0]
            for row in await conn.execute(
                sa.text(
                    "SELECT data->>'fill_id' FROM event_documents "
                    "WHERE type = 'LiquidationFillExecuted'"
                )
            )
        ]
    assert len(recorded) == len(set(recorded)) and set(recorded) == executed
    assert (await verify_store(stack.store)).intact
    print(f"\n[crash] {len(drawn)} accounts -> {states}; {completed} liquidated to target")


async def test_the_loan_and_the_margin_calls_agree_while_liquidating(
    without_engine: LiquidationStack,
) -> None:
    stack = without_engine
    await crashed_account(stack, "C1")
    loan = await stack.loan("C1")
    assert loan.risk_state == "liquidating"
    assert loan.margin_call.state == "liquidating" and loan.margin_call.HasField("issued_at")
    runner = ProjectionRunner(stack.store, clock=stack.clock)
    for _ in range(100):  # the feed shows an event once every older transaction has ended
        await runner.catch_up(MarginCalls())
        calls = await stack.lending.ListMarginCalls(
            lending_pb2.ListMarginCallsRequest(), metadata=RISK
        )
        if calls.calls:
            break
        await asyncio.sleep(0.05)
    assert [(c.call_id, c.state) for c in calls.calls] == [
        (loan.margin_call.call_id, "liquidating")
    ]
    # The loan says when the call was decided, the read model when it was recorded: the
    # monitor may decide on one price tick and record after the test's next one.
    decided = loan.margin_call.issued_at.ToDatetime()
    recorded = calls.calls[0].issued_at.ToDatetime()
    assert abs((recorded - decided).total_seconds()) <= 5


async def test_waiting_for_the_read_models_gives_up_in_time_and_says_what_holds_them_back(
    without_engine: LiquidationStack,
) -> None:
    stack = without_engine
    async with stack.store.engine.connect() as holder:
        # A transaction with an xid, left open: every event written after it is not yet final.
        await holder.execute(sa.text("SELECT pg_current_xact_id()"))
        await asyncio.sleep(0.3)  # older than any short transaction of the servers' loops
        await stack.price("BTC", "500001.00")
        with pytest.raises(AssertionError) as gave_up:
            await caught_up(stack, within=0.3)
        await holder.rollback()
    said = str(gave_up.value)
    assert "did not catch up in 0.3 s" in said, said
    assert "short of it: " in said and "liquidations" in said, said
    assert "checkpoint (txid" in said and "not quarantined" in said, said
    assert "1 of them at or before the head" in said, said
    assert "oldest open transaction" in said and "pg_current_xact_id" in said, said
    await caught_up(stack)  # the transaction ended: the event is final and applied


async def test_one_account_that_cannot_be_loaded_does_not_stop_the_others(
    without_engine: LiquidationStack, database_url: str
) -> None:
    stack = without_engine
    await stack.borrow_and_spend("C2", "400000.00")
    await crashed_account(stack, "C1")
    await stack.check("C2")
    assert "LiquidationStarted" in [e.type for e in await stack.store.read_stream("account-C2")]
    insert_poison(database_url, "account-C2")  # C2's stream no longer decodes
    engine, _ = engine_process(stack)
    await engine.settle_all()  # raises nothing: C2 fails alone, round after round
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    assert "LiquidationCompleted" in history
    await assert_sold_once(stack, "C1")
