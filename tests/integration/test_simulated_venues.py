"""The simulated venues against the real PostgreSQL: books, fills, and their durable memory.

Book used throughout (unless a test says otherwise): BTC marked at 100,000 HKD, half spread
0.1%, three levels 0.1% apart, 1 BTC (100,000,000 minor units) each:

    level 1  99,900   level 2  99,800   level 3  99,700
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from harbour.liquidation.routing import plan_routes
from harbour.liquidation.venue import (
    OrderResult,
    OrderStatus,
    Quote,
    SellOrder,
    VenueFill,
    VenueUnavailable,
)
from harbour.liquidation.venue_schema import venue_orders
from harbour.liquidation.venues import (
    SimulatedVenue,
    VenueProfile,
    default_venues,
    draws_reject,
)
from harbour.runtime.database import create_engine

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
BTC = 100_000_000  # minor units in one BTC
MARKS = {"BTC": Decimal("100000"), "0700.HK": Decimal("400")}
PROFILE = VenueProfile(
    half_spread=Decimal("0.001"),
    levels=3,
    level_step=Decimal("0.001"),
    level_size={"BTC": BTC},
    default_level_size=1_000,
)


async def mark(asset: str) -> Decimal | None:
    return MARKS.get(asset)


def clock() -> datetime:
    return NOW


def venue(
    engine: AsyncEngine, name: str = "venue-x", profile: VenueProfile = PROFILE, seed: int = 1
) -> SimulatedVenue:
    return SimulatedVenue(name, engine=engine, mark=mark, clock=clock, profile=profile, seed=seed)


def sell(order_id: str, quantity: int, limit: str, asset: str = "BTC") -> SellOrder:
    return SellOrder(order_id, asset, quantity, Decimal(limit))


def book_fill(n: int, order_id: str, quantity: int, price: str) -> VenueFill:
    return VenueFill(f"venue-x-{order_id}-{n}", quantity, Decimal(price), "venue-x-book", NOW)


async def stored_rows(engine: AsyncEngine) -> list[sa.RowMapping]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.select(venue_orders))).mappings())


async def test_quote_is_the_top_bid_its_size_and_the_whole_depth(engine: AsyncEngine) -> None:
    x = venue(engine)
    assert await x.quote("BTC") == Quote(
        "venue-x", "BTC", Decimal("99900"), BTC, 3 * BTC, affiliated=False, quoted_at=NOW
    )
    assert await x.quote("ETH") is None  # no mark, no quote
    only_btc = venue(engine, profile=replace(PROFILE, assets=frozenset({"BTC"})))
    assert await only_btc.quote("0700.HK") is None
    assert (await x.quote("0700.HK")) == Quote(
        "venue-x", "0700.HK", Decimal("399.6"), 1_000, 3_000, False, NOW
    )


async def test_prices_are_rounded_down_to_eight_decimals(engine: AsyncEngine) -> None:
    async def odd_mark(asset: str) -> Decimal | None:
        return Decimal("12345.678901234")

    x = SimulatedVenue(
        "venue-x",
        engine=engine,
        mark=odd_mark,
        clock=clock,
        profile=replace(PROFILE, half_spread=Decimal("0.0015")),
        seed=1,
    )
    # 12345.678901234 x 0.9985 = 12327.160382882149 -> 12327.16038288 (never flattered)
    quote = await x.quote("BTC")
    assert quote is not None and quote.bid == Decimal("12327.16038288")


async def test_a_sell_fills_across_levels_exactly(engine: AsyncEngine) -> None:
    result = await venue(engine).sell(sell("o1", 2 * BTC + 50_000_000, "99000"))
    assert result == OrderResult(
        "o1",
        "venue-x",
        OrderStatus.FILLED,
        (
            book_fill(1, "o1", BTC, "99900"),
            book_fill(2, "o1", BTC, "99800"),
            book_fill(3, "o1", 50_000_000, "99700"),
        ),
    )
    assert result.filled_quantity == 2 * BTC + 50_000_000
    [row] = await stored_rows(engine)
    assert (row["venue"], row["client_order_id"], row["asset"]) == ("venue-x", "o1", "BTC")
    assert (row["quantity"], row["limit_price"]) == (250_000_000, Decimal("99000"))
    assert row["status"] == "filled"
    assert row["fills"][2] == {
        "fill_id": "venue-x-o1-3",
        "quantity": "50000000",
        "price": "99700.00000000",  # quoted to 8 decimals
        "counterparty": "venue-x-book",
        "executed_at": NOW.isoformat(),
    }


async def test_the_limit_stops_the_walk_down_the_book(engine: AsyncEngine) -> None:
    result = await venue(engine).sell(sell("o1", 5 * BTC, "99800"))
    assert result.status is OrderStatus.PARTIALLY_FILLED
    assert result.fills == (book_fill(1, "o1", BTC, "99900"), book_fill(2, "o1", BTC, "99800"))


async def test_a_limit_above_every_level_is_rejected(engine: AsyncEngine) -> None:
    x = venue(engine)
    result = await x.sell(sell("o1", BTC, "99900.00000001"))
    assert result.status is OrderStatus.REJECTED
    assert result.fills == ()
    assert "no bid at or above the limit 99900.00000001" in result.reason
    # The refusal is the order's answer for good: a repeat is refused the same way.
    assert await x.sell(sell("o1", BTC, "1")) == result


async def test_a_repeated_order_id_returns_the_first_result_and_trades_nothing_more(
    engine: AsyncEngine, database_url: str
) -> None:
    x = venue(engine)
    first = await x.sell(sell("o1", BTC + 1, "99000"))
    assert first.filled_quantity == BTC + 1
    # The same id with other content: the first result, nothing more traded.
    assert await x.sell(sell("o1", 3 * BTC, "1")) == first
    # A new process (own engine, own venue object) after a kill -9 of the first one.
    restarted_engine = create_engine(database_url, role="harbour_liquidation", pool_size=1)
    try:
        restarted = venue(restarted_engine)
        assert await restarted.sell(sell("o1", BTC + 1, "99000")) == first
        assert await restarted.cancel("o1") == first
    finally:
        await restarted_engine.dispose()
    assert len(await stored_rows(engine)) == 1


async def test_concurrent_repeats_of_one_order_trade_once(engine: AsyncEngine) -> None:
    venues = [venue(engine) for _ in range(8)]
    results = await asyncio.gather(*(v.sell(sell("o1", 2 * BTC, "99000")) for v in venues))
    assert len(set(results)) == 1
    assert results[0].filled_quantity == 2 * BTC
    assert len(await stored_rows(engine)) == 1


async def test_cancel_of_an_unknown_id_tombstones_it(engine: AsyncEngine) -> None:
    x = venue(engine)
    cancelled = await x.cancel("o1")
    assert cancelled == OrderResult(
        "o1", "venue-x", OrderStatus.CANCELLED, reason="cancelled before it traded"
    )
    late = await x.sell(sell("o1", BTC, "99000"))
    assert late == cancelled  # the late order trades nothing
    assert await x.cancel("o1") == cancelled
    [row] = await stored_rows(engine)
    assert row["asset"] is None and row["fills"] == []


async def test_order_ids_are_per_venue(engine: AsyncEngine) -> None:
    await venue(engine, "venue-x").cancel("o1")
    other = await venue(engine, "venue-y").sell(sell("o1", BTC, "99000"))
    assert other.status is OrderStatus.FILLED
    assert [f.fill_id for f in other.fills] == ["venue-y-o1-1"]


async def test_an_outage_answers_nothing_and_stores_nothing(engine: AsyncEngine) -> None:
    x = venue(engine)
    x.outage = True
    with pytest.raises(VenueUnavailable):
        await x.quote("BTC")
    with pytest.raises(VenueUnavailable):
        await x.sell(sell("o1", BTC, "99000"))
    with pytest.raises(VenueUnavailable):
        await x.cancel("o2")
    assert await stored_rows(engine) == []
    x.outage = False
    assert (await x.sell(sell("o1", BTC, "99000"))).status is OrderStatus.FILLED


async def test_a_time_out_after_execution_keeps_the_fills_for_the_next_ask(
    engine: AsyncEngine,
) -> None:
    x = venue(engine)
    x.timeout_next()
    with pytest.raises(VenueUnavailable, match="timed out"):
        await x.sell(sell("o1", 2 * BTC, "99000"))
    executed = await x.stored("o1")
    assert executed is not None and executed.status is OrderStatus.FILLED
    assert executed.fills == (
        book_fill(1, "o1", BTC, "99900"),
        book_fill(2, "o1", BTC, "99800"),
    )
    # The engine's recovery: asking again under the same id returns the fills, sells nothing.
    assert await x.cancel("o1") == executed
    assert await x.sell(sell("o1", 2 * BTC, "99000")) == executed
    assert len(await stored_rows(engine)) == 1


async def test_a_time_out_on_cancel_still_tombstones(engine: AsyncEngine) -> None:
    x = venue(engine)
    x.timeout_next()
    with pytest.raises(VenueUnavailable):
        await x.cancel("o1")
    assert (await x.sell(sell("o1", BTC, "99000"))).status is OrderStatus.CANCELLED


async def test_seeded_rejects_are_reproducible_per_order_id(engine: AsyncEngine) -> None:
    flaky = replace(PROFILE, reject_rate=0.5)
    ids = [f"o{n}" for n in range(40)]
    results = [await venue(engine, "flaky", flaky, seed=3).sell(sell(i, BTC, "1")) for i in ids]
    rejected = {r.client_order_id for r in results if r.status is OrderStatus.REJECTED}
    assert 0 < len(rejected) < len(ids)
    assert all("refused the order" in r.reason for r in results if r.client_order_id in rejected)
    # The draw is a function of seed, venue and id alone (not of the order of calls), so a
    # venue restarted with the same seed refuses the same ids; another venue draws otherwise.
    assert rejected == {i for i in ids if draws_reject(3, "flaky", i, 0.5)}
    assert rejected != {i for i in ids if draws_reject(3, "flaky-2", i, 0.5)}
    assert rejected != {i for i in ids if draws_reject(4, "flaky", i, 0.5)}


async def test_the_affiliated_maker_quotes_per_its_price_improvement(
    engine: AsyncEngine,
) -> None:
    better = replace(PROFILE, affiliated=True, price_improvement=Decimal("0.0005"))
    mm = venue(engine, "mm", better)
    assert mm.affiliated
    # 100,000 x (1 - 0.001 + 0.0005) = 99,950; the next level 0.1% lower.
    assert [level.price for level in await mm.book("BTC")] == [
        Decimal("99950"),
        Decimal("99850"),
        Decimal("99750"),
    ]
    quote = await mm.quote("BTC")
    assert quote is not None and quote.affiliated and quote.bid == Decimal("99950")
    result = await mm.sell(sell("o1", BTC, "99900"))
    assert result.fills == (VenueFill("mm-o1-1", BTC, Decimal("99950"), "mm", NOW),)
    worse = venue(engine, "mm-2", replace(better, price_improvement=Decimal("-0.0005")))
    quote = await worse.quote("BTC")
    assert quote is not None and quote.bid == Decimal("99850")


async def test_the_service_role_cannot_rewrite_a_venue_record(engine: AsyncEngine) -> None:
    await venue(engine).sell(sell("o1", BTC, "99000"))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with engine.begin() as conn:
            await conn.execute(sa.update(venue_orders).values(status="cancelled"))


async def test_default_venues_route_the_affiliated_maker_only_at_the_best_price(
    engine: AsyncEngine,
) -> None:
    venues = default_venues(engine, mark, clock)
    assert [(v.name, v.affiliated) for v in venues] == [
        ("venue-a", False),
        ("venue-b", False),
        ("venue-c", False),
        ("affiliated-mm", True),
    ]
    assert all(0 < v.profile.latency <= 0.01 for v in venues)
    quotes = [q for q in await asyncio.gather(*(v.quote("BTC") for v in venues)) if q]
    assert len(quotes) == 4
    routes = plan_routes(quotes, 10 * BTC, Decimal("95000"))
    # The maker (100,000 x 0.9987 = 99,870) beats venue-a (99,850): it goes first, limited to
    # venue-a's bid; 10 BTC is within the eligible depth, so all of it is routed.
    assert routes[0].venue == "affiliated-mm"
    assert routes[0].limit_price == Decimal("99850") == routes[0].best_independent_quote
    assert sum(r.quantity for r in routes) == 10 * BTC
    by_name = {v.name: v for v in venues}
    for route in routes:
        order = SellOrder(f"r-{route.venue}", "BTC", route.quantity, route.limit_price)
        result = await by_name[route.venue].sell(order)
        assert all(f.price >= route.limit_price for f in result.fills)


async def test_a_venue_whose_storage_is_unreachable_is_unavailable() -> None:
    # Nothing listens on port 1: whether the order was recorded is unknown to the caller.
    unreachable = create_engine("postgresql://nobody@127.0.0.1:1/nowhere", role=None)
    try:
        with pytest.raises(VenueUnavailable, match="did not answer"):
            await venue(unreachable).sell(sell("o1", BTC, "99000"))
        with pytest.raises(VenueUnavailable, match="did not answer"):
            await venue(unreachable).cancel("o1")
    finally:
        await unreachable.dispose()
