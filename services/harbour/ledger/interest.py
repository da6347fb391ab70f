"""Interest on margin loans: daily accrual ACT/365 on principal, capitalised monthly.

docs/domain.md: interest accrues every calendar day on the principal outstanding at the
end of that day, at ``annual_rate / 365`` (ACT/365 *fixed*: every day is 1/365 of the rate,
so a leap year's 366 days accrue 366/365 of it), rounded **up** to the minor unit per day
(what the client owes rounds up). On the last calendar day of each month, after that day's
accrual, all accrued interest outstanding becomes principal, so interest compounds monthly.

Days are Hong Kong business dates (UTC+8, no daylight saving): an instant belongs to the HK
day it falls in, and a day's principal is the principal recorded before the first instant of
the next HK day.

Everything here is pure: the caller passes the instant, the principal timeline and the
account, and gets events back. The arithmetic is exact integer arithmetic on the rate's
fraction; no float and no rounding other than the one ceiling per day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import pairwise

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import Asset
from harbour.ledger.money import Money

BUSINESS_TZ = timezone(timedelta(hours=8))  # Hong Kong: UTC+8, no daylight saving
DAYS_PER_YEAR = 365  # ACT/365 fixed
_ONE_DAY = timedelta(days=1)


def business_date(instant: datetime) -> date:
    """The Hong Kong date of an aware instant."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"business_date needs an aware datetime, got {instant!r}")
    return instant.astimezone(BUSINESS_TZ).date()


def end_of_day(day: date) -> datetime:
    """The first instant of the HK day after ``day``, as an aware UTC datetime.

    Everything recorded strictly before it belongs to ``day`` or earlier.
    """
    return datetime.combine(day + _ONE_DAY, time(0), tzinfo=BUSINESS_TZ).astimezone(UTC)


def is_month_end(day: date) -> bool:
    """The last calendar day of its month (capitalisation day)."""
    return (day + _ONE_DAY).day == 1


def daily_interest(principal_minor: int, annual_rate: Decimal, asset: Asset) -> int:
    """One day's interest on ``principal_minor`` (minor units of ``asset``), rounded up.

    ``ceil(principal x rate / 365)``, computed exactly on the rate's integer fraction. 0 when
    the principal is not positive or the rate is 0. ``asset`` names the unit of both the
    principal and the result (they share it, so its scale does not enter the arithmetic).
    """
    if not isinstance(annual_rate, Decimal) or not annual_rate.is_finite():
        raise ValueError(f"annual rate must be a finite Decimal, got {annual_rate!r}")
    if annual_rate < 0:
        raise ValueError(f"annual rate must not be negative, got {annual_rate} ({asset.code})")
    if principal_minor <= 0 or annual_rate == 0:
        return 0
    numerator, denominator = annual_rate.as_integer_ratio()
    # ceil(a / b) for positive b is -((-a) // b): exact, whatever the sizes.
    return -((-principal_minor * numerator) // (denominator * DAYS_PER_YEAR))


@dataclass(frozen=True)
class AccrualDay:
    day: date
    principal: int  # principal outstanding (minor units of the loan currency) at the end of day
    # The facility's rate in force at the end of the day; None: the account's current rate.
    # A re-approval changes the terms from then on, never for days already past.
    annual_rate: Decimal | None = None


def days_to_accrue(
    last_accrual_date: date | None, first_day: date | None, through: date
) -> list[date]:
    """Every day still to accrue, in order, up to and including ``through``.

    After ``last_accrual_date`` when something has accrued; otherwise from ``first_day`` (the
    day of the first advance); ``[]`` when neither is known or nothing is due. A day already
    accrued is never returned again, so running the same day twice accrues it once.
    """
    if last_accrual_date is not None:
        start = last_accrual_date + _ONE_DAY
    elif first_day is not None:
        start = first_day
    else:
        return []
    count = (through - start).days + 1
    return [start + timedelta(days=n) for n in range(max(count, 0))]


def principal_by_day(
    timeline: Sequence[tuple[datetime, int]], days: Sequence[date]
) -> list[AccrualDay]:
    """The principal at the end of each day: the last point recorded before ``end_of_day``.

    ``timeline`` holds ``(recorded_at, principal after that event)`` in recording order; a day
    before the first point has principal 0.
    """
    instants = [recorded_at for recorded_at, _ in timeline]
    if any(later < earlier for earlier, later in pairwise(instants)):
        raise ValueError("the principal timeline must be in recording order")
    result: list[AccrualDay] = []
    for day in days:
        # Points strictly before the end of the day; the last of them holds the principal.
        index = bisect_left(instants, end_of_day(day))
        result.append(AccrualDay(day, timeline[index - 1][1] if index > 0 else 0))
    return result


def terms_by_day(
    timeline: Sequence[tuple[datetime, int, Decimal | None]], days: Sequence[date]
) -> list[AccrualDay]:
    """Like :func:`principal_by_day`, with the facility's rate in force at each day's end:
    ``timeline`` holds ``(recorded_at, principal, annual rate)`` after each event."""
    principals = principal_by_day([(at, principal) for at, principal, _ in timeline], days)
    # The same search for the point's position (1-based; 0 means no point yet that day).
    points = principal_by_day([(at, n) for n, (at, _, _) in enumerate(timeline, start=1)], days)
    return [
        AccrualDay(p.day, p.principal, timeline[at.principal - 1][2] if at.principal else None)
        for p, at in zip(principals, points, strict=True)
    ]


def accrual_events(
    account: MarginAccount, days: Sequence[AccrualDay], *, policy_version: int
) -> list[ev.Event]:
    """InterestAccrued for each day (when positive) and, on each month end after that day's
    accrual, InterestCapitalised of all interest outstanding (when positive).

    Interest capitalised in this batch raises the principal of the batch's later days (the
    timeline does not hold it yet). A day with principal 0 accrues nothing, but a month end
    still capitalises interest accrued before it. A month end the account has already
    capitalised (``last_capitalisation_date``) is not capitalised again.

    Raises ValueError (a bug, not a refusal) when there are days to accrue and the account has
    no annual rate or credit limit, or when the days are not strictly increasing.
    """
    if not days:
        return []
    if account.annual_rate is None or account.credit_limit is None:
        raise ValueError(
            f"{account.client_id}: cannot accrue interest without an approved facility "
            "(annual rate and credit limit)"
        )
    if any(later.day <= earlier.day for earlier, later in pairwise(days)):
        raise ValueError("accrual days must be strictly increasing")
    currency = account.credit_limit.asset
    client = account.client_id
    outstanding = account.accrued_interest.get(currency.code)
    capitalised = 0
    already = account.last_capitalisation_date
    events: list[ev.Event] = []
    for accrual in days:
        principal = accrual.principal + capitalised if accrual.principal > 0 else 0
        rate = accrual.annual_rate if accrual.annual_rate is not None else account.annual_rate
        amount = daily_interest(principal, rate, currency)
        if amount > 0:
            interest = Money(currency, amount)
            events.append(
                ev.InterestAccrued(
                    client,
                    interest,
                    accrual.day,
                    Money(currency, principal),
                    rate,
                    policy_version,
                    journals.interest_accrual(client, interest),
                )
            )
            outstanding += amount
        capitalises = is_month_end(accrual.day) and (already is None or accrual.day > already)
        if capitalises and outstanding > 0:
            moved = Money(currency, outstanding)
            events.append(
                ev.InterestCapitalised(
                    client,
                    moved,
                    accrual.day,
                    journals.interest_capitalisation(client, moved),
                )
            )
            capitalised += outstanding
            outstanding = 0
    return events
