"""Lending as given/when/then: given events, when a command, then events or a refusal.

The numbers are worked by hand in the comments. The standard client pledges

    1,000 x 0700.HK @ 400 HKD   MV 400,000.00   haircut 30%  -> marginable 280,000.00
    0.5 BTC @ 600,000 HKD       MV 300,000.00   haircut 60%  -> marginable 120,000.00
                                (VA share cap 50%: at most 280,000.00 of VA -> all admitted)
    CV = 400,000.00, so at 90% it may owe at most 360,000.00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from harbour.accounts import domain as accounts
from harbour.ledger import errors, journals
from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, RiskState, evolve, replay
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.exposure import BrokerExposure, evolve_exposure
from harbour.ledger.grades import CreditGrade
from harbour.ledger.interest import AccrualDay
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY, apply_parameters
from harbour.lending import domain as d
from harbour.testing import credit

C = "C1"
SEC = "0700.HK"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # a Wednesday, 17:30 in Hong Kong
POLICY = apply_parameters(
    DEFAULT_POLICY,
    [ev.PolicyParameter(f"haircut.{SEC}", "0.30")],
    version=2,
    effective_from=NOW - timedelta(days=30),
)
NO_EXPOSURE = BrokerExposure()


def hkd(text: str) -> Money:
    return Money.of("HKD", text)


def btc(text: str) -> Money:
    return Money.of("BTC", text)


def shares(count: int, code: str = SEC) -> Money:
    return Money.of(code, str(count))


def point(code: str, price: str, at: datetime) -> ev.PricePoint:
    return ev.PricePoint(code, "HKD", Decimal(price), at, "feed")


def prices(
    sec: str = "400", btc_price: str = "600000", *, at: datetime = NOW
) -> dict[str, ev.PricePoint]:
    """Prices observed 10 s before ``at``: fresh at ``at``."""
    seen = at - timedelta(seconds=10)
    return {SEC: point(SEC, sec, seen), "BTC": point("BTC", btc_price, seen)}


PRICES = prices()


def context(
    *,
    now: datetime = NOW,
    price_book: dict[str, ev.PricePoint] | None = None,
    exposure: BrokerExposure = NO_EXPOSURE,
    reference: str = "req-1",
) -> d.Context:
    return d.Context(now, POLICY, PRICES if price_book is None else price_book, exposure, reference)


def when(
    state: MarginAccount,
    command: d.Command,
    *,
    now: datetime = NOW,
    price_book: dict[str, ev.PricePoint] | None = None,
    exposure: BrokerExposure = NO_EXPOSURE,
    reference: str = "req-1",
) -> d.Decision:
    return d.decide(
        state,
        command,
        context(now=now, price_book=price_book, exposure=exposure, reference=reference),
    )


def given(*history: ev.Event) -> MarginAccount:
    return replay(C, history)


def applied(state: MarginAccount, decision: d.Decision) -> MarginAccount:
    for event in decision.account:
        state = evolve(state, event)
    return state


def names(decision: d.Decision) -> list[str]:
    return [type(event).__name__ for event in decision.account]


# ------------------------------------------------------------------------------ histories


# The credit limit onboarding proposes and a second principal approves: facilities lend
# within it (up to the 10,000,000.00 of the largest facility below).
APPROVED_LIMIT = hkd("10000000.00")


def onboarding(
    *,
    group: str | None = None,
    grade: CreditGrade = CreditGrade.A,
    bare: bool = False,
    limit: Money | None = APPROVED_LIMIT,
) -> list[ev.Event]:
    """The accounts service's onboarding, its credit grade and ``limit`` (if any) approved by
    a second principal."""
    command = (
        accounts.OnboardClient(C, None, None, None, None, None, None, False, group)
        if bare
        else accounts.OnboardClient(
            C, "SMA-1", "CA-1", grade, limit, "MA-2026", "VARD-1", False, group
        )
    )
    return credit.onboarded(command, accounts.Context(NOW))


FACILITY = d.ApproveFacility(C, "F-1", hkd("1000000.00"), Decimal("0.08"))


def approved(facility: d.ApproveFacility = FACILITY, *, group: str | None = None) -> list[ev.Event]:
    history = onboarding(group=group)
    return history + when(given(*history), facility).account


def deposited(amount: Money) -> ev.Event:
    return ev.CashDeposited(C, amount, "bank-1", journals.cash_deposit(C, amount))


def pledged(quantity: Money) -> ev.Event:
    return ev.CollateralDeposited(
        C, quantity, "custody-1", journals.collateral_deposit(C, quantity)
    )


def collateralised(
    facility: d.ApproveFacility = FACILITY, *, group: str | None = None
) -> MarginAccount:
    """Approved, with 1,000 x 0700.HK and 0.5 BTC pledged: CV 400,000.00 at PRICES."""
    return given(*approved(facility, group=group), pledged(shares(1000)), pledged(btc("0.5")))


def drawn(amount: str) -> MarginAccount:
    state = collateralised()
    return applied(state, when(state, d.DrawLoan(C, hkd(amount))))


def withdrawn_cash(state: MarginAccount) -> MarginAccount:
    """The drawn cash paid out to the client's bank (through the accounts service)."""
    out = accounts.WithdrawCash(C, state.cash.money("HKD"), "bank-9")
    return _after(state, accounts.decide(state, out, accounts_context()))


def _after(state: MarginAccount, events: list[ev.Event]) -> MarginAccount:
    for event in events:
        state = evolve(state, event)
    return state


def accounts_context(
    price_book: dict[str, ev.PricePoint] | None = None, now: datetime = NOW
) -> accounts.Context:
    test = AdvanceTest(POLICY, PRICES if price_book is None else price_book)
    return accounts.Context(now, margin_check=test)


def fully_drawn() -> MarginAccount:
    """360,000.00 drawn (U exactly 90%) and paid out: cash 0, CV 400,000.00 at PRICES."""
    return withdrawn_cash(drawn("360000.00"))


def figures(mv: str, cv: str, debt: str, utilisation: str | None) -> ev.RiskFigures:
    return ev.RiskFigures(
        hkd(mv), hkd(cv), hkd(debt), None if utilisation is None else Decimal(utilisation)
    )


def exposure_of(*changes: tuple[str, str, str]) -> BrokerExposure:
    """Other clients' outstanding loans: (client, group, HKD amount)."""
    state = BrokerExposure()
    for client, group, amount in changes:
        state = evolve_exposure(
            state, ev.BrokerExposureChanged(client, group, hkd(amount), "advance", "earlier")
        )
    return state


# ------------------------------------------------------------------------------ the lifecycle


def test_the_whole_lifecycle_draw_warning_call_and_cure_by_collateral() -> None:
    state = collateralised()
    assert state.status is Lifecycle.ACTIVE and state.facility_id == "F-1"

    # Draw the whole headroom: D 360,000.00 / CV 400,000.00 = 0.9 exactly, allowed (<=).
    # The proceeds are not counted: MV stays 700,000.00, CV 400,000.00.
    decision = when(state, d.DrawLoan(C, hkd("360000.00")))
    (advance,) = decision.account
    assert isinstance(advance, ev.LoanAdvanced)
    assert advance.risk_after == figures("700000.00", "400000.00", "360000.00", "0.900000")
    assert advance.basis == ev.DecisionBasis(
        2, (PRICES[SEC], PRICES["BTC"]), NOW
    )  # sorted by asset
    assert advance.journal.net("client:C1:cash", "HKD") == 36_000_000
    assert advance.journal.net("client:C1:loan", "HKD") == -36_000_000
    assert decision.exposure == [
        ev.BrokerExposureChanged(C, C, hkd("360000.00"), "advance", "req-1")
    ]
    state = applied(state, decision)
    assert state.principal.money("HKD") == hkd("360000.00")

    # Paid out to the bank: the withdrawal test values the account after it, U 0.9: allowed.
    state = withdrawn_cash(state)
    assert state.cash.is_zero
    # Exactly at 90% is not a warning (warning is U > 90%).
    assert when(state, d.CheckRisk(C)).account == []

    # 0700.HK falls to 350: 350,000 x 0.7 = 245,000 + BTC 120,000 = CV 365,000.00;
    # U = 360/365 = 0.98630137 -> 0.986302 (rounded up): WARNING.
    t1 = NOW + timedelta(hours=1)
    warning = when(state, d.CheckRisk(C), now=t1, price_book=prices("350", at=t1))
    (issued,) = warning.account
    assert issued == ev.EarlyWarningIssued(
        C,
        figures("650000.00", "365000.00", "360000.00", "0.986302"),
        ev.DecisionBasis(2, tuple(sorted(prices("350", at=t1).values(), key=_code)), t1),
    )
    assert warning.exposure == []
    state = applied(state, warning)
    assert state.risk is RiskState.WARNING
    assert when(state, d.CheckRisk(C), now=t1, price_book=prices("350", at=t1)).account == []

    # 0700.HK falls to 300: 300,000 x 0.7 = 210,000 + 120,000 = CV 330,000.00;
    # U = 360/330 = 1.0909... -> 1.090910: MARGIN_CALL for D - CV = 30,000.00.
    t2 = NOW + timedelta(hours=2)  # Wednesday 19:30 in Hong Kong
    call = when(state, d.CheckRisk(C), now=t2, price_book=prices("300", at=t2), reference="risk-2")
    assert names(call) == ["MarginCallIssued", "AdvancesSuspended"]
    issued_call = call.account[0]
    assert isinstance(issued_call, ev.MarginCallIssued)
    assert issued_call.call_id == "call-risk-2"
    assert issued_call.call_amount == hkd("30000.00")
    assert issued_call.deadline == t2 + timedelta(days=1)  # one business day: Thursday
    assert issued_call.risk == figures("600000.00", "330000.00", "360000.00", "1.090910")
    state = applied(state, call)
    assert state.risk is RiskState.MARGIN_CALL and state.advances_suspended

    # No advance while the call is open.
    with pytest.raises(errors.MarginCallOpen):
        when(state, d.DrawLoan(C, hkd("1.00")), now=t2, price_book=prices("300", at=t2))

    # 500 more shares: 1,500 x 300 x 0.7 = 315,000 + 120,000 = CV 435,000.00;
    # U = 360/435 = 0.82758620... -> 0.827587: HEALTHY, the call is met.
    state = evolve(state, pledged(shares(500)))
    t3 = t2 + timedelta(hours=1)
    cure = when(state, d.CheckRisk(C), now=t3, price_book=prices("300", at=t3))
    assert names(cure) == ["MarginCallMet", "AdvancesResumed"]
    met = cure.account[0]
    assert isinstance(met, ev.MarginCallMet) and met.call_id == "call-risk-2"
    assert met.risk.utilisation == Decimal("0.827587")
    state = applied(state, cure)
    assert state.risk is RiskState.HEALTHY
    assert state.margin_call is None and not state.advances_suspended

    # Advances again: 0.9 x 435,000 - 360,000 = 31,500.00 of headroom, to the cent.
    with pytest.raises(errors.UtilisationTooHigh):
        when(state, d.DrawLoan(C, hkd("31500.01")), now=t3, price_book=prices("300", at=t3))
    again = when(state, d.DrawLoan(C, hkd("31500.00")), now=t3, price_book=prices("300", at=t3))
    assert names(again) == ["LoanAdvanced"]


def _code(price: ev.PricePoint) -> str:
    return price.base_asset


def in_call(reference: str = "risk-2") -> tuple[MarginAccount, datetime]:
    """Fully drawn, then 0700.HK at 300 (U 1.090910): in a margin call issued at t2."""
    t2 = NOW + timedelta(hours=2)
    state = fully_drawn()
    call = when(state, d.CheckRisk(C), now=t2, price_book=prices("300", at=t2), reference=reference)
    return applied(state, call), t2


def test_a_cash_deposit_meeting_the_call_exactly_leaves_a_warning() -> None:
    state, t2 = in_call()
    # + 30,000.00 HKD cash (haircut 0): CV 360,000.00 = D, U = 1.000000: not above the call
    # level, so the call is met; but above 90%, so the account is in WARNING again.
    state = evolve(state, deposited(hkd("30000.00")))
    decision = when(state, d.CheckRisk(C), now=t2, price_book=prices("300", at=t2))
    assert names(decision) == ["MarginCallMet", "AdvancesResumed", "EarlyWarningIssued"]
    met = decision.account[0]
    assert isinstance(met, ev.MarginCallMet) and met.risk.utilisation == Decimal("1.000000")
    state = applied(state, decision)
    assert state.risk is RiskState.WARNING and not state.advances_suspended


def test_a_call_still_open_before_its_deadline_changes_nothing() -> None:
    state, t2 = in_call()
    deadline = t2 + timedelta(days=1)
    just_before = deadline - timedelta(seconds=1)
    assert (
        when(state, d.CheckRisk(C), now=just_before, price_book=prices("300", at=just_before))
        == d.Decision()
    )


def test_the_deadline_passing_expires_the_call_and_starts_liquidation() -> None:
    state, t2 = in_call()
    deadline = t2 + timedelta(days=1)  # Thursday 11:30 UTC
    decision = when(
        state,
        d.CheckRisk(C),
        now=deadline,
        price_book=prices("300", at=deadline),
        reference="risk-9",
    )
    assert decision.account == [
        ev.MarginCallExpired(C, "call-risk-2", deadline),
        ev.LiquidationStarted(
            C,
            "liq-risk-9",
            ev.LiquidationTrigger.CALL_DEADLINE_PASSED,
            Decimal("0.80"),
            figures("600000.00", "330000.00", "360000.00", "1.090910"),
            ev.DecisionBasis(
                2, tuple(sorted(prices("300", at=deadline).values(), key=_code)), deadline
            ),
        ),
    ]
    assert decision.exposure == []
    state = applied(state, decision)
    assert state.risk is RiskState.LIQUIDATING and state.liquidation_id == "liq-risk-9"
    # Liquidation owns the account now: the monitor stays out, no advance, no withdrawal.
    later = deadline + timedelta(hours=1)
    assert (
        when(state, d.CheckRisk(C), now=later, price_book=prices("100", at=later)) == d.Decision()
    )
    with pytest.raises(errors.LiquidationInProgress):
        when(state, d.DrawLoan(C, hkd("1.00")), now=later, price_book=prices("300", at=later))
    with pytest.raises(errors.LiquidationInProgress):
        accounts.decide(
            state,
            accounts.WithdrawCollateral(C, shares(1), "x"),
            accounts_context(prices("300", at=later), later),
        )


def test_a_late_cure_before_the_check_still_meets_the_call() -> None:
    state, t2 = in_call()
    late = t2 + timedelta(days=2)
    state = evolve(state, deposited(hkd("70000.00")))  # CV 400,000.00, U 0.9: HEALTHY
    decision = when(state, d.CheckRisk(C), now=late, price_book=prices("300", at=late))
    assert names(decision) == ["MarginCallMet", "AdvancesResumed"]


def test_forced_sale_level_from_healthy_calls_and_liquidates_at_once() -> None:
    # 0700.HK at 200: 200,000 x 0.7 = 140,000 + BTC 120,000 = CV 260,000.00;
    # U = 360/260 = 1.3846... -> 1.384616 >= 1.30. The call (D - CV = 100,000.00) is issued
    # and liquidation starts in the same decision.
    state = fully_drawn()
    decision = when(state, d.CheckRisk(C), price_book=prices("200"), reference="r7")
    assert names(decision) == ["MarginCallIssued", "AdvancesSuspended", "LiquidationStarted"]
    call, _, liquidation = decision.account
    assert isinstance(call, ev.MarginCallIssued) and call.call_amount == hkd("100000.00")
    assert isinstance(liquidation, ev.LiquidationStarted)
    assert liquidation.trigger is ev.LiquidationTrigger.FORCED_SALE_THRESHOLD
    assert liquidation.liquidation_id == "liq-r7"
    assert liquidation.risk.utilisation == Decimal("1.384616")
    state = applied(state, decision)
    assert state.risk is RiskState.LIQUIDATING and state.margin_call is not None


def test_forced_sale_level_during_a_call_liquidates_before_the_deadline() -> None:
    state, t2 = in_call()
    t3 = t2 + timedelta(hours=1)
    decision = when(state, d.CheckRisk(C), now=t3, price_book=prices("200", at=t3))
    assert names(decision) == ["LiquidationStarted"]
    (started,) = decision.account
    assert isinstance(started, ev.LiquidationStarted)
    assert started.trigger is ev.LiquidationTrigger.FORCED_SALE_THRESHOLD


def test_forced_sale_after_the_deadline_also_records_the_expiry() -> None:
    state, t2 = in_call()
    late = t2 + timedelta(days=1, hours=1)
    decision = when(state, d.CheckRisk(C), now=late, price_book=prices("200", at=late))
    assert names(decision) == ["MarginCallExpired", "LiquidationStarted"]
    started = decision.account[1]
    assert isinstance(started, ev.LiquidationStarted)
    assert started.trigger is ev.LiquidationTrigger.FORCED_SALE_THRESHOLD


def test_a_warning_clears_when_utilisation_falls_back() -> None:
    state = fully_drawn()
    state = applied(state, when(state, d.CheckRisk(C), price_book=prices("350")))
    assert state.risk is RiskState.WARNING
    decision = when(state, d.CheckRisk(C), price_book=prices("400"))  # U 0.9 again
    assert names(decision) == ["EarlyWarningCleared"]
    assert applied(state, decision).risk is RiskState.HEALTHY


def test_a_missing_price_holds_the_risk_decision_back_but_a_stale_one_never_does() -> None:
    # Risk never sleeps: a stale price still decides (tests/unit/lending/test_risk_never_
    # sleeps.py); only an asset the decision rests on with no price at all holds it back.
    state = fully_drawn()
    assert when(state, d.CheckRisk(C), price_book={}) == d.Decision()
    assert when(state, d.CheckRisk(C), price_book={"BTC": prices("200")["BTC"]}) == d.Decision()
    stale = {**prices("200"), SEC: point(SEC, "200", NOW - timedelta(seconds=121))}
    assert names(when(state, d.CheckRisk(C), price_book=stale)) == [
        "MarginCallIssued",
        "AdvancesSuspended",
        "LiquidationStarted",
    ]


def test_one_context_shared_by_many_checks_decides_each_as_a_fresh_one_would() -> None:
    # The risk screen values every due account against one context's valuation book; each
    # decision must be the one a context of its own gives (same prices, policy and instant).
    t2 = NOW + timedelta(hours=2)
    book = prices("300", at=t2)
    in_a_call, _ = in_call()
    warned = applied(fully_drawn(), when(fully_drawn(), d.CheckRisk(C), price_book=prices("350")))
    accounts_due = [fully_drawn(), in_a_call, warned, drawn("1000.00"), collateralised()]
    shared = context(now=t2, price_book=book)
    decisions = [d.decide(state, d.CheckRisk(C), shared) for state in accounts_due]
    fresh = [
        d.decide(state, d.CheckRisk(C), context(now=t2, price_book=book)) for state in accounts_due
    ]
    assert decisions == fresh
    assert [names(each) for each in decisions] == [
        ["MarginCallIssued", "AdvancesSuspended"],  # U 1.090910 at 300
        [],  # its call is still open before the deadline
        ["MarginCallIssued", "AdvancesSuspended"],
        [],  # a small loan stays healthy
        [],  # no debt
    ]
    assert "book" in vars(shared)  # built once, on first use, and kept


def test_no_debt_and_healthy_is_quiet_and_an_unknown_account_is_not_found() -> None:
    assert when(collateralised(), d.CheckRisk(C), price_book={}) == d.Decision()
    with pytest.raises(errors.AccountNotFound):
        when(MarginAccount.initial(C), d.CheckRisk(C))


@pytest.mark.parametrize(
    ("issued", "deadline"),
    [
        # Wednesday 17:30 HKT -> Thursday 17:30 HKT
        (datetime(2026, 11, 25, 9, 30, tzinfo=UTC), datetime(2026, 11, 26, 9, 30, tzinfo=UTC)),
        # Friday 17:30 HKT -> Monday 17:30 HKT
        (datetime(2026, 11, 27, 9, 30, tzinfo=UTC), datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),
        # Friday 17:00 UTC is Saturday 01:00 HKT -> Monday 01:00 HKT = Sunday 17:00 UTC
        (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), datetime(2026, 11, 29, 17, 0, tzinfo=UTC)),
    ],
)
def test_call_deadlines_count_hong_kong_business_days(issued: datetime, deadline: datetime) -> None:
    assert d.business_deadline(issued, 1) == deadline


def test_a_three_day_deadline_skips_the_weekend() -> None:
    thursday = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 10:00 HKT
    assert d.business_deadline(thursday, 3) == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tue


# ------------------------------------------------------------------------------ draw refusals


def test_a_draw_above_the_credit_limit_is_refused() -> None:
    state = collateralised(d.ApproveFacility(C, "F-2", hkd("300000.00"), Decimal("0.08")))
    with pytest.raises(errors.CreditLimitExceeded) as refused:
        when(state, d.DrawLoan(C, hkd("300000.01")))
    assert "300000.01 HKD" in refused.value.message and "300000.00 HKD" in refused.value.message
    assert when(state, d.DrawLoan(C, hkd("300000.00"))).account


def test_the_credit_limit_counts_interest_owed() -> None:
    state = collateralised(d.ApproveFacility(C, "F-2", hkd("300000.00"), Decimal("0.08")))
    state = applied(state, when(state, d.DrawLoan(C, hkd("299900.00"))))
    # A day's interest on 299,900.00 at 8%: ceil(29,990,000 x 0.08 / 365) = ceil(6,573.15)
    # = 6,574 minor = 65.74. Owed 299,965.74: 34.26 of room left.
    day = AccrualDay(date(2026, 11, 25), 29_990_000)
    state = applied(state, when(state, d.AccrueInterest(C, (day,))))
    assert state.accrued_interest.money("HKD") == hkd("65.74")
    with pytest.raises(errors.CreditLimitExceeded):
        when(state, d.DrawLoan(C, hkd("34.27")))
    assert when(state, d.DrawLoan(C, hkd("34.26"))).account


def test_a_draw_above_90_percent_utilisation_is_refused_with_the_figures() -> None:
    # 360,000.01 / 400,000.00 = 0.900000025 > 0.90 (6 decimals, rounded up: 0.900001).
    with pytest.raises(errors.UtilisationTooHigh) as refused:
        when(collateralised(), d.DrawLoan(C, hkd("360000.01")))
    assert refused.value.message == (
        "utilisation after this would be 0.900001 (debt 360000.01 HKD over marginable value "
        "400000.00 HKD); the most allowed is 0.90"
    )


def test_drawn_cash_left_in_the_account_is_not_headroom_for_the_same_draw() -> None:
    # Counting the proceeds, 3,600,000 would pass: 3,600,000 / (400,000 + 3,600,000) = 0.9,
    # ten times the real headroom of 360,000.00.
    state = collateralised(d.ApproveFacility(C, "F-8", hkd("10000000.00"), Decimal("0.08")))
    with pytest.raises(errors.UtilisationTooHigh):
        when(state, d.DrawLoan(C, hkd("3600000.00")))


def test_a_client_with_no_marginable_value_cannot_borrow() -> None:
    # BTC only: the 50% VA share cap admits none of it (no securities to support it).
    state = given(*approved(), pledged(btc("1")))
    with pytest.raises(errors.UtilisationTooHigh, match="unbounded"):
        when(state, d.DrawLoan(C, hkd("1.00")))


def test_a_draw_on_a_stale_or_missing_price_is_refused_naming_it() -> None:
    stale = {**PRICES, SEC: point(SEC, "400", NOW - timedelta(seconds=121))}
    with pytest.raises(errors.StalePrice, match=r"0700\.HK"):
        when(collateralised(), d.DrawLoan(C, hkd("1.00")), price_book=stale)
    with pytest.raises(errors.StalePrice, match="BTC"):
        when(collateralised(), d.DrawLoan(C, hkd("1.00")), price_book={SEC: PRICES[SEC]})
    # 120 s old is still fresh.
    edge = {**PRICES, SEC: point(SEC, "400", NOW - timedelta(seconds=120))}
    assert when(collateralised(), d.DrawLoan(C, hkd("1.00")), price_book=edge).account


def test_an_ineligible_holding_without_a_price_does_not_block_a_draw() -> None:
    # 9988.HK has no haircut in the policy (100%): it adds nothing to CV, so its price
    # cannot change the decision.
    state = evolve(collateralised(), pledged(shares(10, "9988.HK")))
    assert names(when(state, d.DrawLoan(C, hkd("1.00")))) == ["LoanAdvanced"]


def test_a_draw_during_a_margin_call_is_refused() -> None:
    state, t2 = in_call()
    with pytest.raises(errors.MarginCallOpen, match="call-risk-2"):
        when(state, d.DrawLoan(C, hkd("1.00")), now=t2, price_book=prices("300", at=t2))


def test_a_draw_while_advances_are_suspended_is_refused() -> None:
    state = evolve(collateralised(), ev.AdvancesSuspended(C, "limit breach review"))
    with pytest.raises(errors.AdvancesBlocked) as refused:
        when(state, d.DrawLoan(C, hkd("1.00")))
    assert refused.value.reason == "advances_suspended"


def test_a_draw_beyond_the_broker_total_limit_is_refused() -> None:
    # 5 x capital 100,000,000.00 = 500,000,000.00; others owe 499,900,000.00.
    exposure = exposure_of(("C2", "C2", "499900000.00"))
    with pytest.raises(errors.BrokerLimitExceeded):
        when(collateralised(), d.DrawLoan(C, hkd("100000.01")), exposure=exposure)
    assert when(collateralised(), d.DrawLoan(C, hkd("100000.00")), exposure=exposure).account


def test_a_draw_beyond_the_single_client_limit_of_its_group_is_refused() -> None:
    # 20% of shareholders' funds 120,000,000.00 = 24,000,000.00 per related group; C3, in the
    # same group G1, owes 23,950,000.00.
    exposure = exposure_of(("C3", "G1", "23950000.00"))
    state = collateralised(group="G1")
    with pytest.raises(errors.ConcentrationLimitExceeded, match="G1"):
        when(state, d.DrawLoan(C, hkd("50000.01")), exposure=exposure)
    decision = when(state, d.DrawLoan(C, hkd("50000.00")), exposure=exposure)
    assert decision.exposure == [
        ev.BrokerExposureChanged(C, "G1", hkd("50000.00"), "advance", "req-1")
    ]


def test_a_draw_needs_an_active_account_with_a_facility_in_its_currency() -> None:
    with pytest.raises(errors.AccountNotFound):
        when(MarginAccount.initial(C), d.DrawLoan(C, hkd("1.00")))
    with pytest.raises(errors.AccountNotActive):
        when(given(*onboarding(limit=None)), d.DrawLoan(C, hkd("1.00")))
    # Active through a credit limit from onboarding, but no facility approved.
    active = given(*onboarding())
    with pytest.raises(errors.NotEligible) as refused:
        when(active, d.DrawLoan(C, hkd("1.00")))
    assert refused.value.unmet == ("no_margin_facility",)
    with pytest.raises(errors.InvalidArgument) as wrong:
        when(collateralised(), d.DrawLoan(C, Money.of("USD", "1.00")))
    assert wrong.value.violations[0].field == "amount.asset"
    with pytest.raises(errors.AmountNotPositive):
        when(collateralised(), d.DrawLoan(C, hkd("0.00")))
    suspended = evolve(collateralised(), ev.AccountSuspended(C, "regulatory hold"))
    with pytest.raises(errors.AccountSuspended):
        when(suspended, d.DrawLoan(C, hkd("1.00")))


def test_a_lapsed_eligibility_refuses_draws() -> None:
    downgraded = evolve(
        collateralised(), ev.CreditAssessed(C, "CA-2", CreditGrade.CCC, date(2026, 11, 24))
    )
    with pytest.raises(errors.NotEligible) as refused:
        when(downgraded, d.DrawLoan(C, hkd("1.00")))
    assert refused.value.unmet == ("credit_grade_below_minimum",)


def test_refusal_precedence_is_the_documented_order() -> None:
    stale = {**PRICES, SEC: point(SEC, "400", NOW - timedelta(seconds=300))}
    small = collateralised(d.ApproveFacility(C, "F-2", hkd("300000.00"), Decimal("0.08")))
    full = exposure_of(("C2", "C2", "500000000.00"))
    # account state before amount shape
    state, t2 = in_call()
    with pytest.raises(errors.MarginCallOpen):
        when(state, d.DrawLoan(C, Money.of("USD", "0.00")), now=t2, price_book={})
    # the margin call before the advance suspension it caused
    assert state.advances_suspended
    # amount shape before the credit limit
    with pytest.raises(errors.InvalidArgument):
        when(small, d.DrawLoan(C, Money.of("USD", "999999999.00")))
    # credit limit before prices
    with pytest.raises(errors.CreditLimitExceeded):
        when(small, d.DrawLoan(C, hkd("300000.01")), price_book=stale)
    # prices before utilisation
    with pytest.raises(errors.StalePrice):
        when(collateralised(), d.DrawLoan(C, hkd("390000.00")), price_book=stale)
    # utilisation before the broker limits
    with pytest.raises(errors.UtilisationTooHigh):
        when(collateralised(), d.DrawLoan(C, hkd("390000.00")), exposure=full)
    with pytest.raises(errors.BrokerLimitExceeded):
        when(collateralised(), d.DrawLoan(C, hkd("1.00")), exposure=full)


# ------------------------------------------------------------------------------ facility


def test_approving_a_facility_sets_what_draws_are_bounded_by() -> None:
    onboarded = given(*onboarding())
    assert onboarded.status is Lifecycle.ACTIVE  # the approved limit and the agreement
    decision = when(onboarded, FACILITY)
    assert decision.account == [
        ev.MarginFacilityApproved(C, "F-1", hkd("1000000.00"), Decimal("0.08"), 2)
    ]
    assert decision.exposure == []
    state = applied(onboarded, decision)
    assert state.status is Lifecycle.ACTIVE
    assert state.credit_limit == hkd("1000000.00") and state.annual_rate == Decimal("0.08")
    # The maker-checked limit is not the facility's to change.
    assert state.approved_credit_limit == APPROVED_LIMIT


def test_a_facility_without_an_approved_credit_limit_is_refused() -> None:
    # No limit at all, then one a maker proposed that no checker has approved yet.
    without = given(*onboarding(limit=None))
    proposal = accounts.ProposeClientFact(C, "limit-1", APPROVED_LIMIT)
    maker = accounts.Context(NOW, actor=credit.MAKER_NAME)
    proposed = _after(without, accounts.decide(without, proposal, maker))
    assert [p.proposal_id for p in proposed.pending_fact_proposals] == ["limit-1"]
    for state in (without, proposed):
        assert state.approved_credit_limit is None and state.credit_grade is CreditGrade.A
        with pytest.raises(errors.CreditLimitNotApproved) as refused:
            when(state, FACILITY)
        assert refused.value.reason == "credit_limit_not_approved"
        assert refused.value.category is errors.Category.FAILED_PRECONDITION
        assert "ApproveClientFact" in refused.value.message


def test_a_facility_approved_before_the_rule_still_lends_but_new_terms_need_an_approval() -> None:
    # A stream from before facilities needed an approved limit: the facility set it alone.
    legacy = given(
        *onboarding(limit=None),
        ev.MarginFacilityApproved(C, "F-0", hkd("300000.00"), Decimal("0.08"), 1),
        pledged(shares(1000)),
        pledged(btc("0.5")),
    )
    assert legacy.status is Lifecycle.ACTIVE and legacy.approved_credit_limit is None
    with pytest.raises(errors.CreditLimitExceeded):
        when(legacy, d.DrawLoan(C, hkd("300000.01")))
    assert names(when(legacy, d.DrawLoan(C, hkd("300000.00")))) == ["LoanAdvanced"]
    with pytest.raises(errors.CreditLimitNotApproved):
        when(legacy, replace(FACILITY, credit_limit=hkd("100000.00")))


def test_a_facility_above_the_approved_credit_limit_is_refused() -> None:
    state = given(*onboarding(limit=hkd("1000000.00")))
    with pytest.raises(errors.FacilityAboveApprovedCreditLimit) as refused:
        when(state, replace(FACILITY, credit_limit=hkd("1000000.01")))
    assert refused.value.reason == "facility_above_approved_credit_limit"
    assert refused.value.category is errors.Category.FAILED_PRECONDITION
    assert "1000000.01 HKD" in refused.value.message and "1000000.00 HKD" in refused.value.message
    # Exactly the approved limit is within it.
    assert names(when(state, replace(FACILITY, credit_limit=hkd("1000000.00")))) == [
        "MarginFacilityApproved"
    ]


def test_a_facility_in_another_currency_than_the_approved_limit_is_refused() -> None:
    # 1.00 USD is worth far less than the 1,000,000.00 HKD approved: currencies never compare.
    state = given(*onboarding(limit=hkd("1000000.00")))
    with pytest.raises(errors.CreditLimitNotApproved, match="no limit in USD"):
        when(state, replace(FACILITY, credit_limit=Money.of("USD", "1.00")))


def test_a_facility_lowered_then_raised_again_within_the_approved_limit() -> None:
    state = given(*onboarding(limit=hkd("1000000.00")))
    state = applied(state, when(state, FACILITY))
    lowered = d.ApproveFacility(C, "F-1", hkd("200000.00"), Decimal("0.08"))
    state = applied(state, when(state, lowered))
    assert state.credit_limit == hkd("200000.00")
    assert state.approved_credit_limit == hkd("1000000.00")
    state = evolve(evolve(state, pledged(shares(1000))), pledged(btc("0.5")))
    # Draws are bounded by the facility's limit, not the approved one.
    with pytest.raises(errors.CreditLimitExceeded):
        when(state, d.DrawLoan(C, hkd("200000.01")))
    # Raised back: up to the approved limit, not a cent above it.
    with pytest.raises(errors.FacilityAboveApprovedCreditLimit):
        when(state, replace(FACILITY, credit_limit=hkd("1000000.01")))
    state = applied(state, when(state, FACILITY))
    assert state.credit_limit == hkd("1000000.00")
    assert names(when(state, d.DrawLoan(C, hkd("200000.01")))) == ["LoanAdvanced"]


def test_a_lowered_approved_limit_bounds_the_next_facility() -> None:
    state = applied(given(*onboarding()), when(given(*onboarding()), FACILITY))
    state = _after(state, credit.recorded(state, hkd("500000.00"), accounts.Context(NOW)))
    assert state.approved_credit_limit == hkd("500000.00")
    assert state.credit_limit == hkd("500000.00")  # a newly approved limit binds draws too
    with pytest.raises(errors.FacilityAboveApprovedCreditLimit):
        when(state, FACILITY)
    assert names(when(state, replace(FACILITY, credit_limit=hkd("500000.00")))) == [
        "MarginFacilityApproved"
    ]


def test_a_facility_for_an_ineligible_client_lists_every_reason() -> None:
    with pytest.raises(errors.NotEligible) as refused:
        when(given(*onboarding(bare=True)), FACILITY)
    assert refused.value.unmet == (
        "no_securities_margin_account",
        "credit_assessment_missing",
        "margin_agreement_missing",
        "risk_disclosure_missing",
    )
    with pytest.raises(errors.NotEligible) as weak:
        when(given(*onboarding(grade=CreditGrade.BB)), FACILITY)
    assert weak.value.unmet == ("credit_grade_below_minimum",)


@pytest.mark.parametrize(
    ("facility", "field_name"),
    [
        (replace(FACILITY, credit_limit=btc("1")), "credit_limit.asset"),
        (replace(FACILITY, credit_limit=hkd("0.00")), "credit_limit"),
        (replace(FACILITY, annual_rate=Decimal("1.01")), "annual_rate"),
        (replace(FACILITY, annual_rate=Decimal("-0.01")), "annual_rate"),
    ],
)
def test_a_malformed_facility_is_invalid(facility: d.ApproveFacility, field_name: str) -> None:
    with pytest.raises(errors.InvalidArgument) as refused:
        when(given(*onboarding()), facility)
    assert refused.value.violations[0].field == field_name


def test_the_loan_currency_cannot_change_while_owing() -> None:
    state = drawn("1000.00")
    usd = d.ApproveFacility(C, "F-9", Money.of("USD", "100000.00"), Decimal("0.05"))
    with pytest.raises(errors.OutstandingDebt, match=r"1000\.00 HKD"):
        when(state, usd)
    # New terms in the same currency are fine, and so is a new currency with nothing owed,
    # within a limit approved in it.
    assert when(state, d.ApproveFacility(C, "F-3", hkd("5000.00"), Decimal("0.07"))).account
    state = collateralised()
    state = _after(state, credit.recorded(state, usd.credit_limit, accounts.Context(NOW)))
    assert when(state, usd).account


def test_a_facility_for_a_suspended_or_unknown_account_is_refused() -> None:
    with pytest.raises(errors.AccountNotFound):
        when(MarginAccount.initial(C), FACILITY)
    with pytest.raises(errors.AccountSuspended):
        when(given(*onboarding(), ev.AccountSuspended(C, "hold")), FACILITY)


# ------------------------------------------------------------------------------ repayment


def owing() -> MarginAccount:
    """100,000.00 drawn (cash still held), 21.92 interest accrued, a 5.00 fee unpaid.

    Interest: ceil(10,000,000 x 0.08 / 365) = ceil(2,191.78) = 2,192 minor = 21.92.
    """
    state = drawn("100000.00")
    day = AccrualDay(date(2026, 11, 25), 10_000_000)
    state = applied(state, when(state, d.AccrueInterest(C, (day,))))
    fee = hkd("5.00")
    state = evolve(
        state, ev.FeeCharged(C, fee, "late_payment", "inv-1", journals.fee_charge(C, fee))
    )
    assert state.accrued_interest.money("HKD") == hkd("21.92")
    assert state.unpaid_fees.money("HKD") == fee
    assert state.cash.money("HKD") == hkd("100000.00")
    return state


def test_a_repayment_pays_interest_then_fees_then_principal_to_the_cent() -> None:
    state = owing()
    # 26.93 = 21.92 interest + 5.00 fees + 0.01 principal.
    decision = when(state, d.RepayLoan(C, hkd("26.93")))
    (repaid,) = decision.account
    assert isinstance(repaid, ev.LoanRepaid) and repaid.amount == hkd("26.93")
    assert repaid.journal.net("client:C1:cash", "HKD") == -2693
    assert repaid.journal.net("client:C1:interest_receivable", "HKD") == 2192
    assert repaid.journal.net("client:C1:fees_receivable", "HKD") == 500
    assert repaid.journal.net("client:C1:loan", "HKD") == 1
    assert decision.exposure == [ev.BrokerExposureChanged(C, C, hkd("-0.01"), "repayment", "req-1")]
    after = applied(state, decision)
    assert after.accrued_interest.is_zero and after.unpaid_fees.is_zero
    assert after.principal.money("HKD") == hkd("99999.99")
    assert after.cash.money("HKD") == hkd("99973.07")


def test_a_small_repayment_pays_interest_only_and_leaves_exposure_alone() -> None:
    state = owing()
    decision = when(state, d.RepayLoan(C, hkd("20.00")))
    assert decision.exposure == []
    after = applied(state, decision)
    assert after.accrued_interest.money("HKD") == hkd("1.92")
    assert after.unpaid_fees.money("HKD") == hkd("5.00")
    # 21.93 = 21.92 interest + 0.01 of fees, no principal.
    split = applied(state, when(state, d.RepayLoan(C, hkd("21.93"))))
    assert split.unpaid_fees.money("HKD") == hkd("4.99")
    assert split.principal.money("HKD") == hkd("100000.00")


def test_repaying_more_than_is_owed_is_refused_never_capped() -> None:
    state = owing()
    # Owed: 100,000.00 + 21.92 + 5.00 = 100,026.92.
    with pytest.raises(errors.InvalidArgument, match=r"at most 100026\.92 HKD is owed"):
        when(state, d.RepayLoan(C, hkd("100026.93")))
    # The cash account (100,000.00) must cover the repayment.
    with pytest.raises(errors.InsufficientBalance):
        when(state, d.RepayLoan(C, hkd("100026.92")))
    state = evolve(state, deposited(hkd("26.92")))
    decision = when(state, d.RepayLoan(C, hkd("100026.92")))
    assert decision.exposure == [
        ev.BrokerExposureChanged(C, C, hkd("-100000.00"), "repayment", "req-1")
    ]
    assert not applied(state, decision).has_debt


def test_nothing_to_repay_and_the_wrong_currency() -> None:
    with pytest.raises(errors.NothingToRepay):
        when(collateralised(), d.RepayLoan(C, hkd("1.00")))
    with pytest.raises(errors.InvalidArgument) as wrong:
        when(owing(), d.RepayLoan(C, Money.of("USD", "1.00")))
    assert wrong.value.violations[0].field == "amount.asset"
    with pytest.raises(errors.InvalidArgument):
        when(owing(), d.RepayLoan(C, shares(1)))
    with pytest.raises(errors.AmountNotPositive):
        when(owing(), d.RepayLoan(C, hkd("0.00")))


def test_repaying_is_allowed_while_suspended_in_a_call_or_liquidating() -> None:
    suspended = evolve(owing(), ev.AccountSuspended(C, "regulatory hold"))
    assert when(suspended, d.RepayLoan(C, hkd("1.00"))).account
    state, t2 = in_call()
    state = evolve(state, deposited(hkd("100.00")))
    assert when(state, d.RepayLoan(C, hkd("100.00")), now=t2).account
    deadline = t2 + timedelta(days=1)
    liquidating = applied(
        state, when(state, d.CheckRisk(C), now=deadline, price_book=prices("300", at=deadline))
    )
    assert liquidating.risk is RiskState.LIQUIDATING
    assert names(when(liquidating, d.RepayLoan(C, hkd("100.00")))) == ["LoanRepaid"]


# ------------------------------------------------------------------------------ interest


def test_interest_accrues_once_per_day() -> None:
    state = drawn("100000.00")
    day = AccrualDay(date(2026, 11, 25), 10_000_000)
    decision = when(state, d.AccrueInterest(C, (day,)))
    (accrued,) = decision.account
    assert isinstance(accrued, ev.InterestAccrued)
    assert accrued.amount == hkd("21.92") and accrued.principal == hkd("100000.00")
    assert accrued.annual_rate == Decimal("0.08") and accrued.policy_version == 2
    assert decision.exposure == []
    state = applied(state, decision)
    # The same day again (a retried run): nothing.
    assert when(state, d.AccrueInterest(C, (day,))) == d.Decision()
    # An overlapping run accrues only the new day.
    next_day = AccrualDay(date(2026, 11, 26), 10_000_000)
    (only,) = when(state, d.AccrueInterest(C, (day, next_day))).account
    assert isinstance(only, ev.InterestAccrued) and only.accrual_date == date(2026, 11, 26)


def test_month_end_capitalises_and_raises_the_exposure() -> None:
    state = drawn("100000.00")
    first = AccrualDay(date(2026, 11, 25), 10_000_000)
    state = applied(state, when(state, d.AccrueInterest(C, (first,))))
    # 25th already accrued; 26th..30th accrue 21.92 each; on the 30th (month end) all six
    # days' interest, 6 x 21.92 = 131.52, becomes principal.
    days = tuple(AccrualDay(date(2026, 11, n), 10_000_000) for n in range(25, 31))
    decision = when(state, d.AccrueInterest(C, days), reference="accrue-11-30")
    assert names(decision) == ["InterestAccrued"] * 5 + ["InterestCapitalised"]
    assert decision.account[-1] == ev.InterestCapitalised(
        C, hkd("131.52"), date(2026, 11, 30), journals.interest_capitalisation(C, hkd("131.52"))
    )
    assert decision.exposure == [
        ev.BrokerExposureChanged(C, C, hkd("131.52"), "capitalisation", "accrue-11-30")
    ]
    state = applied(state, decision)
    assert state.principal.money("HKD") == hkd("100131.52")
    assert state.accrued_interest.is_zero


def test_accrual_needs_a_facility_and_increasing_days() -> None:
    day = AccrualDay(date(2026, 11, 25), 10_000_000)
    with pytest.raises(errors.NotEligible):
        when(given(*onboarding(limit=None)), d.AccrueInterest(C, (day,)))
    with pytest.raises(errors.InvalidArgument, match="days"):
        when(drawn("1.00"), d.AccrueInterest(C, (day, day)))


# ------------------------------------------------------------------------------ withdrawals


def test_the_advance_test_guards_a_collateral_withdrawal() -> None:
    state = fully_drawn()  # D 360,000.00, CV 400,000.00: U 0.9 exactly
    # One share less: CV = 999 x 400 x 0.7 + 120,000 = 399,720.00; 360/399.72 > 0.9.
    with pytest.raises(errors.UtilisationTooHigh):
        accounts.decide(state, accounts.WithdrawCollateral(C, shares(1), "x"), accounts_context())
    # After 280.00 of cash comes in, the share may go: CV = 399,720 + 280 = 400,000.00.
    state = evolve(state, deposited(hkd("280.00")))
    (out,) = accounts.decide(
        state, accounts.WithdrawCollateral(C, shares(1), "x"), accounts_context()
    )
    assert isinstance(out, ev.CollateralWithdrawn)
    assert out.risk_after == figures("699880.00", "400000.00", "360000.00", "0.900000")
    assert out.basis.policy_version == 2


def test_a_withdrawal_with_debt_needs_fresh_prices_and_no_open_call() -> None:
    state = fully_drawn()
    stale = {**PRICES, "BTC": point("BTC", "600000", NOW - timedelta(minutes=5))}
    state = evolve(state, deposited(hkd("1000.00")))
    with pytest.raises(errors.StalePrice, match="BTC"):
        accounts.decide(state, accounts.WithdrawCash(C, hkd("1.00"), "x"), accounts_context(stale))
    called, t2 = in_call()
    called = evolve(called, deposited(hkd("1000.00")))
    with pytest.raises(errors.MarginCallOpen):
        accounts.decide(
            called,
            accounts.WithdrawCash(C, hkd("1.00"), "x"),
            accounts_context(prices("300", at=t2), t2),
        )


def test_without_debt_a_withdrawal_needs_no_fresh_price() -> None:
    # Nothing owed, nothing at risk: the client's own assets leave even with the feed down.
    (out,) = accounts.decide(
        collateralised(), accounts.WithdrawCollateral(C, btc("0.5"), "x"), accounts_context({})
    )
    assert isinstance(out, ev.CollateralWithdrawn)
    assert out.risk_after.debt == hkd("0.00")
