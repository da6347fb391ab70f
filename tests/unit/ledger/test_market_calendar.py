"""The market calendar: HKEX sessions, Hong Kong holidays and half days as data, recorded
closures, business days, and when a security's price is its market's last close."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from harbour.ledger import events as ev
from harbour.ledger.calendar import (
    AFTERNOON,
    CRYPTO,
    FULL_DAY,
    HKEX,
    MORNING,
    Closure,
    calendar_stream,
    calendar_with,
    evolve_calendar,
    hkex_calendar,
    market_of,
)

HKT = timezone(timedelta(hours=8))
CAL = hkex_calendar()


def hk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HKT)


def typhoon(day: date, sessions: str = FULL_DAY) -> Closure:
    return Closure(HKEX, day, "typhoon_signal_8", sessions, "ops")


# ------------------------------------------------------------------------------ the data


def test_the_data_holds_every_gazetted_general_holiday_of_three_years() -> None:
    by_year = Counter(day.year for day in CAL.holidays)
    assert by_year == {2025: 17, 2026: 17, 2027: 17}
    assert CAL.holiday(date(2026, 12, 25)) == "Christmas Day"
    assert CAL.holiday(date(2027, 2, 9)) == "The fourth day of Lunar New Year"  # 2nd day a Sunday
    assert CAL.holiday(date(2026, 4, 7)) == "The day following Easter Monday"
    assert CAL.covers(date(2025, 1, 1)) and CAL.covers(date(2027, 12, 31))
    assert not CAL.covers(date(2028, 1, 3))


def test_half_days_are_the_eves_on_weekdays_with_the_morning_session_only() -> None:
    assert sorted(CAL.half_days) == [
        date(2025, 1, 28),
        date(2025, 12, 24),
        date(2025, 12, 31),
        date(2026, 2, 16),
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2027, 2, 5),
        date(2027, 12, 24),
        date(2027, 12, 31),
    ]
    for day, half in CAL.half_days.items():
        assert day.weekday() < 5 and day not in CAL.holidays
        assert half.sessions == (MORNING,)


def test_which_market_an_asset_trades_on() -> None:
    assert market_of("0700.HK") == HKEX
    assert market_of("BTC") == market_of("ETH") == market_of("USDT") == CRYPTO
    assert market_of("HKD") is None and market_of("USD") is None
    assert market_of("AAPL.US") is None  # a market this calendar does not hold
    assert calendar_stream(HKEX) == "calendar-HKEX"


# ------------------------------------------------------------------------------ sessions


@pytest.mark.parametrize(
    ("instant", "open_"),
    [
        (hk(2026, 11, 25, 9, 29), False),  # Wednesday, before the open
        (hk(2026, 11, 25, 9, 30), True),
        (hk(2026, 11, 25, 11, 59), True),
        (hk(2026, 11, 25, 12, 0), False),  # lunch break
        (hk(2026, 11, 25, 13, 0), True),
        (hk(2026, 11, 25, 15, 59), True),
        (hk(2026, 11, 25, 16, 0), False),  # the close is exclusive
        (hk(2026, 11, 28, 10, 0), False),  # Saturday
        (hk(2026, 12, 25, 10, 0), False),  # Christmas Day
        (hk(2026, 12, 24, 10, 0), True),  # Christmas Eve: morning only
        (hk(2026, 12, 24, 14, 0), False),
        (hk(2026, 2, 18, 10, 0), False),  # Lunar New Year
    ],
)
def test_hkex_sessions(instant: datetime, open_: bool) -> None:
    assert CAL.is_open(HKEX, instant) is open_
    assert CAL.is_open(HKEX, instant.astimezone(UTC)) is open_  # the zone of the instant is moot


def test_the_crypto_market_never_closes() -> None:
    for instant in (hk(2026, 11, 29, 3, 0), hk(2026, 12, 25, 23, 59), hk(2031, 1, 1)):
        assert CAL.is_open(CRYPTO, instant)
        assert CAL.last_close(CRYPTO, instant) is None
    (window,) = CAL.trading_windows(CRYPTO, date(2026, 12, 25))
    assert window.closes - window.opens == timedelta(days=1)


@pytest.mark.parametrize(
    ("instant", "closed_at"),
    [
        (hk(2026, 11, 28, 10, 0), hk(2026, 11, 27, 16, 0)),  # Saturday: Friday's close
        (hk(2026, 11, 30, 9, 0), hk(2026, 11, 27, 16, 0)),  # Monday before the open
        (hk(2026, 11, 25, 12, 30), hk(2026, 11, 25, 12, 0)),  # lunch: the morning's close
        (hk(2026, 11, 25, 16, 0), hk(2026, 11, 25, 16, 0)),  # at the close itself
        (hk(2026, 11, 25, 10, 0), hk(2026, 11, 24, 16, 0)),  # open: the previous close
        (hk(2026, 12, 28, 9, 0), hk(2026, 12, 24, 12, 0)),  # after Christmas: the half day
        (hk(2026, 2, 20, 9, 0), hk(2026, 2, 16, 12, 0)),  # after Lunar New Year
    ],
)
def test_last_close(instant: datetime, closed_at: datetime) -> None:
    assert CAL.last_close(HKEX, instant) == closed_at.astimezone(UTC)


def test_a_naive_instant_is_a_bug() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.is_open(HKEX, datetime(2026, 11, 25, 10, 0))


# ------------------------------------------------------------------------------ business days


def test_business_days_skip_weekends_and_holidays_but_not_half_days() -> None:
    assert CAL.is_business_day(date(2026, 11, 27))  # Friday
    assert not CAL.is_business_day(date(2026, 11, 28))  # Saturday
    assert not CAL.is_business_day(date(2026, 5, 25))  # the day following Buddha's Birthday
    assert CAL.is_business_day(date(2026, 12, 24))  # Christmas Eve trades in the morning
    # Beyond the data the holidays are unknown: weekdays only (risk must not stop).
    assert CAL.is_business_day(date(2028, 1, 3))


def test_a_call_issued_the_friday_before_a_monday_holiday_is_due_tuesday() -> None:
    friday = hk(2026, 5, 22, 17, 30)
    assert CAL.business_days_after(friday, 1) == hk(2026, 5, 26, 17, 30).astimezone(UTC)
    # Over Lunar New Year 2026 (Tuesday to Thursday): Monday's eve + 1 = Friday.
    assert CAL.business_days_after(hk(2026, 2, 16, 11, 0), 1) == hk(2026, 2, 20, 11, 0)
    # A weekend counts from the next business day; three days skip the weekend.
    assert CAL.business_days_after(hk(2026, 11, 28, 10, 0), 1) == hk(2026, 11, 30, 10, 0)
    assert CAL.business_days_after(hk(2026, 11, 26, 10, 0), 3) == hk(2026, 12, 1, 10, 0)
    assert CAL.business_days_after(friday, 0) == friday


def test_a_recorded_typhoon_closure_is_not_a_business_day() -> None:
    tuesday = date(2026, 5, 26)
    closed = calendar_with([typhoon(tuesday)])
    assert not closed.is_business_day(tuesday)
    assert closed.trading_windows(HKEX, tuesday) == ()
    friday = hk(2026, 5, 22, 17, 30)
    # Monday is a holiday, Tuesday closed by the typhoon: due Wednesday.
    assert closed.business_days_after(friday, 1) == hk(2026, 5, 27, 17, 30)
    assert closed.last_close(HKEX, hk(2026, 5, 27, 9, 0)) == hk(2026, 5, 22, 16, 0)
    assert CAL.is_business_day(tuesday)  # the shipped calendar is unchanged


def test_a_morning_closure_shuts_the_morning_and_keeps_the_business_day() -> None:
    wednesday = date(2026, 11, 25)
    closed = calendar_with([Closure(HKEX, wednesday, "black_rainstorm", MORNING, "ops")])
    assert closed.is_business_day(wednesday)
    assert not closed.is_open(HKEX, hk(2026, 11, 25, 10, 0))
    assert closed.is_open(HKEX, hk(2026, 11, 25, 14, 0))
    assert [w.session for w in closed.trading_windows(HKEX, wednesday)] == [AFTERNOON]
    assert closed.last_close(HKEX, hk(2026, 11, 25, 12, 30)) == hk(2026, 11, 24, 16, 0)


def test_closures_fold_from_their_events_in_order() -> None:
    day = date(2026, 11, 25)
    calendar = CAL
    for event in (
        ev.MarketClosureRecorded(HKEX, day, "typhoon_signal_8", MORNING, "ops"),
        ev.PriceObserved("BTC", "HKD", Decimal(1), hk(2026, 11, 25), "feed"),  # not a closure
        ev.MarketClosureRecorded(HKEX, day, "typhoon_signal_8", AFTERNOON, "risk-desk"),
    ):
        calendar = evolve_calendar(calendar, event)
    assert [c.sessions for c in calendar.closures_between(day, day)] == [AFTERNOON, MORNING]
    assert calendar.trading_windows(HKEX, day) == ()
    assert calendar.is_business_day(day)  # each half shut apart: the market did open
    assert calendar.closures_between(day + timedelta(days=1), day + timedelta(days=9)) == []


# ------------------------------------------------------------------------------ last closes


def _seen(code: str, at: datetime) -> ev.PricePoint:
    return ev.PricePoint(code, "HKD", Decimal("400"), at.astimezone(UTC), "hkex")


WINDOW = timedelta(seconds=120)


def test_a_security_priced_at_the_close_is_valued_at_its_last_close_while_shut() -> None:
    saturday = hk(2026, 11, 28, 10, 0)
    assert CAL.valued_at_last_close(_seen("0700.HK", hk(2026, 11, 27, 16, 0)), saturday, WINDOW)
    # The closing auction's last print a minute before the close is still the close.
    assert CAL.valued_at_last_close(_seen("0700.HK", hk(2026, 11, 27, 15, 59)), saturday, WINDOW)
    # A feed that died at 11:00 on Friday is stale, whatever the market does now.
    assert not CAL.valued_at_last_close(_seen("0700.HK", hk(2026, 11, 27, 11, 0)), saturday, WINDOW)
    # Open market: an old price is just stale. A virtual asset never has a last close.
    assert not CAL.valued_at_last_close(
        _seen("0700.HK", hk(2026, 11, 27, 16, 0)), hk(2026, 11, 30, 10, 0), WINDOW
    )
    assert not CAL.valued_at_last_close(_seen("BTC", hk(2026, 11, 27, 16, 0)), saturday, WINDOW)
    assert not CAL.valued_at_last_close(_seen("AAPL.US", hk(2026, 11, 27, 16, 0)), saturday, WINDOW)
