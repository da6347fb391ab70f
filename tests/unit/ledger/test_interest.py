"""Interest: daily ACT/365 accrual on principal, rounded up, capitalised at month end.

Every expected figure is computed by hand in the comments (cents for HKD and USD, micro-units
for USDT), so a test failure points at the arithmetic, not at a second implementation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount, evolve, replay
from harbour.ledger.assets import HKD, USD, USDT, Asset
from harbour.ledger.interest import (
    BUSINESS_TZ,
    AccrualDay,
    accrual_events,
    business_date,
    daily_interest,
    days_to_accrue,
    end_of_day,
    principal_by_day,
)
from harbour.ledger.money import Money

C = "C-42"
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
BASIS = ev.DecisionBasis(1, (), NOW)
RISK = ev.RiskFigures(Money(HKD, 0), Money(HKD, 0), Money(HKD, 0), Decimal(0))
RATE = Decimal("0.068")
MILLION = 100_000_000  # HKD 1,000,000.00 in cents


def account(
    principal: int,
    *,
    rate: Decimal = RATE,
    currency: Asset = HKD,
    history: tuple[ev.Event, ...] = (),
) -> MarginAccount:
    """An account with an approved facility in ``currency`` and ``principal`` drawn."""
    limit = Money(currency, 10**15)
    events: list[ev.Event] = [
        ev.ClientOnboarded(C, None),
        ev.MarginFacilityApproved(C, "F-1", limit, rate, 1),
    ]
    if principal:
        amount = Money(currency, principal)
        events.append(ev.LoanAdvanced(C, amount, RISK, BASIS, journals.loan_advance(C, amount)))
    return replay(C, [*events, *history])


def accrued(day: date, amount: int, principal: int = MILLION) -> ev.InterestAccrued:
    interest = Money(HKD, amount)
    return ev.InterestAccrued(
        C,
        interest,
        day,
        Money(HKD, principal),
        RATE,
        1,
        journals.interest_accrual(C, interest),
    )


def apply(state: MarginAccount, events: list[ev.Event]) -> MarginAccount:
    for event in events:
        state = evolve(state, event)
    return state


def summary(events: list[ev.Event]) -> list[tuple[str, date, int]]:
    rows: list[tuple[str, date, int]] = []
    for event in events:
        if isinstance(event, ev.InterestAccrued):
            rows.append(("accrued", event.accrual_date, event.amount.minor))
        elif isinstance(event, ev.InterestCapitalised):
            rows.append(("capitalised", event.period_end, event.amount.minor))
        else:
            raise AssertionError(f"unexpected {event}")
    return rows


# --------------------------------------------------------------------------- daily_interest


def test_one_day_on_a_million_hkd_at_6_8_percent() -> None:
    # 1,000,000.00 x 0.068 / 365 = 68,000 / 365 = 186.301369... HKD -> rounded up 186.31
    # in cents: 100,000,000 x 0.068 = 6,800,000; / 365 = 18,630.136... -> 18,631
    assert daily_interest(MILLION, RATE, HKD) == 18_631


def test_rounding_is_always_up_and_exact_amounts_stay_exact() -> None:
    # 1 cent x 1% / 365 = 0.0000274 cents -> 1 cent: the client never owes less
    assert daily_interest(1, Decimal("0.01"), HKD) == 1
    # 36,500 cents x 1% / 365 = 1 cent exactly: no rounding, so not 2
    assert daily_interest(36_500, Decimal("0.01"), HKD) == 1
    # 36,501 cents x 1% / 365 = 1.0000274 cents -> 2
    assert daily_interest(36_501, Decimal("0.01"), HKD) == 2
    # 36,499 cents x 1% / 365 = 0.99997 cents -> 1
    assert daily_interest(36_499, Decimal("0.01"), HKD) == 1


def test_usd_and_usdt_scales() -> None:
    # USD 10,000.00 = 1,000,000 cents; x 0.05 = 50,000; / 365 = 136.986... -> 137 = USD 1.37
    assert daily_interest(1_000_000, Decimal("0.05"), USD) == 137
    # USDT 10,000.000000 = 10,000,000,000 micro; x 0.05 = 500,000,000; / 365
    # = 1,369,863.013... -> 1,369,864 micro = USDT 1.369864
    assert daily_interest(10_000_000_000, Decimal("0.05"), USDT) == 1_369_864


def test_nothing_on_no_principal_or_a_zero_rate() -> None:
    assert daily_interest(0, RATE, HKD) == 0
    assert daily_interest(-5, RATE, HKD) == 0
    assert daily_interest(MILLION, Decimal("0"), HKD) == 0
    assert daily_interest(MILLION, Decimal("0.000"), HKD) == 0


@pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity")])
def test_a_negative_or_non_finite_rate_is_a_bug(rate: Decimal) -> None:
    with pytest.raises(ValueError):
        daily_interest(MILLION, rate, HKD)


def test_a_leap_year_accrues_366_days_of_one_365th() -> None:
    # HKD 365,000.00 = 36,500,000 cents at 5%: 36,500,000 x 0.05 / 365 = 5,000 cents a day
    # exactly (no rounding). 2028 has 366 days, so the year accrues 366 x 5,000 = 1,830,000
    # cents = 36,500,000 x 0.05 x 366/365: 366/365 of the annual rate, not the rate.
    days = days_to_accrue(None, date(2028, 1, 1), date(2028, 12, 31))
    assert len(days) == 366
    assert date(2028, 2, 29) in days
    total = sum(daily_interest(36_500_000, Decimal("0.05"), HKD) for _ in days)
    assert total == 1_830_000
    assert Fraction(total) == Fraction(36_500_000) * Fraction(5, 100) * Fraction(366, 365)


@given(
    principal=st.integers(min_value=1, max_value=10**14),
    rate_bp=st.integers(min_value=0, max_value=5_000),
    n=st.integers(min_value=1, max_value=60),
)
def test_n_days_accrue_at_least_the_exact_interest_and_less_than_n_minor_units_more(
    principal: int, rate_bp: int, n: int
) -> None:
    # No capitalisation here: n days on a constant principal. The exact interest is
    # principal x rate x n / 365; each day rounds up by less than one minor unit.
    rate = Decimal(rate_bp).scaleb(-4)
    total = sum(daily_interest(principal, rate, HKD) for _ in range(n))
    exact = Fraction(principal) * Fraction(rate_bp, 10_000) * n / 365
    assert exact <= total < exact + n


# --------------------------------------------------------------------------- days and instants


def test_business_dates_are_hong_kong_dates() -> None:
    assert BUSINESS_TZ.utcoffset(None) == timedelta(hours=8)
    # 15:59:59Z is 23:59:59 in Hong Kong; 16:00:00Z is midnight, the next HK day
    assert business_date(datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 2)
    assert business_date(datetime(2026, 3, 2, 16, 0, 0, tzinfo=UTC)) == date(2026, 3, 3)
    new_york = timezone(timedelta(hours=-5))
    # 2026-03-02 20:00 in New York = 2026-03-03 01:00Z = 09:00 in Hong Kong
    assert business_date(datetime(2026, 3, 2, 20, 0, tzinfo=new_york)) == date(2026, 3, 3)
    with pytest.raises(ValueError):
        business_date(datetime(2026, 3, 2, 12, 0))


def test_end_of_day_is_the_next_hong_kong_midnight_in_utc() -> None:
    end = end_of_day(date(2026, 3, 2))
    assert end == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert end.utcoffset() == timedelta(0)
    # Feb 29 2028 ends at Mar 1 00:00 HKT = Feb 29 16:00Z
    assert end_of_day(date(2028, 2, 29)) == datetime(2028, 2, 29, 16, 0, tzinfo=UTC)


def test_days_to_accrue() -> None:
    # Nothing drawn yet, nothing accrued: nothing to do.
    assert days_to_accrue(None, None, date(2026, 1, 31)) == []
    # From the day of the first advance, through the day asked.
    assert days_to_accrue(None, date(2026, 1, 29), date(2026, 2, 1)) == [
        date(2026, 1, 29),
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
    ]
    # After the last accrual; the first advance no longer matters.
    assert days_to_accrue(date(2026, 1, 30), date(2026, 1, 2), date(2026, 2, 1)) == [
        date(2026, 1, 31),
        date(2026, 2, 1),
    ]
    assert days_to_accrue(date(2026, 1, 31), date(2026, 1, 2), date(2026, 1, 31)) == []
    assert days_to_accrue(None, date(2026, 2, 2), date(2026, 2, 1)) == []


def test_principal_by_day_around_hong_kong_midnight() -> None:
    timeline = [
        (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), 100),  # Mar 1 11:00 HKT
        (datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC), 200),  # Mar 2 23:59:59 HKT
        (datetime(2026, 3, 2, 16, 0, 0, tzinfo=UTC), 300),  # Mar 3 00:00:00 HKT
    ]
    days = [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert principal_by_day(timeline, days) == [
        AccrualDay(date(2026, 2, 28), 0),  # before any point
        AccrualDay(date(2026, 3, 1), 100),
        AccrualDay(date(2026, 3, 2), 200),  # 15:59:59Z is still Mar 2 in Hong Kong
        AccrualDay(date(2026, 3, 3), 300),  # 16:00:00Z is Mar 3
    ]


def test_principal_by_day_takes_the_last_point_of_a_day() -> None:
    timeline = [
        (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 100),
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), 50),
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), 0),  # repaid at the same instant
    ]
    assert principal_by_day(timeline, [date(2026, 3, 2)]) == [AccrualDay(date(2026, 3, 2), 0)]


def test_a_timeline_out_of_order_is_a_bug() -> None:
    timeline = [
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), 100),
        (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 50),
    ]
    with pytest.raises(ValueError):
        principal_by_day(timeline, [date(2026, 3, 2)])


# --------------------------------------------------------------------------- accrual events


def test_one_day_event() -> None:
    state = account(MILLION)
    events = accrual_events(state, [AccrualDay(date(2026, 1, 5), MILLION)], policy_version=3)
    # 186.31 HKD as in test_one_day_on_a_million_hkd_at_6_8_percent
    interest = Money(HKD, 18_631)
    assert events == [
        ev.InterestAccrued(
            C,
            interest,
            date(2026, 1, 5),
            Money(HKD, MILLION),
            RATE,
            3,
            journals.interest_accrual(C, interest),
        )
    ]
    after = apply(state, events)
    assert after.accrued_interest.get("HKD") == 18_631
    assert after.principal.get("HKD") == MILLION
    assert after.last_accrual_date == date(2026, 1, 5)


def test_month_end_capitalises_and_the_next_day_accrues_on_the_new_principal() -> None:
    # Jan 29 and Jan 30 already accrued: 2 x 186.31 = 372.62 HKD outstanding.
    state = account(
        MILLION,
        history=(accrued(date(2026, 1, 29), 18_631), accrued(date(2026, 1, 30), 18_631)),
    )
    assert state.accrued_interest.get("HKD") == 37_262
    days = [AccrualDay(date(2026, 1, 31), MILLION), AccrualDay(date(2026, 2, 1), MILLION)]
    events = accrual_events(state, days, policy_version=1)
    # Jan 31: 186.31 accrued, then all 372.62 + 186.31 = 558.93 capitalised.
    # Feb 1: principal 1,000,000.00 + 558.93 = 1,000,558.93 = 100,055,893 cents;
    #   x 0.068 = 6,803,800.724; / 365 = 18,640.5499... -> 18,641 = 186.41 HKD
    assert summary(events) == [
        ("accrued", date(2026, 1, 31), 18_631),
        ("capitalised", date(2026, 1, 31), 55_893),
        ("accrued", date(2026, 2, 1), 18_641),
    ]
    feb_1 = events[2]
    assert isinstance(feb_1, ev.InterestAccrued)
    assert feb_1.principal == Money(HKD, 100_055_893)
    capitalised = events[1]
    assert isinstance(capitalised, ev.InterestCapitalised)
    assert capitalised.journal == journals.interest_capitalisation(C, Money(HKD, 55_893))

    after = apply(state, events)
    assert after.principal.get("HKD") == 100_055_893
    assert after.accrued_interest.get("HKD") == 18_641
    assert after.last_capitalisation_date == date(2026, 1, 31)
    assert after.last_accrual_date == date(2026, 2, 1)


def test_leap_year_february_28_to_march_1() -> None:
    # 2028 is a leap year: Feb 29 accrues a day too, and it is February's month end.
    state = account(MILLION)
    days = days_to_accrue(None, date(2028, 2, 28), date(2028, 3, 1))
    assert days == [date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1)]
    events = accrual_events(state, [AccrualDay(d, MILLION) for d in days], policy_version=1)
    # Feb 28: 186.31; Feb 29: 186.31, then 372.62 capitalised (Feb 29 is the month end);
    # Mar 1: principal 1,000,372.62 = 100,037,262 cents; x 0.068 = 6,802,533.816;
    #   / 365 = 18,637.0789... -> 18,638 = 186.38 HKD
    assert summary(events) == [
        ("accrued", date(2028, 2, 28), 18_631),
        ("accrued", date(2028, 2, 29), 18_631),
        ("capitalised", date(2028, 2, 29), 37_262),
        ("accrued", date(2028, 3, 1), 18_638),
    ]


def test_february_28_is_not_a_month_end_in_a_leap_year_but_is_otherwise() -> None:
    state = account(MILLION)
    leap = accrual_events(state, [AccrualDay(date(2028, 2, 28), MILLION)], policy_version=1)
    common = accrual_events(state, [AccrualDay(date(2027, 2, 28), MILLION)], policy_version=1)
    assert summary(leap) == [("accrued", date(2028, 2, 28), 18_631)]
    assert summary(common) == [
        ("accrued", date(2027, 2, 28), 18_631),
        ("capitalised", date(2027, 2, 28), 18_631),
    ]


def test_catch_up_across_a_month_end_produces_each_day_once_in_order() -> None:
    # Last accrued Jan 28 (186.31 outstanding); the job did not run until Feb 2.
    # The principal was HKD 1,000,000.00 until a further HKD 500,000.00 was drawn on Feb 1.
    state = account(MILLION, history=(accrued(date(2026, 1, 28), 18_631),))
    draw = datetime(2026, 2, 1, 2, 0, tzinfo=UTC)  # Feb 1 10:00 HKT
    timeline = [(datetime(2026, 1, 2, 2, 0, tzinfo=UTC), MILLION), (draw, 150_000_000)]
    days = days_to_accrue(state.last_accrual_date, date(2026, 1, 2), date(2026, 2, 2))
    assert days == [
        date(2026, 1, 29),
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
        date(2026, 2, 2),
    ]
    events = accrual_events(state, principal_by_day(timeline, days), policy_version=1)
    # Jan 29, 30, 31: 186.31 each. Outstanding at Jan 31: 4 x 186.31 = 745.24 -> capitalised.
    # Feb 1 and 2: principal 1,500,000.00 + 745.24 = 150,074,524 cents; x 0.068 =
    #   10,205,067.632; / 365 = 27,959.089... -> 27,960 = 279.60 HKD each day
    assert summary(events) == [
        ("accrued", date(2026, 1, 29), 18_631),
        ("accrued", date(2026, 1, 30), 18_631),
        ("accrued", date(2026, 1, 31), 18_631),
        ("capitalised", date(2026, 1, 31), 74_524),
        ("accrued", date(2026, 2, 1), 27_960),
        ("accrued", date(2026, 2, 2), 27_960),
    ]
    after = apply(state, events)
    # Running again through the same day finds nothing to do.
    assert days_to_accrue(after.last_accrual_date, date(2026, 1, 2), date(2026, 2, 2)) == []


def test_running_the_same_day_twice_accrues_once() -> None:
    state = account(MILLION)
    first_day = date(2026, 1, 5)
    timeline = [(datetime(2026, 1, 5, 2, 0, tzinfo=UTC), MILLION)]
    days = days_to_accrue(state.last_accrual_date, first_day, date(2026, 1, 6))
    events = accrual_events(state, principal_by_day(timeline, days), policy_version=1)
    assert summary(events) == [
        ("accrued", date(2026, 1, 5), 18_631),
        ("accrued", date(2026, 1, 6), 18_631),
    ]
    state = apply(state, events)
    assert days_to_accrue(state.last_accrual_date, first_day, date(2026, 1, 6)) == []
    assert accrual_events(state, [], policy_version=1) == []
    # The next day is due once.
    assert days_to_accrue(state.last_accrual_date, first_day, date(2026, 1, 7)) == [
        date(2026, 1, 7)
    ]


def test_a_month_end_already_capitalised_is_not_capitalised_again() -> None:
    moved = Money(HKD, 18_631)
    state = account(
        MILLION,
        history=(
            accrued(date(2026, 1, 31), 18_631),
            ev.InterestCapitalised(
                C, moved, date(2026, 1, 31), journals.interest_capitalisation(C, moved)
            ),
        ),
    )
    # Some interest is outstanding again (not capitalised twice for the same month end).
    state = apply(state, [accrued(date(2026, 1, 31), 100)])
    events = accrual_events(state, [AccrualDay(date(2026, 1, 31), 0)], policy_version=1)
    assert events == []


def test_a_day_without_principal_accrues_nothing_but_the_month_end_still_capitalises() -> None:
    # 186.31 accrued on Jan 29; the principal was repaid on Jan 30 (interest left owing).
    state = account(0, history=(accrued(date(2026, 1, 29), 18_631),))
    days = [AccrualDay(date(2026, 1, 30), 0), AccrualDay(date(2026, 1, 31), 0)]
    events = accrual_events(state, days, policy_version=1)
    assert summary(events) == [("capitalised", date(2026, 1, 31), 18_631)]


def test_usdt_loan_accrues_in_usdt() -> None:
    principal = 10_000_000_000  # USDT 10,000.000000
    state = account(principal, rate=Decimal("0.05"), currency=USDT)
    events = accrual_events(state, [AccrualDay(date(2026, 1, 5), principal)], policy_version=1)
    # 10,000,000,000 micro x 0.05 / 365 = 1,369,863.013... -> 1,369,864 micro
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, ev.InterestAccrued)
    assert event.amount == Money(USDT, 1_369_864)
    assert event.principal == Money(USDT, principal)
    assert apply(state, events).accrued_interest.get("USDT") == 1_369_864


def test_usd_loan_capitalises_in_usd() -> None:
    principal = 1_000_000  # USD 10,000.00
    state = account(principal, rate=Decimal("0.05"), currency=USD)
    events = accrual_events(state, [AccrualDay(date(2026, 4, 30), principal)], policy_version=1)
    # 1,000,000 cents x 0.05 / 365 = 136.986... -> 137 cents; Apr 30 is a month end
    assert summary(events) == [
        ("accrued", date(2026, 4, 30), 137),
        ("capitalised", date(2026, 4, 30), 137),
    ]
    after = apply(state, events)
    assert after.principal.get("USD") == 1_000_137
    assert after.accrued_interest.is_zero


def test_an_account_without_a_facility_is_a_bug() -> None:
    state = replay(C, [ev.ClientOnboarded(C, None)])
    with pytest.raises(ValueError):
        accrual_events(state, [AccrualDay(date(2026, 1, 5), MILLION)], policy_version=1)


def test_days_out_of_order_are_a_bug() -> None:
    state = account(MILLION)
    days = [AccrualDay(date(2026, 1, 6), MILLION), AccrualDay(date(2026, 1, 5), MILLION)]
    with pytest.raises(ValueError):
        accrual_events(state, days, policy_version=1)


def test_each_day_accrues_at_the_rate_in_force_at_its_end() -> None:
    """Found by the lending simulation: a re-approval at a new rate must not reach back to
    days that ended before it (a 0% day re-handed to the decider stays at 0%)."""
    from harbour.ledger.interest import terms_by_day

    drawn = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 HK on 1 March
    raised = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 04:00 HK on 3 March
    timeline = [(drawn, 10_000_000, Decimal("0")), (raised, 10_000_000, Decimal("0.08"))]
    days = terms_by_day(timeline, [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)])
    assert [d.annual_rate for d in days] == [Decimal("0"), Decimal("0"), Decimal("0.08")]
    assert terms_by_day([], [date(2026, 3, 1)])[0].annual_rate is None
