"""Corrections: a mistaken movement reversed by maker-checker, never edited. Pure domain."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from harbour.accounts import domain as d
from harbour.ledger import errors, journals
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve, replay
from harbour.ledger.money import Money

C = "C1"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
MAKER, CHECKER = "ann", "ben"


def hkd(text: str) -> Money:
    return Money.of("HKD", text)


def btc(text: str) -> Money:
    return Money.of("BTC", text)


def history() -> list[ev.Event]:
    """v1 onboarded, v2 HKD 1,000 in, v3 HKD 500 in (booked twice by mistake), v4 1 BTC
    pledged, v5 HKD 300 out: HKD 1,200 left."""
    basis = ev.DecisionBasis(0, (), NOW)
    return [
        ev.ClientOnboarded(C, None),
        deposit(hkd("1000.00")),
        deposit(hkd("500.00")),
        ev.CollateralDeposited(C, btc("1"), "wallet-1", journals.collateral_deposit(C, btc("1"))),
        ev.CashWithdrawn(C, hkd("300.00"), basis, journals.cash_withdrawal(C, hkd("300.00"))),
    ]


def deposit(amount: Money) -> ev.Event:
    return ev.CashDeposited(C, amount, "bank-1", journals.cash_deposit(C, amount))


def account(events: list[ev.Event]) -> MarginAccount:
    return replay(C, events)


@dataclass(frozen=True)
class Refusing:
    """A margin check that refuses every movement out (an account far beyond its limit)."""

    def check(self, after: MarginAccount, now: datetime) -> tuple[ev.RiskFigures, ev.DecisionBasis]:
        raise errors.UtilisationTooHigh("utilisation after this would be 1.2")


def context(
    events: list[ev.Event], version: int, actor: str, check: d.MarginCheck | None = None
) -> d.Context:
    """The context the handler builds: the event at ``version`` as read from the stream."""
    original = (
        d.OriginalMovement(version, 1000 + version, events[version - 1])
        if 1 <= version <= len(events)
        else None
    )
    base = d.Context(NOW, actor=actor, original=original)
    return base if check is None else replace(base, margin_check=check)


def propose(
    events: list[ev.Event],
    version: int,
    correction: str = "FIX-1",
    check: d.MarginCheck | None = None,
) -> list[ev.Event]:
    command = d.ProposeCorrection(C, correction, version, "booked twice")
    return d.decide(account(events), command, context(events, version, MAKER, check))


def approve(
    events: list[ev.Event], correction: str = "FIX-1", actor: str = CHECKER
) -> list[ev.Event]:
    state = account(events)
    pending = state.correction(correction)
    version = pending.original_version if pending else 0
    return d.decide(state, d.ApproveCorrection(C, correction), context(events, version, actor))


def reject(
    events: list[ev.Event], correction: str = "FIX-1", actor: str = CHECKER
) -> list[ev.Event]:
    command = d.RejectCorrection(C, correction, "not a mistake")
    return d.decide(account(events), command, context(events, 0, actor))


def test_a_reversed_deposit_restores_the_balances_and_references_the_original() -> None:
    events = history()
    proposed = propose(events, 3)
    assert proposed == [
        ev.CorrectionProposed(C, "FIX-1", 3, 1003, "CashDeposited", "booked twice", MAKER)
    ]
    events += proposed
    assert account(events).cash.get("HKD") == 120_000  # a proposal moves nothing
    (reversal,) = approve(events)
    assert isinstance(reversal, ev.MovementReversed)
    assert (reversal.original_version, reversal.original_position) == (3, 1003)
    assert (reversal.original_type, reversal.amount) == ("CashDeposited", hkd("500.00"))
    assert (reversal.proposed_by, reversal.approved_by) == (MAKER, CHECKER)
    assert reversal.reason == "booked twice"
    original = events[2]
    assert isinstance(original, ev.CashDeposited)
    # The exact opposite journal: the same legs in the same order, every sign flipped.
    assert [(p.ledger_account, p.asset, -p.amount) for p in reversal.journal] == [
        (p.ledger_account, p.asset, p.amount) for p in original.journal
    ]
    assert reversal.basis is not None  # value left the account: the margin test's basis
    after = account([*events, reversal])
    without_mistake = account([e for i, e in enumerate(history()) if i != 2])
    assert (after.cash, after.collateral) == (without_mistake.cash, without_mistake.collateral)
    assert after.correction("FIX-1") is not None
    assert after.correction("FIX-1").state == "approved"  # type: ignore[union-attr]


def test_a_reversed_withdrawal_puts_the_value_back_without_a_margin_test() -> None:
    events = history()
    events += propose(events, 5, check=Refusing())  # value comes in: no margin test
    (reversal,) = approve(events)
    assert isinstance(reversal, ev.MovementReversed) and reversal.basis is None
    assert account([*events, reversal]).cash.get("HKD") == 150_000


def test_a_reversal_that_takes_value_out_must_pass_the_margin_test() -> None:
    with pytest.raises(errors.UtilisationTooHigh):
        propose(history(), 4, check=Refusing())  # the pledged BTC would leave


def test_reversing_deposited_cash_already_spent_is_refused() -> None:
    events = history()
    basis = ev.DecisionBasis(0, (), NOW)
    spent = hkd("900.00")  # HKD 300 left: reversing the 500 would leave -200
    events.append(ev.CashWithdrawn(C, spent, basis, journals.cash_withdrawal(C, spent)))
    with pytest.raises(errors.InsufficientBalance, match="negative"):
        propose(events, 3)


def test_the_checker_checks_again_on_the_account_as_it_is_now() -> None:
    events = history()
    events += propose(events, 3)
    basis = ev.DecisionBasis(0, (), NOW)
    spent = hkd("1000.00")
    events.append(ev.CashWithdrawn(C, spent, basis, journals.cash_withdrawal(C, spent)))
    with pytest.raises(errors.InsufficientBalance):
        approve(events)  # HKD 200 left: the 500 cannot be taken back any more


def test_reversing_twice_is_refused() -> None:
    events = history()
    events += propose(events, 3)
    with pytest.raises(d.CorrectionPending):
        propose(events, 3, "FIX-2")
    events += approve(events)
    with pytest.raises(d.AlreadyReversed):
        propose(events, 3, "FIX-2")
    with pytest.raises(d.CorrectionNotPending):
        approve(events)


def test_only_cash_and_collateral_movements_are_reversible() -> None:
    events = history()
    with pytest.raises(d.NotReversible):
        propose(events, 1)  # ClientOnboarded
    events += propose(events, 3)
    events += approve(events)
    with pytest.raises(d.NotReversible):
        propose(events, 7, "FIX-2")  # the MovementReversed itself
    with pytest.raises(d.MovementNotFound):
        propose(events, 99, "FIX-3")


def test_the_maker_may_not_check_their_own_correction() -> None:
    events = history()
    events += propose(events, 3)
    with pytest.raises(errors.SameMakerAndChecker) as refused:
        approve(events, actor=MAKER)
    assert refused.value.category is errors.Category.PERMISSION_DENIED
    with pytest.raises(errors.SameMakerAndChecker):
        reject(events, actor=MAKER)


def test_a_rejected_correction_reverses_nothing_and_frees_the_movement() -> None:
    events = history()
    events += propose(events, 3)
    rejected = reject(events)
    assert rejected == [ev.CorrectionRejected(C, "FIX-1", CHECKER, "not a mistake")]
    events += rejected
    assert account(events).cash == account(history()).cash
    with pytest.raises(d.CorrectionNotPending):
        approve(events)
    with pytest.raises(d.CorrectionAlreadyExists):
        propose(events, 3)  # an id names one proposal only
    assert propose(events, 3, "FIX-2")  # the movement may be proposed again


def test_unknown_corrections_and_accounts_are_refused() -> None:
    with pytest.raises(d.CorrectionNotFound):
        approve(history(), "NOPE")
    empty = MarginAccount.initial(C)
    with pytest.raises(errors.AccountNotFound):
        d.decide(empty, d.RejectCorrection(C, "X", "r"), d.Context(NOW, actor=CHECKER))


def test_evolve_is_total_for_corrections_it_never_saw_proposed() -> None:
    state = account(history())
    reversal = ev.MovementReversed(
        C, "LOST", 3, 1003, "CashDeposited", hkd("500.00"), "r", MAKER, CHECKER, None,
        journals.reversal(journals.cash_deposit(C, hkd("500.00"))),
    )  # fmt: skip
    after = evolve(evolve(state, reversal), ev.CorrectionRejected(C, "UNKNOWN", CHECKER, "r"))
    assert after.cash.get("HKD") == 70_000
    assert [(c.correction_id, c.state) for c in after.corrections] == [("LOST", "approved")]
