"""The market inputs a decision rests on, and an account's state, read through the runner.

The policy in force (``policy-collateral``), the last price of each asset (``price-<ASSET>``)
and the market calendar (``calendar-HKEX``) are read from their own streams through the
runner's cache, never from a read model, so a decision always rests on every committed fact.
Once the streams are cached, a decision's whole market is read in one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from harbour.application.runner import CommandRunner
from harbour.application.streams import (
    ACCOUNTS,
    CALENDAR,
    HKEX,
    POLICY,
    POLICY_STREAM,
    PRICES,
    account_stream,
    calendar_stream,
    price_stream,
)
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.calendar import MarketCalendar
from harbour.ledger.policy import CollateralPolicy, PolicyHistory


async def load_account(runner: CommandRunner, client_id: str) -> tuple[MarginAccount, int]:
    loaded = await runner.load(ACCOUNTS, account_stream(client_id))
    return loaded.state, loaded.version


async def policy_history(runner: CommandRunner) -> PolicyHistory:
    return (await runner.load(POLICY, POLICY_STREAM)).state


async def policy_at(runner: CommandRunner, instant: datetime) -> CollateralPolicy:
    return (await policy_history(runner)).as_of(instant)


async def market(
    runner: CommandRunner,
    instant: datetime,
    codes: Iterable[str],
    reads: dict[str, int] | None = None,
) -> tuple[CollateralPolicy, dict[str, ev.PricePoint]]:
    """The policy in force at ``instant`` and the last price of each of ``codes``: what a
    risk decision rests on, read in one round trip once the streams are cached — or in none
    when the append checks them (``reads``, see ``CommandRunner.load_many``)."""
    priced = sorted(set(codes) - {REPORTING_CURRENCY.code})
    states = await runner.load_many(
        [(POLICY, POLICY_STREAM), *((PRICES, price_stream(code)) for code in priced)],
        reads=reads,
    )
    history, tracks = states[0], states[1:]
    prices = {t.asset: t.last for t in tracks if t.last is not None}
    return history.as_of(instant), prices


async def market_calendar(runner: CommandRunner) -> MarketCalendar:
    """The calendar with every closure recorded on ``calendar-HKEX``."""
    return (await runner.load(CALENDAR, calendar_stream(HKEX))).state


async def market_and_calendar(
    runner: CommandRunner,
    instant: datetime,
    codes: Iterable[str],
    reads: dict[str, int] | None = None,
) -> tuple[CollateralPolicy, dict[str, ev.PricePoint], MarketCalendar]:
    """:func:`market` and the market calendar, read in the same round trip: what a risk
    decision rests on when markets close (last closes, business-day deadlines)."""
    priced = sorted(set(codes) - {REPORTING_CURRENCY.code})
    states = await runner.load_many(
        [
            (POLICY, POLICY_STREAM),
            (CALENDAR, calendar_stream(HKEX)),
            *((PRICES, price_stream(code)) for code in priced),
        ],
        reads=reads,
    )
    history, calendar, tracks = states[0], states[1], states[2:]
    prices = {t.asset: t.last for t in tracks if t.last is not None}
    return history.as_of(instant), prices, calendar
