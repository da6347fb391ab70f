"""The market calendar and the price-feed watchdog through the collateral service: a real gRPC
server on loopback over a real PostgreSQL, with a clock the test moves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import grpc
import pytest

from harbour.api.v1 import collateral_pb2 as pb
from harbour.api.v1 import collateral_pb2_grpc
from harbour.api.v1.common_pb2 import Price
from harbour.application.market import market_calendar
from harbour.application.runner import CommandRunner
from harbour.collateral.handlers import CollateralHandlers, watch_price_feeds
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.runtime.server import RunningServer, Runtime, start_server
from harbour.runtime.settings import Settings
from tests.e2e.callers import FEED, OPERATOR, PLATFORM, RISK, ManualClock, at, event_count, rid
from tests.e2e.test_audit_service import details

HKT = timezone(timedelta(hours=8))
# Wednesday 25 November 2026, 08:00 in Hong Kong: a trading day, the market not yet open.
START = datetime(2026, 11, 25, 8, 0, tzinfo=HKT).astimezone(UTC)


@dataclass
class Stack:
    collateral: collateral_pb2_grpc.CollateralServiceStub
    server: RunningServer
    store: EventStore
    clock: ManualClock

    def replica(self) -> CollateralHandlers:
        """Another process's handlers on the same database (its own caches, no memory of
        what this process alerted)."""
        return CollateralHandlers(CommandRunner(self.store), clock=self.clock)

    async def types(self, stream: str) -> list[str]:
        return [e.type for e in await self.store.read_stream(stream)]


@pytest.fixture
async def stack(settings: Settings, database: Database) -> AsyncIterator[Stack]:
    clock = ManualClock(START)
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    server = await start_server(
        "collateral", Runtime(settings, database, store, clock), port=0, host="127.0.0.1"
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield Stack(collateral_pb2_grpc.CollateralServiceStub(channel), server, store, clock)
    await server.stop(0)


def closure(
    closed_on: str = "2026-11-25",
    sessions: str = "morning",
    *,
    market: str = "HKEX",
    reason: str = "typhoon_signal_8",
    request_id: str = "",
) -> pb.RecordMarketClosureRequest:
    return pb.RecordMarketClosureRequest(
        request_id=request_id or rid(),
        market=market,
        closed_on=closed_on,
        reason=reason,
        sessions=sessions,
    )


# ------------------------------------------------------------------------------ closures


async def test_a_typhoon_closure_is_recorded_once_and_shapes_the_calendar(stack: Stack) -> None:
    request = closure()
    first = await stack.collateral.RecordMarketClosure(request, metadata=OPERATOR)
    assert first.recorded
    assert first.result.stream_id == "calendar-HKEX" and first.result.stream_version == 1
    count = await event_count(stack.store)

    again = await stack.collateral.RecordMarketClosure(request, metadata=OPERATOR)
    assert again.recorded and again.result.replayed
    assert again.result.position == first.result.position
    # The same closure reported by the risk desk under its own request id adds nothing.
    same = await stack.collateral.RecordMarketClosure(closure(), metadata=RISK)
    assert not same.recorded and same.result.position == 0
    assert await event_count(stack.store) == count

    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stack.collateral.RecordMarketClosure(
            closure(sessions="full_day", request_id=request.request_id), metadata=OPERATOR
        )
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS

    (recorded,) = await stack.store.read_stream("calendar-HKEX")
    assert recorded.type == "MarketClosureRecorded"
    assert recorded.metadata["actor"] == "ops"
    assert recorded.data["recorded_by"] == "ops"

    calendar = await stack.collateral.GetMarketCalendar(
        pb.GetMarketCalendarRequest(market="HKEX", from_date="2026-11-24", to_date="2026-11-26"),
        metadata=PLATFORM,
    )
    assert [day.date for day in calendar.days] == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert [[s.name for s in day.sessions] for day in calendar.days] == [
        ["morning", "afternoon"],
        ["afternoon"],  # the morning closed by the typhoon
        ["morning", "afternoon"],
    ]
    afternoon = calendar.days[1].sessions[0]
    assert afternoon.opens.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 25, 13, tzinfo=HKT)
    assert all(day.business_day and day.holidays_known for day in calendar.days)
    assert [(c.closed_on, c.sessions, c.reason, c.recorded_by) for c in calendar.closures] == [
        ("2026-11-25", "morning", "typhoon_signal_8", "ops")
    ]

    # The signal stays up all day: the rest of the day closes, and the day is no business day
    # for a margin call's deadline, as a lending process reading the stream sees it.
    rest = await stack.collateral.RecordMarketClosure(closure(sessions="full_day"), metadata=RISK)
    assert rest.recorded and rest.result.stream_version == 2
    seen = await market_calendar(CommandRunner(stack.store))
    assert not seen.is_business_day(date(2026, 11, 25))
    tuesday = datetime(2026, 11, 24, 17, 30, tzinfo=HKT)
    assert seen.business_days_after(tuesday, 1) == datetime(2026, 11, 26, 17, 30, tzinfo=HKT)


async def test_the_calendar_shows_holidays_and_half_days(stack: Stack) -> None:
    christmas = await stack.collateral.GetMarketCalendar(
        pb.GetMarketCalendarRequest(market="HKEX", from_date="2026-12-24", to_date="2026-12-28"),
        metadata=RISK,
    )
    days = {day.date: day for day in christmas.days}
    assert days["2026-12-24"].half_day == "Christmas Eve" and days["2026-12-24"].business_day
    assert [s.name for s in days["2026-12-24"].sessions] == ["morning"]
    assert days["2026-12-25"].holiday == "Christmas Day" and not days["2026-12-25"].sessions
    assert not days["2026-12-26"].business_day and not days["2026-12-27"].business_day
    assert days["2026-12-28"].business_day and len(days["2026-12-28"].sessions) == 2
    crypto = await stack.collateral.GetMarketCalendar(
        pb.GetMarketCalendarRequest(market="CRYPTO", from_date="2026-12-25", to_date="2026-12-25"),
        metadata=RISK,
    )
    assert [s.name for s in crypto.days[0].sessions] == ["all_day"]
    beyond = await stack.collateral.GetMarketCalendar(
        pb.GetMarketCalendarRequest(market="HKEX", from_date="2028-01-03", to_date="2028-01-03"),
        metadata=RISK,
    )
    assert not beyond.days[0].holidays_known and beyond.days[0].business_day


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (closure(closed_on="2026-13-01"), "closed_on"),
        (closure(closed_on="2026-W48-3"), "closed_on"),  # a week date fromisoformat would take
        (closure(closed_on=""), "closed_on"),
        (closure(closed_on="2026-11-28"), "closed_on"),  # Saturday: nothing to close
        (closure(closed_on="2026-12-25"), "closed_on"),  # past the day after tomorrow
        (closure(market="CRYPTO"), "market"),
        (closure(market="hkex"), "market"),
        (closure(reason=""), "reason"),
        (closure(reason="rain"), "reason"),
        (closure(sessions="evening"), "sessions"),
        (closure(request_id="r" * 10_000), "request_id"),
    ],
)
async def test_a_malformed_closure_is_invalid_and_writes_nothing(
    stack: Stack, request_: pb.RecordMarketClosureRequest, field: str
) -> None:
    before = await event_count(stack.store)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.collateral.RecordMarketClosure(request_, metadata=OPERATOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(refused.value)[1] == [field]
    assert await event_count(stack.store) == before


async def test_only_operators_and_the_risk_desk_record_closures(stack: Stack) -> None:
    for caller in (PLATFORM, FEED):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.collateral.RecordMarketClosure(closure(), metadata=caller)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await event_count(stack.store) == 0


@pytest.mark.parametrize(
    ("from_date", "to_date", "field"),
    [
        ("2026-11-26", "2026-11-25", "to_date"),
        ("2026-01-01", "2027-01-03", "to_date"),  # more than 366 days
        ("20261125", "2026-11-25", "from_date"),
        ("0001-01-01", "0001-01-01", "from_date"),
    ],
)
async def test_a_malformed_calendar_range_is_invalid(
    stack: Stack, from_date: str, to_date: str, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.collateral.GetMarketCalendar(
            pb.GetMarketCalendarRequest(market="HKEX", from_date=from_date, to_date=to_date),
            metadata=RISK,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(refused.value)[1] == [field]


# ------------------------------------------------------------------------------ watchdog


async def record_btc(stack: Stack, value: str, observed: datetime) -> None:
    response = await stack.collateral.RecordPrice(
        pb.RecordPriceRequest(
            request_id=rid(),
            price=Price(base_asset="BTC", quote_asset="HKD", value=value),
            observed_at=at(observed),
            source="vendor-a",
        ),
        metadata=FEED,
    )
    assert response.accepted


async def alerts(stack: Stack) -> list[ev.PriceFeedStale]:
    found = []
    for recorded in await stack.store.read_stream("price-BTC"):
        if recorded.type == "PriceFeedStale":
            event = ev.decode(recorded.type, recorded.schema_version, recorded.data)
            assert isinstance(event, ev.PriceFeedStale)
            assert recorded.metadata["actor"] == "price-feed-watchdog"
            found.append(event)
    return found


async def test_a_silent_feed_raises_one_alert_per_episode_whatever_the_replicas(
    stack: Stack,
) -> None:
    names = [status.name for status in stack.server.supervisor.statuses()]  # type: ignore[union-attr]
    assert names == ["price-feed-watchdog"]  # the service runs it in the background
    seen = stack.clock.now - timedelta(seconds=10)
    await record_btc(stack, "600000.00", seen)
    first, second = stack.replica(), stack.replica()
    assert await first.alert_stale_feeds() == []  # fresh

    stack.clock.advance(timedelta(seconds=200))  # silent for 210 s against a 120 s window
    written = await first.alert_stale_feeds()
    expected = ev.PriceFeedStale("BTC", seen, stack.clock.now, 210)
    # This replica or the service's own watchdog alerted first; either way, exactly once.
    assert written in ([expected], [])
    assert await alerts(stack) == [expected]
    assert await first.alert_stale_feeds() == []
    assert await second.alert_stale_feeds() == []  # another replica, or a restart
    stack.clock.advance(timedelta(seconds=60))
    assert await second.alert_stale_feeds() == []  # the same episode, only older
    assert await alerts(stack) == [expected]

    # The feed recovers (the first price after the gap re-anchors), then falls silent again:
    # a new episode, a new alert — raised here by the loop the service runs.
    await record_btc(stack, "590000.00", stack.clock.now - timedelta(seconds=1))
    assert await first.alert_stale_feeds() == []
    recovered = stack.clock.now - timedelta(seconds=1)
    stack.clock.advance(timedelta(seconds=300))
    loop = asyncio.create_task(watch_price_feeds(stack.replica(), interval=0.01))
    try:
        for _ in range(500):
            if len(await alerts(stack)) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert await alerts(stack) == [
        expected,
        ev.PriceFeedStale("BTC", recovered, stack.clock.now, 301),
    ]
    assert await stack.types("price-BTC") == [
        "PriceObserved",
        "PriceFeedStale",
        "PriceObserved",
        "PriceFeedStale",
    ]
