"""The margin account: given events, when evolved, then this state. Never a refusal."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import (
    Lifecycle,
    MarginAccount,
    OpenMarginCall,
    RiskState,
    evolve,
    from_snapshot,
    replay,
    to_snapshot,
)
from harbour.ledger.assets import BTC, HKD, USDT
from harbour.ledger.codec import DecodeError
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.ledger.postings import client_cash

C = "C-42"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASIS = ev.DecisionBasis(1, (), NOW)
RISK = ev.RiskFigures(Money(HKD, 0), Money(HKD, 0), Money(HKD, 0), Decimal(0))


def hkd(minor: int) -> Money:
    return Money(HKD, minor)


def btc(minor: int) -> Money:
    return Money(BTC, minor)


def deposit(amount: Money) -> ev.CashDeposited:
    return ev.CashDeposited(C, amount, "ref", journals.cash_deposit(C, amount))


def withdraw(amount: Money) -> ev.CashWithdrawn:
    return ev.CashWithdrawn(C, amount, BASIS, journals.cash_withdrawal(C, amount))


def pledge(quantity: Money) -> ev.CollateralDeposited:
    return ev.CollateralDeposited(C, quantity, "tx", journals.collateral_deposit(C, quantity))


def advance(amount: Money) -> ev.LoanAdvanced:
    return ev.LoanAdvanced(C, amount, RISK, BASIS, journals.loan_advance(C, amount))


def accrue(amount: Money, on: date) -> ev.InterestAccrued:
    return ev.InterestAccrued(
        C, amount, on, hkd(0), Decimal("0.08"), 1, journals.interest_accrual(C, amount)
    )


def given_(*history: ev.Event) -> MarginAccount:
    return replay(C, history)


ONBOARDED = (
    ev.ClientOnboarded(C, None),
    ev.SecuritiesMarginAccountLinked(C, "SMA-1"),
    ev.CreditAssessed(C, "CA-1", CreditGrade.A, date(2026, 3, 1)),
    ev.CreditLimitSet(C, hkd(100_000_00)),
    ev.MarginAgreementSigned(C, "v1", date(2026, 3, 1)),
    ev.RiskDisclosureAcknowledged(C, "v1", date(2026, 3, 1)),
)


# --- lifecycle


def test_initial_state_is_empty_and_not_onboarded() -> None:
    state = MarginAccount.initial(C)
    assert state.status is Lifecycle.NOT_ONBOARDED and not state.exists
    assert state.risk is RiskState.HEALTHY
    assert not state.has_debt and not state.has_balances


def test_onboarding_applies_then_activates_on_credit_and_agreement() -> None:
    assert given_(ev.ClientOnboarded(C, "G-1")).status is Lifecycle.APPLIED
    assert given_(*ONBOARDED[:4]).status is Lifecycle.APPLIED  # limit but no agreement
    state = given_(*ONBOARDED)
    assert state.status is Lifecycle.ACTIVE
    assert state.securities_account_id == "SMA-1" and state.credit_grade is CreditGrade.A
    assert state.credit_limit == hkd(100_000_00)
    assert state.agreement_signed and state.disclosure_acknowledged


def test_activation_does_not_depend_on_order() -> None:
    agreement_first = given_(ONBOARDED[0], ONBOARDED[4], ONBOARDED[3])
    assert agreement_first.status is Lifecycle.ACTIVE


def test_closing() -> None:
    state = given_(*ONBOARDED, ev.AccountClosed(C, "client_request"))
    assert state.status is Lifecycle.CLOSED


def test_suspension_and_professional_flags() -> None:
    state = given_(*ONBOARDED, ev.AccountSuspended(C, "hold"))
    assert state.suspended
    assert not evolve(state, ev.AccountResumed(C, "lifted")).suspended
    pro = evolve(state, ev.ProfessionalInvestorStatusSet(C, True, date(2026, 1, 1)))
    assert pro.professional_investor


# --- cash and collateral


def test_deposits_and_withdrawals_move_cash() -> None:
    state = given_(*ONBOARDED, deposit(hkd(500_00)), deposit(Money(USDT, 7)), withdraw(hkd(120_00)))
    assert state.cash.get("HKD") == 380_00
    assert state.cash.get("USDT") == 7
    assert state.has_balances


def test_withdrawing_everything_leaves_no_entry() -> None:
    state = given_(deposit(hkd(1)), withdraw(hkd(1)))
    assert state.cash.is_zero and state.cash.assets == ()


def test_collateral_deposit_and_withdrawal() -> None:
    out = ev.CollateralWithdrawn(
        C, btc(10), RISK, BASIS, journals.collateral_withdrawal(C, btc(10))
    )
    state = given_(pledge(btc(50_000_000)), out)
    assert state.collateral.get("BTC") == 49_999_990
    assert state.cash.is_zero


def test_evolve_never_validates() -> None:
    """Overdrawing is refused by the domain, not by evolve: replay must never fail."""
    state = given_(withdraw(hkd(100)), ev.AccountClosed(C, "x"), deposit(hkd(1)))
    assert state.cash.get("HKD") == -99
    assert given_(ev.MarginCallMet(C, "none", RISK, BASIS)).margin_call is None
    assert given_(ev.MarginCallExpired(C, "none", NOW)).margin_call is None


def test_postings_to_other_clients_are_ignored() -> None:
    other = ev.CashDeposited("C-other", hkd(5), "r", journals.cash_deposit("C-other", hkd(5)))
    state = MarginAccount.initial(C)
    assert evolve(state, other) == state


# --- the loan, interest and fees


def test_loan_advance_and_repayment_in_order_interest_fees_principal() -> None:
    repay = ev.LoanRepaid(
        C,
        hkd(1_050),
        journals.repayment(C, interest=hkd(30), fees=hkd(20), principal=hkd(1_000)),
    )
    state = given_(
        advance(hkd(10_000)),
        accrue(hkd(30), date(2026, 3, 1)),
        ev.FeeCharged(C, hkd(20), "admin", "x", journals.fee_charge(C, hkd(20))),
    )
    assert state.principal.get("HKD") == 10_000
    assert state.accrued_interest.get("HKD") == 30
    assert state.unpaid_fees.get("HKD") == 20
    assert state.debt.get("HKD") == 10_050
    assert state.cash.get("HKD") == 10_000
    state = evolve(state, repay)
    assert state.principal.get("HKD") == 9_000
    assert state.accrued_interest.is_zero and state.unpaid_fees.is_zero
    assert state.cash.get("HKD") == 8_950
    assert state.debt.get("HKD") == 9_000 and state.has_debt


def test_interest_accrues_daily_and_capitalises() -> None:
    state = given_(
        advance(hkd(10_000)),
        accrue(hkd(3), date(2026, 3, 1)),
        accrue(hkd(3), date(2026, 3, 2)),
    )
    assert state.accrued_interest.get("HKD") == 6
    assert state.last_accrual_date == date(2026, 3, 2)
    cap = ev.InterestCapitalised(
        C, hkd(6), date(2026, 3, 31), journals.interest_capitalisation(C, hkd(6))
    )
    state = evolve(state, cap)
    assert state.accrued_interest.is_zero
    assert state.principal.get("HKD") == 10_006
    assert state.last_capitalisation_date == date(2026, 3, 31)


# --- risk: warnings, margin calls, advances


def test_warning_comes_and_goes() -> None:
    state = given_(ev.EarlyWarningIssued(C, RISK, BASIS))
    assert state.risk is RiskState.WARNING
    assert evolve(state, ev.EarlyWarningCleared(C, RISK, BASIS)).risk is RiskState.HEALTHY


def test_margin_call_issued_expired_and_met() -> None:
    deadline = NOW + timedelta(days=1)
    state = given_(
        ev.MarginCallIssued(C, "MC-1", hkd(1_000), deadline, RISK, BASIS),
        ev.AdvancesSuspended(C, "margin_call_open"),
    )
    assert state.risk is RiskState.MARGIN_CALL
    assert state.margin_call == OpenMarginCall(
        "MC-1", hkd(1_000), deadline, issued_at=BASIS.decided_at
    )
    assert state.advances_suspended
    expired = evolve(state, ev.MarginCallExpired(C, "MC-1", deadline))
    assert expired.margin_call is not None and expired.margin_call.expired
    met = evolve(
        evolve(state, ev.MarginCallMet(C, "MC-1", RISK, BASIS)),
        ev.AdvancesResumed(C, "margin_call_met"),
    )
    assert met.risk is RiskState.HEALTHY and met.margin_call is None
    assert not met.advances_suspended


def test_concentration_flags() -> None:
    breach = ev.ConcentrationLimitBreached(C, "single_client", hkd(2), hkd(1))
    state = given_(breach, breach, ev.ConcentrationLimitBreached(C, "group", hkd(2), hkd(1)))
    assert state.limit_breach and state.breached_limits == ("single_client", "group")
    state = evolve(state, ev.ConcentrationLimitCleared(C, "single_client", hkd(0), hkd(1)))
    state = evolve(state, ev.ConcentrationLimitCleared(C, "group", hkd(0), hkd(1)))
    assert not state.limit_breach


# --- liquidation and its aftermath


def _sold(quantity: int, proceeds: int, fee: int) -> ev.LiquidationFillExecuted:
    price = Decimal(1)
    return ev.LiquidationFillExecuted(
        C, "L-1", f"F-{quantity}", btc(quantity), price, hkd(proceeds), hkd(fee), "sim",
        "mm", False, price, price, NOW,
        journals.liquidation_fill(
            C, "sim", quantity=btc(quantity), proceeds=hkd(proceeds), fee=hkd(fee)
        ),
    )  # fmt: skip


STARTED = ev.LiquidationStarted(
    C, "L-1", ev.LiquidationTrigger.CALL_DEADLINE_PASSED, Decimal("0.8"), RISK, BASIS
)


def test_liquidation_that_restores_health() -> None:
    state = given_(
        pledge(btc(100)),
        advance(hkd(10_000)),
        withdraw(hkd(10_000)),
        ev.MarginCallIssued(C, "MC-1", hkd(500), NOW, RISK, BASIS),
        STARTED,
    )
    assert state.risk is RiskState.LIQUIDATING and state.liquidation_id == "L-1"
    state = evolve(state, _sold(40, 5_000, 100))
    assert state.collateral.get("BTC") == 60
    assert state.cash.get("HKD") == 4_900  # proceeds less the 2% fee
    repay = ev.LoanRepaid(
        C, hkd(4_900), journals.repayment(C, interest=hkd(0), fees=hkd(0), principal=hkd(4_900))
    )
    state = evolve(state, repay)
    assert state.principal.get("HKD") == 5_100 and state.cash.is_zero
    state = evolve(state, ev.LiquidationCompleted(C, "L-1", RISK, BASIS))
    assert state.risk is RiskState.HEALTHY
    assert state.margin_call is None and state.liquidation_id is None


def _deficit() -> MarginAccount:
    shortfall = ev.ShortfallRecognised(
        C,
        "L-1",
        hkd(1_030),
        journals.shortfall_recognition(C, principal=hkd(1_000), interest=hkd(20), fees=hkd(10)),
    )
    return given_(
        pledge(btc(10)),
        advance(hkd(1_000)),
        withdraw(hkd(1_000)),
        accrue(hkd(20), date(2026, 3, 1)),
        ev.FeeCharged(C, hkd(10), "liquidation", "L-1", journals.fee_charge(C, hkd(10))),
        STARTED,
        _sold(10, 100, 100),  # all the collateral, every cent of it taken as fee
        ev.LiquidationCompleted(C, "L-1", RISK, BASIS),
        shortfall,
    )


def test_collateral_exhausted_with_debt_left_is_a_deficit() -> None:
    state = _deficit()
    assert state.risk is RiskState.DEFICIT
    assert state.collateral.is_zero
    assert state.principal.is_zero and state.accrued_interest.is_zero
    assert state.unpaid_fees.is_zero
    assert state.shortfall.get("HKD") == 1_030
    assert state.debt.get("HKD") == 1_030  # the claim is not extinguished


def test_partial_recovery_stays_in_deficit_full_recovery_recovers() -> None:
    def recovered(minor: int) -> ev.DebtRecovered:
        return ev.DebtRecovered(C, hkd(minor), "bank", journals.debt_recovery(C, hkd(minor)))

    partial = evolve(_deficit(), recovered(30))
    assert partial.risk is RiskState.DEFICIT and partial.shortfall.get("HKD") == 1_000
    full = evolve(partial, recovered(1_000))
    assert full.risk is RiskState.RECOVERED and not full.has_debt


def test_write_off_then_close() -> None:
    off = ev.DebtWrittenOff(C, hkd(1_030), "cfo", journals.debt_write_off(C, hkd(1_030)))
    state = evolve(_deficit(), off)
    assert state.risk is RiskState.WRITTEN_OFF and not state.has_debt
    assert evolve(state, ev.AccountClosed(C, "written_off")).status is Lifecycle.CLOSED


# --- snapshots


def _rich_state() -> MarginAccount:
    return given_(
        *ONBOARDED,
        ev.ProfessionalInvestorStatusSet(C, True, date(2026, 1, 1)),
        deposit(hkd(123_45)),
        pledge(btc(12_345_678)),
        advance(hkd(99)),
        accrue(hkd(1), date(2026, 3, 1)),
        ev.ConcentrationLimitBreached(C, "single_client", hkd(2), hkd(1)),
        ev.MarginCallIssued(C, "MC-9", hkd(77), NOW, RISK, BASIS),
        ev.MarginCallExpired(C, "MC-9", NOW),
        ev.AdvancesSuspended(C, "margin_call_open"),
        ev.AccountSuspended(C, "hold"),
    )


def test_snapshot_round_trip_is_exact() -> None:
    for state in (MarginAccount.initial(C), _rich_state(), _deficit()):
        snapshot = to_snapshot(state)
        stored = json.loads(json.dumps(snapshot))
        assert from_snapshot(stored) == state
        assert to_snapshot(from_snapshot(stored)) == snapshot


def test_snapshot_then_rest_equals_full_replay() -> None:
    history = [*ONBOARDED, deposit(hkd(5)), advance(hkd(3)), withdraw(hkd(2)), deposit(hkd(1))]
    full = replay(C, history)
    middle = from_snapshot(json.loads(json.dumps(to_snapshot(replay(C, history[:7])))))
    for event in history[7:]:
        middle = evolve(middle, event)
    assert middle == full


def test_snapshot_amounts_are_strings() -> None:
    data = to_snapshot(_rich_state())["state"]
    assert data["cash"] == {"HKD": "124.44"}  # the deposit plus the advance
    assert data["collateral"] == {"BTC": "0.12345678"}
    assert data["margin_call"]["amount"] == {"asset": "HKD", "amount": "0.77"}


@pytest.mark.parametrize(
    "data",
    [
        {"snapshot_version": 999, "state": {}},
        {"state": {}},
        {"snapshot_version": 1, "state": {"client_id": C, "mystery": 1}},
        {"snapshot_version": 1, "state": {"client_id": C, "status": "dormant"}},
        {"snapshot_version": 1, "state": {"client_id": C, "cash": {"HKD": 5}}},
    ],
)
def test_foreign_snapshots_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        from_snapshot(data)


# --- the property: the state is the ledger

_AMOUNTS = st.integers(min_value=1, max_value=10**12)
_MOVES = st.lists(
    st.tuples(st.sampled_from(["deposit", "withdraw"]), st.sampled_from([HKD, USDT]), _AMOUNTS),
    max_size=40,
)


@given(_MOVES)
def test_cash_balance_is_the_sum_of_postings_to_client_cash(
    moves: list[tuple[str, object, int]],
) -> None:
    state = MarginAccount.initial(C)
    posted: dict[str, int] = {}
    for kind, of, minor in moves:
        assert of in (HKD, USDT)
        amount = Money(HKD if of == HKD else USDT, minor)
        event: ev.Event = deposit(amount) if kind == "deposit" else withdraw(amount)
        state = evolve(state, event)
        journal = ev.journal_of(event)
        assert journal is not None
        for p in journal:
            if p.ledger_account == client_cash(C):
                posted[p.asset] = posted.get(p.asset, 0) + p.amount
    assert state.cash.as_dict() == {code: n for code, n in posted.items() if n != 0}
