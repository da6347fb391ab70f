"""Given events, when a command, then events or a refusal — no I/O anywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from harbour.accounts import domain as d
from harbour.ledger import errors, journals
from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, evolve, replay
from harbour.ledger.eligibility import who_may_borrow
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.testing import credit

C = "C1"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
CONTEXT = d.Context(NOW)


def hkd(text: str) -> Money:
    return Money.of("HKD", text)


def btc(text: str) -> Money:
    return Money.of("BTC", text)


ONBOARD = d.OnboardClient(
    client_id=C,
    securities_account_id="SMA-77",
    credit_assessment_id="CA-1",
    credit_grade=CreditGrade.A,
    credit_limit=hkd("500000.00"),
    agreement_version="MA-2026",
    disclosure_version="VARD-1",
    professional_investor=False,
)


def given(*history: ev.Event) -> MarginAccount:
    return replay(C, history)


def onboarded() -> list[ev.Event]:
    """Onboarding, and its credit grade and limit approved by a second principal."""
    return credit.onboarded(ONBOARD, CONTEXT)


def then(state: MarginAccount, command: d.Command) -> list[ev.Event]:
    return d.decide(state, command, CONTEXT)


def deposited(amount: Money) -> ev.Event:
    return ev.CashDeposited(C, amount, "bank-1", journals.cash_deposit(C, amount))


def pledged(quantity: Money) -> ev.Event:
    return ev.CollateralDeposited(C, quantity, "wallet-1", journals.collateral_deposit(C, quantity))


# ------------------------------------------------------------------------------ onboarding


def test_onboarding_records_every_fact_and_activates_the_account_once_credit_is_approved() -> None:
    events = onboarded()
    assert [type(e).__name__ for e in events] == [
        "ClientOnboarded",
        "SecuritiesMarginAccountLinked",
        "ClientFactProposed",
        "ClientFactProposed",
        "MarginAgreementSigned",
        "RiskDisclosureAcknowledged",
        "ProfessionalInvestorStatusSet",
        "ClientFactApproved",
        "CreditAssessed",
        "ClientFactApproved",
        "CreditLimitSet",
    ]
    assert events[8] == ev.CreditAssessed(C, "CA-1", CreditGrade.A, date(2026, 11, 25))
    assert given(*events[:7]).status is Lifecycle.APPLIED  # nothing approved yet
    state = given(*events)
    assert state.status is Lifecycle.ACTIVE
    assert who_may_borrow(state, CONTEXT.minimum_grade) == ()


def test_onboarding_without_the_borrowing_facts_applies_and_says_why_not() -> None:
    bare = d.OnboardClient(C, None, None, None, None, None, None, False)
    state = given(*then(MarginAccount.initial(C), bare))
    assert state.status is Lifecycle.APPLIED
    assert set(who_may_borrow(state, CONTEXT.minimum_grade)) == {
        "no_securities_margin_account",
        "credit_assessment_missing",
        "credit_limit_missing",
        "margin_agreement_missing",
        "risk_disclosure_missing",
    }


def test_a_grade_below_the_policy_minimum_may_not_borrow() -> None:
    weak = d.OnboardClient(C, "SMA-1", "CA-9", CreditGrade.CCC, hkd("1.00"), "MA", "VA", False)
    state = given(*credit.onboarded(weak, CONTEXT))
    assert who_may_borrow(state, CreditGrade.BBB) == ("credit_grade_below_minimum",)


def test_onboarding_twice_is_already_exists() -> None:
    with pytest.raises(errors.AccountAlreadyExists) as refused:
        then(given(*onboarded()), ONBOARD)
    assert refused.value.reason == "account_already_exists"


# ------------------------------------------------------------------------------ movements


def test_cash_deposit_and_withdrawal_move_balanced_journals() -> None:
    state = given(*onboarded())
    (deposit,) = then(state, d.DepositCash(C, hkd("1000.00"), "bank-1"))
    assert isinstance(deposit, ev.CashDeposited)
    assert deposit.journal.net("client:C1:cash", "HKD") == 100000
    state = evolve(state, deposit)
    (withdrawal,) = then(state, d.WithdrawCash(C, hkd("400.00"), "bank-2"))
    assert isinstance(withdrawal, ev.CashWithdrawn)
    assert withdrawal.basis.decided_at == NOW
    assert evolve(state, withdrawal).cash.money("HKD") == hkd("600.00")


def test_withdrawing_more_than_the_balance_is_insufficient_balance() -> None:
    state = given(*onboarded(), deposited(hkd("100.00")))
    with pytest.raises(errors.InsufficientBalance) as refused:
        then(state, d.WithdrawCash(C, hkd("100.01"), "bank-2"))
    assert refused.value.reason == "insufficient_balance"
    assert "100.00" in refused.value.message


def test_withdrawing_a_currency_never_deposited_is_insufficient_balance() -> None:
    state = given(*onboarded(), deposited(hkd("100.00")))
    with pytest.raises(errors.InsufficientBalance):
        then(state, d.WithdrawCash(C, Money.of("USD", "1.00"), "bank-2"))


def test_collateral_in_and_out() -> None:
    state = given(*onboarded(), pledged(btc("0.50000000")))
    (out,) = then(state, d.WithdrawCollateral(C, btc("0.20000000"), "wallet-2"))
    assert isinstance(out, ev.CollateralWithdrawn)
    assert evolve(state, out).collateral.money("BTC") == btc("0.30000000")
    with pytest.raises(errors.InsufficientCollateral):
        then(state, d.WithdrawCollateral(C, btc("0.50000001"), "wallet-2"))


@pytest.mark.parametrize(
    "command",
    [
        d.DepositCash(C, btc("1.00000000"), "x"),
        d.WithdrawCash(C, btc("1.00000000"), "x"),
        d.DepositCollateral(C, hkd("1.00"), "x"),
        d.WithdrawCollateral(C, Money.of("USDT", "1.000000"), "x"),
    ],
)
def test_cash_and_collateral_do_not_mix(command: d.Command) -> None:
    state = given(*onboarded(), deposited(hkd("5.00")), pledged(btc("1.00000000")))
    with pytest.raises(errors.InvalidArgument) as refused:
        then(state, command)
    assert refused.value.violations[0].field.endswith(".asset")


def test_a_movement_on_an_unknown_account_is_not_found() -> None:
    with pytest.raises(errors.AccountNotFound):
        then(MarginAccount.initial(C), d.DepositCash(C, hkd("1.00"), "x"))


def test_the_margin_hook_refuses_releasing_collateral_while_owing() -> None:
    loan = hkd("10.00")
    owing = ev.LoanAdvanced(
        C,
        loan,
        ev.RiskFigures(hkd("0.00"), hkd("0.00"), loan, None),
        ev.DecisionBasis(1, (), NOW),
        journals.loan_advance(C, loan),
    )
    state = given(*onboarded(), pledged(btc("1.00000000")), owing)
    with pytest.raises(errors.InsufficientCollateral):
        then(state, d.WithdrawCollateral(C, btc("0.10000000"), "wallet-2"))


def test_a_custom_margin_check_is_consulted_with_the_account_after_the_move() -> None:
    seen: list[MarginAccount] = []

    class Recording:
        def check(
            self, after: MarginAccount, now: datetime
        ) -> tuple[ev.RiskFigures, ev.DecisionBasis]:
            seen.append(after)
            return d.NoLendingMarginCheck(policy_version=7).check(after, now)

    state = given(*onboarded(), pledged(btc("1.00000000")))
    (out,) = d.decide(
        state,
        d.WithdrawCollateral(C, btc("0.25000000"), "w"),
        d.Context(NOW, margin_check=Recording()),
    )
    assert seen[0].collateral.money("BTC") == btc("0.75000000")
    assert isinstance(out, ev.CollateralWithdrawn) and out.basis.policy_version == 7


# ------------------------------------------------------------------- suspension and closing


def test_a_suspended_account_takes_deposits_but_lets_nothing_out() -> None:
    state = given(*onboarded(), deposited(hkd("50.00")), pledged(btc("1.00000000")))
    state = evolve(state, *then(state, d.SuspendAccount(C, "regulatory hold")))
    assert state.suspended
    assert then(state, d.DepositCash(C, hkd("1.00"), "bank"))  # money in is fine
    for command in (
        d.WithdrawCash(C, hkd("1.00"), "x"),
        d.WithdrawCollateral(C, btc("0.10000000"), "x"),
    ):
        with pytest.raises(errors.AccountSuspended):
            then(state, command)
    with pytest.raises(errors.AccountSuspended):
        then(state, d.SuspendAccount(C, "again"))
    resumed = evolve(state, *then(state, d.ResumeAccount(C, "hold lifted")))
    assert then(resumed, d.WithdrawCash(C, hkd("1.00"), "x"))


def test_resuming_an_account_that_is_not_suspended_is_refused() -> None:
    with pytest.raises(errors.FailedPrecondition):
        then(given(*onboarded()), d.ResumeAccount(C, "why"))


def test_closing_needs_zero_balances_and_then_nothing_moves() -> None:
    state = given(*onboarded(), deposited(hkd("5.00")))
    with pytest.raises(errors.NonZeroBalances):
        then(state, d.CloseAccount(C))
    state = evolve(state, *then(state, d.WithdrawCash(C, hkd("5.00"), "x")))
    closed = evolve(state, *then(state, d.CloseAccount(C)))
    assert closed.status is Lifecycle.CLOSED
    for command in (d.DepositCash(C, hkd("1.00"), "x"), d.CloseAccount(C)):
        with pytest.raises(errors.AccountClosed):
            then(closed, command)


def test_closing_with_debt_is_outstanding_debt() -> None:
    fee = hkd("3.00")
    charged = ev.FeeCharged(C, fee, "late_payment", "invoice-9", journals.fee_charge(C, fee))
    with pytest.raises(errors.OutstandingDebt):
        then(given(*onboarded(), charged), d.CloseAccount(C))
