"""Risk never sleeps: HKEX shuts every night, weekend and holiday while BTC trades, and a
feed can fall silent; neither may switch the risk check off. Staleness still blocks advances
and withdrawals.

The client here pledges (0700.HK at a 30% haircut):

    1,000 x 0700.HK @ 400 HKD   MV 400,000.00   marginable 280,000.00
    2 BTC @ 600,000 HKD         MV 1,200,000.00 marginable 480,000.00, of which the 50% VA
                                share cap admits 280,000.00
    CV = 560,000.00; 504,000.00 drawn on Friday 27 November 2026 at 15:00 HKT (U 0.9) and
    paid out to the bank.

BTC -70% (180,000): BTC marginable 144,000.00, CV 424,000.00, U = 504/424 = 1.188680 (call).
BTC -95% (30,000):  BTC marginable 24,000.00,  CV 304,000.00, U = 504/304 = 1.657895 (>= 1.30).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from harbour.accounts import domain as accounts
from harbour.ledger import errors, journals
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, RiskState, evolve, replay
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.calendar import FULL_DAY, HKEX, Closure, calendar_with
from harbour.ledger.exposure import BrokerExposure
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY, apply_parameters
from harbour.lending import domain as d
from harbour.testing import credit

C = "C9"
SEC = "0700.HK"
HKT = timezone(timedelta(hours=8))
POLICY = apply_parameters(
    DEFAULT_POLICY,
    [ev.PolicyParameter(f"haircut.{SEC}", "0.30")],
    version=2,
    effective_from=datetime(2026, 1, 1, tzinfo=UTC),
)
Prices = dict[str, ev.PricePoint]


def hk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HKT).astimezone(UTC)


FRIDAY_DRAW = hk(2026, 11, 27, 15, 0)
FRIDAY_CLOSE = hk(2026, 11, 27, 16, 0)
SATURDAY = hk(2026, 11, 28, 10, 0)
SUNDAY = hk(2026, 11, 29, 9, 0)


def hkd(text: str) -> Money:
    return Money.of("HKD", text)


def point(code: str, price: str, at: datetime) -> ev.PricePoint:
    return ev.PricePoint(code, "HKD", Decimal(price), at, "feed")


def book(btc: str, btc_at: datetime, sec_at: datetime, sec: str = "400") -> Prices:
    return {SEC: point(SEC, sec, sec_at), "BTC": point("BTC", btc, btc_at)}


def fresh(at: datetime, btc: str = "600000") -> Prices:
    return book(btc, at - timedelta(seconds=5), at - timedelta(seconds=5))


def context(now: datetime, prices: Prices, **kw: object) -> d.Context:
    return d.Context(now, POLICY, prices, BrokerExposure(), "risk-1", **kw)  # type: ignore[arg-type]


def check(state: MarginAccount, now: datetime, prices: Prices, **kw: object) -> d.Decision:
    return d.decide(state, d.CheckRisk(C), context(now, prices, **kw))


def names(decision: d.Decision) -> list[str]:
    return [type(event).__name__ for event in decision.account]


def applied(state: MarginAccount, events: list[ev.Event]) -> MarginAccount:
    for event in events:
        state = evolve(state, event)
    return state


def borrower(drawn: str = "504000.00", at: datetime = FRIDAY_DRAW) -> MarginAccount:
    """Onboarded, 1,000 x 0700.HK and 2 BTC pledged, ``drawn`` at ``at`` and paid out."""
    onboard = accounts.OnboardClient(
        C, "SMA-1", "CA-1", CreditGrade.A, hkd("1000000.00"), "MA-2026", "VARD-1", False, None
    )
    history = credit.onboarded(onboard, accounts.Context(at))
    state = replay(C, history)
    facility = d.ApproveFacility(C, "F-1", hkd("1000000.00"), Decimal("0.08"))
    state = applied(state, d.decide(state, facility, context(at, fresh(at))).account)
    for quantity in (Money.of(SEC, "1000"), Money.of("BTC", "2")):
        state = evolve(
            state,
            ev.CollateralDeposited(
                C, quantity, "custody-1", journals.collateral_deposit(C, quantity)
            ),
        )
    draw = d.decide(state, d.DrawLoan(C, hkd(drawn)), context(at, fresh(at)))
    state = applied(state, draw.account)
    payout = accounts.WithdrawCash(C, hkd(drawn), "bank-9")
    paid = accounts.Context(at, margin_check=AdvanceTest(POLICY, fresh(at)))
    return applied(state, accounts.decide(state, payout, paid))


def figures(mv: str, cv: str, debt: str, utilisation: str) -> ev.RiskFigures:
    return ev.RiskFigures(hkd(mv), hkd(cv), hkd(debt), Decimal(utilisation))


# ------------------------------------------------------------------------------ weekends


def test_a_weekend_btc_crash_calls_then_liquidates_on_the_friday_close() -> None:
    state = borrower()
    assert check(state, SATURDAY, fresh(SATURDAY)).account == []  # fresh and at 90%: quiet

    # Saturday: HKEX shut since Friday 16:00, BTC -70% and fresh. The call is issued; the
    # security counts at Friday's close and the basis says so.
    saturday = book("180000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    decision = check(state, SATURDAY, saturday)
    assert names(decision) == ["MarginCallIssued", "AdvancesSuspended"]
    call = decision.account[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert call.call_amount == hkd("80000.00")
    assert call.risk == figures("760000.00", "424000.00", "504000.00", "1.188680")
    assert call.deadline == hk(2026, 11, 30, 10, 0)  # one business day: Monday
    assert call.basis == ev.DecisionBasis(
        2,
        (saturday[SEC], saturday["BTC"]),  # sorted by asset code
        SATURDAY,
        stale_assets=(),
        closed_market_assets=(SEC,),
    )
    state = applied(state, decision.account)
    assert state.risk is RiskState.MARGIN_CALL

    # Sunday: BTC -95%; U >= 130% liquidates at once, before the Monday deadline.
    sunday = book("30000", SUNDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    decision = check(state, SUNDAY, sunday)
    assert names(decision) == ["LiquidationStarted"]
    (started,) = decision.account
    assert isinstance(started, ev.LiquidationStarted)
    assert started.trigger is ev.LiquidationTrigger.FORCED_SALE_THRESHOLD
    assert started.risk == figures("460000.00", "304000.00", "504000.00", "1.657895")
    assert started.basis.closed_market_assets == (SEC,) and started.basis.stale_assets == ()
    assert applied(state, decision.account).risk is RiskState.LIQUIDATING


def test_a_gap_through_the_forced_sale_level_on_a_weekend_calls_and_liquidates_together() -> None:
    saturday = book("30000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    decision = check(borrower(), SATURDAY, saturday)
    assert names(decision) == ["MarginCallIssued", "AdvancesSuspended", "LiquidationStarted"]
    call, _, started = decision.account
    assert isinstance(call, ev.MarginCallIssued) and isinstance(started, ev.LiquidationStarted)
    assert call.call_amount == hkd("200000.00")
    assert started.trigger is ev.LiquidationTrigger.FORCED_SALE_THRESHOLD
    for basis in (call.basis, started.basis):
        assert basis.closed_market_assets == (SEC,) and basis.stale_assets == ()


# ------------------------------------------------------------------------------ stale feeds


def test_a_stale_btc_price_still_issues_the_call_with_its_staleness_recorded() -> None:
    wednesday = hk(2026, 12, 2, 10, 0)  # HKEX open: 0700.HK fresh
    prices = book("180000", wednesday - timedelta(seconds=121), wednesday - timedelta(seconds=10))
    decision = check(borrower(), wednesday, prices)
    assert names(decision) == ["MarginCallIssued", "AdvancesSuspended"]
    call = decision.account[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert call.risk.utilisation == Decimal("1.188680")  # valued on the last BTC price
    assert call.basis.stale_assets == ("BTC",) and call.basis.closed_market_assets == ()
    assert call.basis.prices[1].observed_at == wednesday - timedelta(seconds=121)  # its age
    assert call.deadline == hk(2026, 12, 3, 10, 0)


def test_on_a_weekend_a_silent_btc_feed_is_stale_and_the_security_at_its_close() -> None:
    prices = book("180000", SATURDAY - timedelta(minutes=10), FRIDAY_CLOSE)
    call = check(borrower(), SATURDAY, prices).account[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert call.basis.stale_assets == ("BTC",)
    assert call.basis.closed_market_assets == (SEC,)


def test_a_security_feed_that_died_before_the_close_is_stale_and_still_decides() -> None:
    died = hk(2026, 11, 27, 11, 0)  # Friday morning: the afternoon session went unpriced
    prices = book("180000", SATURDAY - timedelta(seconds=5), died)
    call = check(borrower(), SATURDAY, prices).account[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert call.basis.stale_assets == (SEC,) and call.basis.closed_market_assets == ()


def test_a_call_is_met_on_a_closed_market_too() -> None:
    saturday = book("180000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    state = applied(borrower(), check(borrower(), SATURDAY, saturday).account)
    rebound = book("600000", SUNDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    decision = check(state, SUNDAY, rebound)
    assert names(decision) == ["MarginCallMet", "AdvancesResumed"]
    met = decision.account[0]
    assert isinstance(met, ev.MarginCallMet) and met.basis.closed_market_assets == (SEC,)


# ------------------------------------------------------------------------------ still blocked


def test_staleness_still_blocks_advances_and_withdrawals_over_the_weekend() -> None:
    state = borrower(drawn="100000.00")  # U 0.178571: plenty of headroom
    saturday = book("600000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    with pytest.raises(errors.StalePrice, match=r"0700\.HK"):
        d.decide(state, d.DrawLoan(C, hkd("1.00")), context(SATURDAY, saturday))
    margin_check = AdvanceTest(POLICY, saturday)
    with pytest.raises(errors.StalePrice, match=r"0700\.HK"):
        accounts.decide(
            state,
            accounts.WithdrawCollateral(C, Money.of("BTC", "0.01"), "wallet-1"),
            accounts.Context(SATURDAY, margin_check=margin_check),
        )
    # The same draw goes through on Monday once the market prices it again.
    monday = hk(2026, 11, 30, 10, 0)
    draw = d.decide(state, d.DrawLoan(C, hkd("1.00")), context(monday, fresh(monday)))
    assert names(draw) == ["LoanAdvanced"]


# ------------------------------------------------------------------------------ deadlines


def test_a_call_on_the_friday_before_a_monday_holiday_is_due_tuesday_or_after_a_typhoon() -> None:
    friday = hk(2026, 5, 22, 17, 30)  # Monday 25 May: the day following Buddha's Birthday
    state = borrower(at=hk(2026, 5, 22, 15, 0))
    prices = book("180000", friday - timedelta(seconds=5), hk(2026, 5, 22, 16, 0))
    call = check(state, friday, prices).account[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert call.deadline == hk(2026, 5, 26, 17, 30)
    assert d.business_deadline(friday, 1) == call.deadline

    # Typhoon signal 8 keeps HKEX shut all Tuesday: due Wednesday.
    typhoon = calendar_with([Closure(HKEX, date(2026, 5, 26), "typhoon_signal_8", FULL_DAY, "ops")])
    call = check(state, friday, prices, calendar=typhoon).account[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert call.deadline == hk(2026, 5, 27, 17, 30)
    assert d.business_deadline(friday, 1, typhoon) == call.deadline
