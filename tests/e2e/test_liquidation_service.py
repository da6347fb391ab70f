"""Forced sales over gRPC: accounts, collateral, lending and liquidation servers on loopback,
one real PostgreSQL, the real in-process simulated venues, a manual clock shared by all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
import sqlalchemy as sa

from harbour.accounts.projections import TRIAL_BALANCE_SQL, Balances
from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    collateral_pb2_grpc,
    lending_pb2_grpc,
    liquidation_pb2,
    liquidation_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount
from harbour.commands import domain_event
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.liquidation.venue_schema import venue_orders
from harbour.runtime.projections import all_projections
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings
from tests.e2e.callers import OPERATOR, PLATFORM, RISK, ManualClock, event_count, rid
from tests.e2e.test_audit_service import details
from tests.e2e.test_lending_service import Stack

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
        await ProjectionRunner(self.store, clock=self.clock).catch_up(Balances())

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


@pytest.fixture
async def stack(settings: Settings, database: Database) -> AsyncIterator[LiquidationStack]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    runtime = Runtime(settings, database, store, clock)
    names = ("accounts", "collateral", "lending", "liquidation")
    servers = [await start_server(name, runtime, port=0, host="127.0.0.1") for name in names]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    stack = LiquidationStack(
        accounts_pb2_grpc.AccountsServiceStub(channels[0]),
        collateral_pb2_grpc.CollateralServiceStub(channels[1]),
        lending_pb2_grpc.LendingServiceStub(channels[2]),
        store,
        clock,
        liquidation_pb2_grpc.LiquidationServiceStub(channels[3]),
    )
    await stack.policy(**{"haircut.0700.HK": "0.30"})
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    yield stack
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(0)


async def _trial_balance(store: EventStore) -> list[tuple[str, Decimal]]:
    await ProjectionRunner(store, clock=lambda: datetime.now(UTC)).catch_up(Balances())
    async with store.engine.connect() as conn:
        return [(a, t) for a, t in (await conn.execute(sa.text(TRIAL_BALANCE_SQL))).all()]


async def test_a_crash_is_liquidated_to_the_target_with_best_execution(
    stack: LiquidationStack,
) -> None:
    # CV 480,000 (shares 280,000 + BTC 200,000), D 400,000. BTC -50% and the shares to 290:
    # non-VA 203,000 + VA 100,000 = 303,000: U 1.32 >= 130% -> call and forced sale at once.
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
    assert await _trial_balance(stack.store) == []
    assert (await verify_store(stack.store)).intact


async def test_nothing_left_to_sell_ends_in_deficit_then_write_off_and_close(
    stack: LiquidationStack,
) -> None:
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

    await ProjectionRunner(stack.store, clock=stack.clock).catch_up_together(all_projections())
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
    await ProjectionRunner(stack.store, clock=stack.clock).catch_up_together(all_projections())
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
