"""Market sessions and Hong Kong business days, held as data (docs/domain.md).

Risk never sleeps, but markets do: the HKEX securities market trades 09:30-12:00 and
13:00-16:00 Hong Kong time on business days, while virtual assets trade around the clock.
A closed market's securities are valued at their last close (that is not a stale feed), and
margin-call deadlines count Hong Kong business days. Both need the same calendar:

- the data (``data/hkex_calendar.json``, shipped in the package): the sessions, the general
  holidays gazetted for each covered year and the half days (the eves of Christmas, New Year
  and Lunar New Year, when HKEX has no afternoon session);
- extraordinary closures (typhoon signal 8, black rainstorm), which no one can know in
  advance: recorded as ``MarketClosureRecorded`` events on stream ``calendar-HKEX`` and folded
  in by :func:`evolve_calendar`.

A business day is a Monday to Friday that is not a general holiday and on which no full-day
closure was recorded; a half day or a closure of one session is still a business day (the
market opened). Outside the years the data covers, the holidays are not known: the calendar
then counts weekdays only (documented fallback, see :meth:`MarketCalendar.covers`), since a
risk check must never stop for want of a calendar.

Pure: the one read is of the package's own data file (:func:`hkex_calendar`), cached; time is
always an argument.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any

from harbour.ledger import events as ev
from harbour.ledger.assets import AssetKind, asset

HKEX = "HKEX"  # the Hong Kong securities market
CRYPTO = "CRYPTO"  # virtual-asset venues: 24 hours a day, 7 days a week
MARKETS = (HKEX, CRYPTO)
HK_SECURITY_SUFFIX = ".HK"

CALENDAR_STREAM_PREFIX = "calendar-"

# Which sessions an extraordinary closure shuts.
FULL_DAY, MORNING, AFTERNOON = "full_day", "morning", "afternoon"
CLOSURE_SESSIONS = (FULL_DAY, MORNING, AFTERNOON)
# Why a market closed when it should have traded (a closed list: reports group by it).
CLOSURE_REASONS = ("typhoon_signal_8", "black_rainstorm", "extreme_conditions", "other")

# How far back ``last_close`` looks for a session: longer than any run of holidays and
# closures the market has had (Lunar New Year with a weekend is five days).
LAST_CLOSE_LOOKBACK_DAYS = 31
_DATA_FILE = "hkex_calendar.json"
_ONE_DAY = timedelta(days=1)


def calendar_stream(market: str) -> str:
    return f"{CALENDAR_STREAM_PREFIX}{market}"


def market_of(code: str) -> str | None:
    """The market an asset trades on: a ``.HK`` security on HKEX, a virtual asset or a
    stablecoin on the 24/7 crypto venues; fiat (and a security of a market this calendar does
    not hold) on none."""
    kind = asset(code).kind
    if kind is AssetKind.SECURITY:
        return HKEX if code.endswith(HK_SECURITY_SUFFIX) else None
    if kind in (AssetKind.VIRTUAL, AssetKind.STABLECOIN):
        return CRYPTO
    return None


@dataclass(frozen=True)
class Session:
    """A regular trading session, in Hong Kong time."""

    name: str  # "morning" | "afternoon"
    opens: time
    closes: time


@dataclass(frozen=True)
class HalfDay:
    day: date
    name: str  # e.g. "Christmas Eve"
    sessions: tuple[str, ...]  # the sessions that still trade, e.g. ("morning",)


@dataclass(frozen=True)
class Closure:
    """An extraordinary closure, as recorded (``MarketClosureRecorded``)."""

    market: str
    closed_on: date
    reason: str
    sessions: str  # FULL_DAY | MORNING | AFTERNOON
    recorded_by: str

    def shuts(self, session: str) -> bool:
        return self.sessions in (FULL_DAY, session)


@dataclass(frozen=True)
class TradingWindow:
    """One session on one day, as aware UTC instants: open from ``opens`` (inclusive) to
    ``closes`` (exclusive)."""

    market: str
    session: str
    opens: datetime
    closes: datetime


@dataclass(frozen=True)
class MarketCalendar:
    """Sessions, holidays, half days and recorded closures. Immutable: a recorded closure
    gives a new calendar (:meth:`with_closure`)."""

    utc_offset: timedelta
    covers_from: date
    covers_to: date
    business_weekdays: frozenset[int]  # Monday 0 .. Sunday 6
    sessions: tuple[Session, ...]  # HKEX's regular sessions, in order
    holidays: Mapping[date, str] = field(default_factory=dict)
    half_days: Mapping[date, HalfDay] = field(default_factory=dict)
    closures: tuple[Closure, ...] = ()

    # ------------------------------------------------------------------------ days

    @property
    def zone(self) -> timezone:
        return timezone(self.utc_offset)

    def local_date(self, instant: datetime) -> date:
        """The Hong Kong date of an aware instant."""
        return _aware(instant).astimezone(self.zone).date()

    def covers(self, day: date) -> bool:
        """Whether the holidays of ``day``'s year are in the data (else weekdays only)."""
        return self.covers_from <= day <= self.covers_to

    def holiday(self, day: date) -> str | None:
        return self.holidays.get(day)

    def closures_on(self, day: date, market: str = HKEX) -> tuple[Closure, ...]:
        return tuple(c for c in self.closures if c.closed_on == day and c.market == market)

    def is_business_day(self, day: date) -> bool:
        """A Hong Kong business day: a weekday, not a general holiday, not closed all day."""
        if day.weekday() not in self.business_weekdays or day in self.holidays:
            return False
        return not any(c.sessions == FULL_DAY for c in self.closures_on(day))

    def business_days_after(self, instant: datetime, days: int) -> datetime:
        """``days`` business days after ``instant``, at the same Hong Kong time of day, in UTC.

        A day counts when it is a business day; so an instant on a weekend or holiday counts
        from the next business day (Saturday + 1 = Monday; Friday + 1 with a Monday holiday
        = Tuesday)."""
        if days < 0:
            raise ValueError(f"business days must not be negative, got {days}")
        local = _aware(instant).astimezone(self.zone)
        counted = 0
        while counted < days:
            local += _ONE_DAY
            if self.is_business_day(local.date()):
                counted += 1
        return local.astimezone(UTC)

    # ------------------------------------------------------------------------ sessions

    def trading_windows(self, market: str, day: date) -> tuple[TradingWindow, ...]:
        """The sessions ``market`` trades on the Hong Kong date ``day``, after holidays, half
        days and recorded closures. The crypto market's one window is the whole day."""
        zone = self.zone
        start = datetime.combine(day, time(0), tzinfo=zone)
        if market == CRYPTO:
            return (TradingWindow(market, "all_day", _utc(start), _utc(start + _ONE_DAY)),)
        if market != HKEX:
            raise ValueError(f"unknown market {market!r}; expected one of {', '.join(MARKETS)}")
        if day.weekday() not in self.business_weekdays or day in self.holidays:
            return ()
        half = self.half_days.get(day)
        closures = self.closures_on(day, market)
        return tuple(
            TradingWindow(
                market,
                session.name,
                _utc(datetime.combine(day, session.opens, tzinfo=zone)),
                _utc(datetime.combine(day, session.closes, tzinfo=zone)),
            )
            for session in self.sessions
            if (half is None or session.name in half.sessions)
            and not any(c.shuts(session.name) for c in closures)
        )

    def is_open(self, market: str, instant: datetime) -> bool:
        """Whether ``market`` trades at ``instant`` (a market of no calendar never does)."""
        if market == CRYPTO:
            return True
        moment = _aware(instant)
        return any(
            w.opens <= moment < w.closes
            for w in self.trading_windows(market, self.local_date(moment))
        )

    def last_close(self, market: str, instant: datetime) -> datetime | None:
        """The latest session close at or before ``instant`` (the lunch break counts: the
        morning session closes at 12:00). None for the crypto market, which never closes,
        and when no session closed within ``LAST_CLOSE_LOOKBACK_DAYS``."""
        if market == CRYPTO:
            return None
        moment = _aware(instant)
        day = self.local_date(moment)
        for _ in range(LAST_CLOSE_LOOKBACK_DAYS + 1):
            for window in reversed(self.trading_windows(market, day)):
                if window.closes <= moment:
                    return window.closes
            day -= _ONE_DAY
        return None

    def valued_at_last_close(
        self, point: ev.PricePoint, instant: datetime, staleness: timedelta
    ) -> bool:
        """Whether a price is its market's last close at ``instant``: the market is shut and
        the price was fresh (within ``staleness``) when the market last closed. Such a price
        is not a broken feed; a security whose feed died before the close is still stale."""
        market = market_of(point.base_asset)
        if market is None or market == CRYPTO or self.is_open(market, instant):
            return False
        closed = self.last_close(market, instant)
        return closed is not None and point.observed_at >= closed - staleness

    # ------------------------------------------------------------------------ closures

    def with_closure(self, closure: Closure) -> MarketCalendar:
        return replace(self, closures=(*self.closures, closure))

    def closures_between(self, first: date, last: date, market: str = HKEX) -> list[Closure]:
        return sorted(
            (c for c in self.closures if c.market == market and first <= c.closed_on <= last),
            key=lambda c: (c.closed_on, c.sessions),
        )

    def holidays_between(self, first: date, last: date) -> list[tuple[date, str]]:
        return sorted((d, name) for d, name in self.holidays.items() if first <= d <= last)

    def half_days_between(self, first: date, last: date) -> list[HalfDay]:
        return sorted(
            (h for d, h in self.half_days.items() if first <= d <= last), key=lambda h: h.day
        )


def evolve_calendar(calendar: MarketCalendar, event: ev.Event) -> MarketCalendar:
    """Fold an event of ``calendar-<MARKET>`` into the calendar (never validates: replay
    cannot fail when the rules change)."""
    if isinstance(event, ev.MarketClosureRecorded):
        return calendar.with_closure(
            Closure(event.market, event.closed_on, event.reason, event.sessions, event.recorded_by)
        )
    return calendar


# ------------------------------------------------------------------------------ the data


def calendar_from_json(data: Mapping[str, Any]) -> MarketCalendar:
    """The calendar the data file describes (see ``data/hkex_calendar.json``)."""
    sessions = tuple(
        Session(s["name"], time.fromisoformat(s["opens"]), time.fromisoformat(s["closes"]))
        for s in data["markets"][HKEX]["sessions"]
    )
    names = {s.name for s in sessions}
    holidays = {date.fromisoformat(h["date"]): str(h["name"]) for h in data["holidays"]}
    half_days: dict[date, HalfDay] = {}
    for h in data["half_days"]:
        day = date.fromisoformat(h["date"])
        trading = tuple(str(s) for s in h["sessions"])
        if not set(trading) <= names or day in holidays:
            raise ValueError(f"half day {day}: sessions {trading} or a holiday as well")
        half_days[day] = HalfDay(day, str(h["name"]), trading)
    covers = data["covers"]
    return MarketCalendar(
        utc_offset=timedelta(hours=int(data["utc_offset_hours"])),
        covers_from=date.fromisoformat(covers["from"]),
        covers_to=date.fromisoformat(covers["to"]),
        business_weekdays=frozenset(int(d) for d in data["business_weekdays"]),
        sessions=sessions,
        holidays=holidays,
        half_days=half_days,
    )


@cache
def hkex_calendar() -> MarketCalendar:
    """The calendar shipped with the package, with no closure recorded: the state of stream
    ``calendar-HKEX`` before its first event."""
    text = resources.files("harbour.ledger").joinpath("data", _DATA_FILE).read_text("utf-8")
    return calendar_from_json(json.loads(text))


def calendar_with(closures: Iterable[Closure]) -> MarketCalendar:
    """The shipped calendar with ``closures`` recorded (tests and tools)."""
    calendar = hkex_calendar()
    for closure in closures:
        calendar = calendar.with_closure(closure)
    return calendar


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"the calendar needs an aware datetime, got {instant!r}")
    return instant


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
