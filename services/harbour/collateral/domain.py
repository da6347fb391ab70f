"""The collateral service's decisions: prices, the governed policy and the market calendar.

Pure: ``decide_price(track, command, context)``, ``decide_policy(history, command, context)``,
``decide_closure(calendar, command, context)`` and ``decide_feed_staleness(track, context)``
return events or raise a domain error; the clock and the caller are inputs.

Price rules: a price is strictly positive, quoted in the reporting currency, observed no
later than now (plus a small clock skew). An observation older than the last accepted one
(out of order), or moving more than the policy's band away from a still-fresh last price
(an absurd jump), is recorded as ``PriceRejected`` with its reason, so the feed's quality can
be audited; it never becomes a price. After a gap longer than the staleness window the band
does not apply: the first observation re-anchors the price (a market that moved while the
feed was silent must still reach the margin calls).

Feed watchdog: an eligible virtual asset whose last accepted price is older than the policy's
staleness window gets a ``PriceFeedStale`` alert on its price stream, once per staleness
episode (the handler keys it on the last observation). Risk decisions go on meanwhile with the
last price and its age recorded; only advances and withdrawals wait for a fresh price.

Calendar: an extraordinary closure of HKEX (typhoon signal 8, black rainstorm) is recorded as
``MarketClosureRecorded`` on ``calendar-HKEX``. It must name a day HKEX would have traded (a
weekday that is not a general holiday), from a week back (a late record) to tomorrow (a
signal announced the evening before); a closure that shuts nothing not already shut records
nothing. The crypto market never closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from harbour.ledger import events as ev
from harbour.ledger import policy as governed
from harbour.ledger.assets import FIXED_ASSETS, REPORTING_CURRENCY
from harbour.ledger.calendar import (
    CLOSURE_REASONS,
    CLOSURE_SESSIONS,
    CRYPTO,
    HKEX,
    MARKETS,
    Closure,
    MarketCalendar,
)
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.policy import CollateralPolicy, PolicyHistory
from harbour.ledger.prices import PriceTrack

CLOCK_SKEW = timedelta(seconds=5)
# How far from today (Hong Kong) a closure may be recorded: a week late at most (a correction
# of the record), a day early at most (a signal announced the evening before).
CLOSURE_RECORDED_LATE = timedelta(days=7)
CLOSURE_RECORDED_EARLY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


# ------------------------------------------------------------------------------ prices


@dataclass(frozen=True)
class RecordPrice:
    asset: str
    price: Decimal
    observed_at: datetime
    source: str


@dataclass(frozen=True)
class PriceContext:
    now: datetime
    policy: CollateralPolicy  # the version in force now


def decide_price(track: PriceTrack, command: RecordPrice, context: PriceContext) -> list[ev.Event]:
    if command.asset == REPORTING_CURRENCY.code:
        raise InvalidArgument.for_field(
            "price.base_asset", f"{REPORTING_CURRENCY.code} is the reporting currency (always 1)"
        )
    if command.observed_at > context.now + CLOCK_SKEW:
        raise InvalidArgument.for_field(
            "observed_at", f"{command.observed_at.isoformat()} is in the future"
        )
    reason = _rejection(track.last, command, context.policy)
    if reason is None:
        return [
            ev.PriceObserved(
                command.asset,
                REPORTING_CURRENCY.code,
                command.price,
                command.observed_at,
                command.source,
            )
        ]
    last = track.last
    return [
        ev.PriceRejected(
            command.asset,
            REPORTING_CURRENCY.code,
            command.price,
            command.observed_at,
            command.source,
            reason,
            last.price if last else None,
            last.observed_at if last else None,
            context.policy.version,
        )
    ]


def _rejection(
    last: ev.PricePoint | None, command: RecordPrice, policy: CollateralPolicy
) -> str | None:
    if last is None:
        return None
    if command.observed_at <= last.observed_at:
        return "out_of_order"
    window = timedelta(seconds=policy.price_staleness_seconds)
    if command.observed_at - last.observed_at > window:
        return None  # the last price had gone stale: re-anchor
    if abs(command.price - last.price) > last.price * policy.price_jump_band:
        return "jump_beyond_band"
    return None


# ------------------------------------------------------------------------------ policy


@dataclass(frozen=True)
class ProposePolicyChange:
    proposal_id: str
    parameters: tuple[ev.PolicyParameter, ...]
    effective_from: datetime


@dataclass(frozen=True)
class ApprovePolicyChange:
    proposal_id: str


@dataclass(frozen=True)
class RejectPolicyChange:
    proposal_id: str
    reason: str


PolicyCommand = ProposePolicyChange | ApprovePolicyChange | RejectPolicyChange


@dataclass(frozen=True)
class PolicyContext:
    now: datetime
    actor: str  # the authenticated principal: maker or checker


def initial_history(stream: str) -> PolicyHistory:
    return PolicyHistory()


def decide_policy(
    history: PolicyHistory, command: PolicyCommand, context: PolicyContext
) -> list[ev.Event]:
    match command:
        case ProposePolicyChange():
            return governed.propose(
                history,
                proposal_id=command.proposal_id,
                parameters=command.parameters,
                effective_from=command.effective_from,
                maker=context.actor,
                now=context.now,
            )
        case ApprovePolicyChange():
            return governed.approve(
                history, proposal_id=command.proposal_id, checker=context.actor, now=context.now
            )
        case RejectPolicyChange():
            return governed.reject(
                history,
                proposal_id=command.proposal_id,
                checker=context.actor,
                reason=command.reason,
            )
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


# ------------------------------------------------------------------------------ feed watchdog


# Cash held in these is valued at an FX rate from the price service (USD/HKD, USDT/HKD): a
# silent rate feed is as dangerous as a silent BTC feed. Listed securities are not watched:
# their exchange closes every day, and the calendar says when a last close is expected.
FX_WATCHED = frozenset(
    code for code, unit in FIXED_ASSETS.items() if unit.is_cash and code != REPORTING_CURRENCY.code
)


def decide_feed_staleness(track: PriceTrack, context: PriceContext) -> list[ev.Event]:
    """``PriceFeedStale`` when ``track`` is an eligible virtual asset's or a cash currency's
    FX rate and its last accepted price is older than the policy's staleness window at
    ``context.now``; otherwise nothing. An asset never priced has no feed to go stale (a
    missing price holds risk back already)."""
    last = track.last
    watched = track.asset in context.policy.eligible_virtual_assets or track.asset in FX_WATCHED
    if last is None or not watched:
        return []
    age = context.now - last.observed_at
    if age <= timedelta(seconds=context.policy.price_staleness_seconds):
        return []
    return [ev.PriceFeedStale(track.asset, last.observed_at, context.now, age // _SECOND)]


# ------------------------------------------------------------------------------ calendar


@dataclass(frozen=True)
class RecordMarketClosure:
    market: str
    closed_on: date  # the Hong Kong date
    reason: str
    sessions: str


@dataclass(frozen=True)
class CalendarContext:
    now: datetime
    actor: str  # the operator or risk officer recording the closure


def decide_closure(
    calendar: MarketCalendar, command: RecordMarketClosure, context: CalendarContext
) -> list[ev.Event]:
    """``MarketClosureRecorded``, or nothing when the closure is already recorded (see the
    module docstring for the rules)."""
    if command.market not in MARKETS:
        raise InvalidArgument.for_field(
            "market", f"unknown market {command.market[:20]!r}; expected {', '.join(MARKETS)}"
        )
    if command.market == CRYPTO:
        raise InvalidArgument.for_field("market", "the crypto market never closes")
    if command.reason not in CLOSURE_REASONS:
        raise InvalidArgument.for_field("reason", f"must be one of {', '.join(CLOSURE_REASONS)}")
    if command.sessions not in CLOSURE_SESSIONS:
        raise InvalidArgument.for_field("sessions", f"must be one of {', '.join(CLOSURE_SESSIONS)}")
    day = command.closed_on
    today = calendar.local_date(context.now)
    if not today - CLOSURE_RECORDED_LATE <= day <= today + CLOSURE_RECORDED_EARLY:
        raise InvalidArgument.for_field(
            "closed_on",
            f"must be from {today - CLOSURE_RECORDED_LATE} to {today + CLOSURE_RECORDED_EARLY}"
            " (Hong Kong dates): closures are recorded as they happen",
        )
    if day.weekday() not in calendar.business_weekdays or calendar.holiday(day) is not None:
        raise InvalidArgument.for_field(
            "closed_on", f"{day} is not a trading day of {HKEX}: nothing to close"
        )
    closure = Closure(HKEX, day, command.reason, command.sessions, context.actor)
    # The sessions still trading that day, after closures already recorded.
    trading = {w.session for w in calendar.trading_windows(HKEX, day)}
    if not any(closure.shuts(session) for session in trading):
        return []  # already closed then (a second report of the same signal, a half day)
    return [ev.MarketClosureRecorded(HKEX, day, command.reason, command.sessions, context.actor)]
