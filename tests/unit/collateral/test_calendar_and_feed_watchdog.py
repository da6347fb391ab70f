"""Market closures and the price-feed watchdog as given/when/then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from harbour.collateral.domain import (
    CalendarContext,
    PriceContext,
    RecordMarketClosure,
    decide_closure,
    decide_feed_staleness,
)
from harbour.ledger import events as ev
from harbour.ledger.calendar import (
    AFTERNOON,
    FULL_DAY,
    HKEX,
    MORNING,
    MarketCalendar,
    evolve_calendar,
    hkex_calendar,
)
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.policy import DEFAULT_POLICY
from harbour.ledger.prices import PriceTrack, evolve_price

HKT = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 7, 0, tzinfo=HKT).astimezone(UTC)  # Wednesday 07:00 in HK
TODAY = date(2026, 11, 25)


def closure(
    day: date = TODAY, sessions: str = FULL_DAY, reason: str = "typhoon_signal_8"
) -> RecordMarketClosure:
    return RecordMarketClosure(HKEX, day, reason, sessions)


def record(calendar: MarketCalendar, command: RecordMarketClosure) -> list[ev.Event]:
    return decide_closure(calendar, command, CalendarContext(NOW, "ops"))


def given(*events: ev.Event) -> MarketCalendar:
    calendar = hkex_calendar()
    for event in events:
        calendar = evolve_calendar(calendar, event)
    return calendar


# ------------------------------------------------------------------------------ closures


def test_a_typhoon_closure_is_recorded_with_who_recorded_it() -> None:
    assert record(given(), closure()) == [
        ev.MarketClosureRecorded(HKEX, TODAY, "typhoon_signal_8", FULL_DAY, "ops")
    ]
    # Announced the evening before, or recorded late within a week.
    assert record(given(), closure(TODAY + timedelta(days=1)))
    assert record(given(), closure(TODAY - timedelta(days=7), reason="black_rainstorm"))


def test_a_closure_already_recorded_records_nothing() -> None:
    full = ev.MarketClosureRecorded(HKEX, TODAY, "typhoon_signal_8", FULL_DAY, "ops")
    assert record(given(full), closure()) == []
    assert record(given(full), closure(sessions=MORNING)) == []
    morning = ev.MarketClosureRecorded(HKEX, TODAY, "black_rainstorm", MORNING, "ops")
    assert record(given(morning), closure(sessions=MORNING)) == []
    # The signal stayed up: the afternoon (or the rest of the day) is new.
    assert record(given(morning), closure(sessions=AFTERNOON))
    assert record(given(morning), closure(sessions=FULL_DAY))
    # Christmas Eve has no afternoon session to close.
    eve = datetime(2026, 12, 24, 7, 0, tzinfo=HKT)
    context = CalendarContext(eve, "ops")
    assert decide_closure(given(), closure(date(2026, 12, 24), AFTERNOON), context) == []
    assert decide_closure(given(), closure(date(2026, 12, 24), MORNING), context)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (RecordMarketClosure("CRYPTO", TODAY, "typhoon_signal_8", FULL_DAY), "market"),
        (RecordMarketClosure("NYSE", TODAY, "typhoon_signal_8", FULL_DAY), "market"),
        (closure(reason="lunch"), "reason"),
        (closure(sessions="evening"), "sessions"),
        (closure(date(2026, 11, 28)), "closed_on"),  # a Saturday: nothing trades
        (closure(TODAY + timedelta(days=2)), "closed_on"),  # too early to know
        (closure(TODAY - timedelta(days=8)), "closed_on"),  # too late to record
    ],
)
def test_a_malformed_closure_is_invalid(command: RecordMarketClosure, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        record(given(), command)
    assert refused.value.violations[0].field == field


def test_a_general_holiday_cannot_be_closed() -> None:
    christmas = CalendarContext(datetime(2026, 12, 25, 9, 0, tzinfo=HKT), "ops")
    with pytest.raises(InvalidArgument, match="not a trading day"):
        decide_closure(given(), closure(date(2026, 12, 25)), christmas)


# ------------------------------------------------------------------------------ watchdog


def feed(code: str, *observed: datetime) -> PriceTrack:
    state = PriceTrack(code)
    for at in observed:
        state = evolve_price(state, ev.PriceObserved(code, "HKD", Decimal("600000"), at, "feed"))
    return state


def test_a_silent_virtual_asset_feed_raises_an_alert_with_its_age() -> None:
    context = PriceContext(NOW, DEFAULT_POLICY)
    last = NOW - timedelta(seconds=121, microseconds=500_000)
    assert decide_feed_staleness(feed("BTC", last), context) == [
        ev.PriceFeedStale("BTC", last, NOW, 121)
    ]
    # Exactly at the window is still fresh (stale means older than it).
    assert decide_feed_staleness(feed("BTC", NOW - timedelta(seconds=120)), context) == []


def test_fx_rates_of_cash_currencies_are_watched_like_virtual_assets() -> None:
    context = PriceContext(NOW, DEFAULT_POLICY)
    old = NOW - timedelta(hours=3)
    for code in ("USD", "USDT"):
        assert decide_feed_staleness(feed(code, old), context) == [
            ev.PriceFeedStale(code, old, NOW, 3 * 3600)
        ]
    assert decide_feed_staleness(feed("USD", NOW - timedelta(seconds=30)), context) == []


def test_only_eligible_virtual_assets_that_were_priced_are_watched() -> None:
    context = PriceContext(NOW, DEFAULT_POLICY)
    old = NOW - timedelta(hours=3)
    assert decide_feed_staleness(feed("0700.HK", old), context) == []  # HKEX closes daily
    assert decide_feed_staleness(feed("GOLD", old), context) == []  # neither collateral nor cash
    assert decide_feed_staleness(feed("ETH"), context) == []  # never priced: nothing to age
    assert decide_feed_staleness(feed("ETH", old), context)
