"""Best execution across venues and the affiliated maker's safeguard (harbour.liquidation.routing).

The books below are worked by hand: quantities are BTC minor units, prices HKD per BTC.
"""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harbour.liquidation import routing
from harbour.liquidation.routing import Route, accept_fill, plan_routes
from harbour.liquidation.venue import Quote, VenueFill

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
FLOOR = Decimal("95")


def quote(
    venue: str, bid: str, size: int, depth: int, *, affiliated: bool = False, asset: str = "BTC"
) -> Quote:
    return Quote(venue, asset, Decimal(bid), size, depth, affiliated, NOW)


def fill(price: str, quantity: int = 1) -> VenueFill:
    return VenueFill("f-1", quantity, Decimal(price), "venue-a-book", NOW)


def test_best_bids_first_then_deeper_depth() -> None:
    # Top sizes in bid order: A 10 @100, B 5 @99 (15); then depth: A 20 more (35), B 5 (40).
    quotes = [quote("venue-b", "99", 5, 20), quote("venue-a", "100", 10, 30)]
    assert plan_routes(quotes, 40, FLOOR) == [
        Route("venue-a", False, 30, FLOOR, Decimal("100"), Decimal("100")),
        Route("venue-b", False, 10, FLOOR, Decimal("99"), Decimal("100")),
    ]


def test_top_sizes_of_every_venue_before_anyones_depth() -> None:
    # 12: A's top 10, then B's top 2; A's deeper levels (below 100) wait behind B's 99.
    quotes = [quote("venue-a", "100", 10, 30), quote("venue-b", "99", 5, 20)]
    routes = plan_routes(quotes, 12, FLOOR)
    assert [(r.venue, r.quantity) for r in routes] == [("venue-a", 10), ("venue-b", 2)]


def test_quotes_below_the_floor_are_ignored() -> None:
    quotes = [quote("venue-a", "100", 10, 10), quote("venue-c", "94.99", 100, 100)]
    routes = plan_routes(quotes, 50, FLOOR)
    assert [(r.venue, r.quantity) for r in routes] == [("venue-a", 10)]


def test_short_depth_routes_what_it_can() -> None:
    quotes = [quote("venue-a", "100", 10, 25), quote("venue-b", "98", 4, 4)]
    assert sum(r.quantity for r in plan_routes(quotes, 1_000, FLOOR)) == 29


def test_affiliated_maker_at_a_better_bid_takes_its_top_size_at_the_independent_price() -> None:
    # The maker bids 100.5 > best independent 100: it gets its top 8, with a limit of 100 so
    # it can never fill below the best independent quote; A takes the other 4.
    quotes = [quote("venue-a", "100", 10, 30), quote("mm", "100.5", 8, 24, affiliated=True)]
    assert plan_routes(quotes, 12, FLOOR) == [
        Route("mm", True, 8, Decimal("100"), Decimal("100.5"), Decimal("100")),
        Route("venue-a", False, 4, FLOOR, Decimal("100"), Decimal("100")),
    ]


def test_affiliated_maker_below_the_best_independent_bid_gets_nothing() -> None:
    quotes = [quote("venue-a", "100", 10, 30), quote("mm", "99.99", 100, 100, affiliated=True)]
    routes = plan_routes(quotes, 50, FLOOR)
    assert [(r.venue, r.quantity) for r in routes] == [("venue-a", 30)]


def test_at_an_equal_bid_the_independent_venue_goes_first() -> None:
    quotes = [quote("mm", "100", 10, 10, affiliated=True), quote("venue-a", "100", 10, 10)]
    routes = plan_routes(quotes, 5, FLOOR)
    assert [(r.venue, r.quantity) for r in routes] == [("venue-a", 5)]
    both = plan_routes(quotes, 15, FLOOR)
    assert [(r.venue, r.quantity, r.limit_price) for r in both] == [
        ("venue-a", 10, FLOOR),
        ("mm", 5, Decimal("100")),
    ]


def test_affiliated_maker_deeper_levels_come_after_every_independent_depth() -> None:
    # Tops: mm 5 @101, A 10 @100 (15); independents' depth: A 20 (35); mm's depth: 10 (45).
    quotes = [quote("venue-a", "100", 10, 30), quote("mm", "101", 5, 15, affiliated=True)]
    assert [(r.venue, r.quantity) for r in plan_routes(quotes, 30, FLOOR)] == [
        ("mm", 5),
        ("venue-a", 25),
    ]
    assert [(r.venue, r.quantity) for r in plan_routes(quotes, 45, FLOOR)] == [
        ("mm", 15),
        ("venue-a", 30),
    ]


def test_no_independent_quote_means_no_sale() -> None:
    assert plan_routes([quote("mm", "120", 10, 10, affiliated=True)], 5, FLOOR) == []
    # An independent venue with nothing to take is no reference price either.
    quotes = [quote("venue-a", "100", 0, 0), quote("mm", "120", 10, 10, affiliated=True)]
    assert plan_routes(quotes, 5, FLOOR) == []


def test_affiliated_maker_above_the_floor_when_every_independent_is_below_it() -> None:
    # The market pays 94 (below the floor of 95); the maker pays 96: better for the client than
    # the independent evidence, so it may trade, never below the floor.
    quotes = [quote("venue-a", "94", 10, 10), quote("mm", "96", 10, 10, affiliated=True)]
    assert plan_routes(quotes, 5, FLOOR) == [
        Route("mm", True, 5, FLOOR, Decimal("96"), Decimal("94"))
    ]


def test_nothing_to_sell_routes_nothing() -> None:
    assert plan_routes([quote("venue-a", "100", 10, 10)], 0, FLOOR) == []
    assert plan_routes([], 10, FLOOR) == []


def test_quotes_of_different_assets_or_twice_one_venue_are_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="more than one asset"):
        plan_routes([quote("a", "1", 1, 1), quote("b", "1", 1, 1, asset="ETH")], 1, FLOOR)
    with pytest.raises(ValueError, match="more than one quote"):
        plan_routes([quote("a", "100", 1, 1), quote("a", "101", 1, 1)], 1, FLOOR)


AFFILIATED = Route("mm", True, 10, Decimal("100"), Decimal("100.5"), Decimal("100"))
INDEPENDENT = Route("venue-a", False, 10, FLOOR, Decimal("100"), Decimal("100"))


def test_accept_fill_honouring_the_route() -> None:
    assert accept_fill(AFFILIATED, fill("100", 10)) is None
    assert accept_fill(INDEPENDENT, fill("95", 3)) is None


def test_accept_fill_refuses_an_affiliated_fill_below_the_best_independent_quote() -> None:
    # Even if its limit had been set wrongly at the floor, the affiliated check still holds.
    loose = Route("mm", True, 10, FLOOR, Decimal("100.5"), Decimal("100"))
    for route in (AFFILIATED, loose):
        reason = accept_fill(route, fill("99.99999999"))
        assert reason is not None
        assert "below the best independent quote 100" in reason


def test_accept_fill_refuses_a_fill_below_the_limit_or_beyond_the_route() -> None:
    below = accept_fill(INDEPENDENT, fill("94.99"))
    assert below is not None and "below the route's limit 95" in below
    beyond = accept_fill(INDEPENDENT, fill("100", 11))
    assert beyond is not None and "exceeds the 10 routed" in beyond
    empty = accept_fill(INDEPENDENT, fill("100", 0))
    assert empty is not None and "no quantity" in empty


# --- properties -----------------------------------------------------------------------------

prices = st.decimals(min_value=Decimal("90"), max_value=Decimal("110"), places=2)


@st.composite
def quote_sets(draw: st.DrawFn) -> list[Quote]:
    count = draw(st.integers(min_value=0, max_value=6))
    quotes = []
    for n in range(count):
        size = draw(st.integers(min_value=0, max_value=50))
        depth = size + draw(st.integers(min_value=0, max_value=100))
        quotes.append(Quote(f"v{n}", "BTC", draw(prices), size, depth, draw(st.booleans()), NOW))
    return quotes


@settings(max_examples=500, deadline=None)
@given(
    quotes=quote_sets(),
    quantity=st.integers(min_value=0, max_value=400),
    floor=prices,
)
def test_routes_honour_the_floor_the_depths_and_the_affiliated_safeguard(
    quotes: list[Quote], quantity: int, floor: Decimal
) -> None:
    routes = plan_routes(quotes, quantity, floor)
    live = [q for q in quotes if q.depth > 0 and q.size > 0]
    independent_bids = [q.bid for q in live if not q.affiliated]
    if not independent_bids:
        assert routes == []
        return
    best_independent = max(independent_bids)
    eligible = {
        q.venue: q
        for q in live
        if q.bid >= floor and (not q.affiliated or q.bid >= best_independent)
    }
    routed = sum(r.quantity for r in routes)
    assert routed <= quantity
    assert routed == min(quantity, sum(q.depth for q in eligible.values()))
    assert len({r.venue for r in routes}) == len(routes)
    assert [r.quote for r in routes] == sorted((r.quote for r in routes), reverse=True)
    for route in routes:
        source = eligible[route.venue]  # KeyError: an ineligible venue was routed
        assert 0 < route.quantity <= source.depth
        assert route.quote == source.bid >= floor
        assert route.limit_price >= floor
        assert route.best_independent_quote == best_independent
        if route.affiliated:
            assert route.quote >= best_independent
            assert route.limit_price >= best_independent
            # Any fill it could get below the best independent quote is refused.
            cheaper = best_independent - Decimal("0.00000001")
            assert accept_fill(route, VenueFill("f", 1, cheaper, "mm", NOW)) is not None
        assert accept_fill(route, VenueFill("f", 1, route.limit_price, "x", NOW)) is None


def test_routing_is_pure_it_imports_the_port_and_the_standard_library_only() -> None:
    # The safeguard must be checkable without a venue, a database or a clock.
    tree = ast.parse(Path(routing.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    foreign = {
        name
        for name in imported
        if name and name.split(".")[0] not in sys.stdlib_module_names | {"__future__"}
    }
    assert foreign == {"harbour.liquidation.venue"}
