"""Client facts recorded after onboarding, and eligibility as they change and lapse. The
credit facts go through a maker and a checker (harbour.testing.credit.recorded); the refusals
of that path are in test_client_fact_approval.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from harbour.accounts import domain as d
from harbour.ledger import errors
from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, evolve, replay
from harbour.ledger.eligibility import (
    CREDIT_ASSESSMENT_EXPIRED,
    is_professional_investor,
    who_may_borrow,
)
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.testing.credit import recorded

C = "C1"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
CONTEXT = d.Context(NOW)
HKD = Money.of("HKD", "500000.00")


def fold(state: MarginAccount, events: list[ev.Event]) -> MarginAccount:
    for event in events:
        state = evolve(state, event)
    return state


def decide(state: MarginAccount, command: d.Command) -> MarginAccount:
    return fold(state, d.decide(state, command, CONTEXT))


def credit(state: MarginAccount, fact: d.CreditFact) -> MarginAccount:
    """``fact`` proposed by one principal and approved by another."""
    return fold(state, recorded(state, fact, CONTEXT))


def assessment(grade: CreditGrade, on: date, expires: date | None) -> d.CreditFact:
    return ev.ProposedCreditAssessment("CA-2", grade, on, expires)


def applied() -> MarginAccount:
    """Onboarded with a securities account, a grade and a limit, but nothing signed."""
    return replay(
        C,
        [
            ev.ClientOnboarded(C, None),
            ev.SecuritiesMarginAccountLinked(C, "SMA-1"),
            ev.CreditAssessed(C, "CA-1", CreditGrade.A, date(2026, 1, 5)),
            ev.CreditLimitSet(C, HKD),
        ],
    )


def test_signing_after_onboarding_activates_the_client() -> None:
    state = applied()
    assert state.status is Lifecycle.APPLIED
    state = decide(state, d.SignMarginAgreement(C, "MA-2026", date(2026, 11, 20)))
    assert state.status is Lifecycle.ACTIVE
    assert who_may_borrow(state, CreditGrade.BBB, NOW) == ("risk_disclosure_missing",)
    state = decide(state, d.AcknowledgeRiskDisclosure(C, "RD-1", date(2026, 11, 21)))
    assert who_may_borrow(state, CreditGrade.BBB, NOW) == ()


def eligible() -> MarginAccount:
    state = decide(applied(), d.SignMarginAgreement(C, "MA-2026", date(2026, 11, 20)))
    return decide(state, d.AcknowledgeRiskDisclosure(C, "RD-1", date(2026, 11, 21)))


def test_a_downgrade_below_the_minimum_stops_borrowing() -> None:
    state = credit(eligible(), assessment(CreditGrade.BB, date(2026, 11, 24), None))
    assert who_may_borrow(state, CreditGrade.BBB, NOW) == ("credit_grade_below_minimum",)


def test_an_assessment_lapses_on_its_expiry_day() -> None:
    events = recorded(
        eligible(), assessment(CreditGrade.AA, date(2026, 11, 1), date(2026, 12, 1)), CONTEXT
    )
    assert (
        ev.CreditAssessed(C, "CA-2", CreditGrade.AA, date(2026, 11, 1), date(2026, 12, 1)) in events
    )
    state = fold(eligible(), events)
    assert who_may_borrow(state, CreditGrade.BBB, datetime(2026, 11, 30, 23, tzinfo=UTC)) == ()
    on_expiry = datetime(2026, 12, 1, tzinfo=UTC)
    assert who_may_borrow(state, CreditGrade.BBB, on_expiry) == (CREDIT_ASSESSMENT_EXPIRED,)
    # A read model with no instant of its own does not judge expiry.
    assert who_may_borrow(state, CreditGrade.BBB) == ()


def test_unlinking_the_securities_account_stops_borrowing() -> None:
    events = d.decide(eligible(), d.UnlinkSecuritiesAccount(C), CONTEXT)
    assert events == [ev.SecuritiesMarginAccountUnlinked(C, "SMA-1")]
    state = fold(eligible(), events)
    assert who_may_borrow(state, CreditGrade.BBB, NOW) == ("no_securities_margin_account",)
    with pytest.raises(errors.FailedPrecondition):
        d.decide(state, d.UnlinkSecuritiesAccount(C), CONTEXT)
    relinked = decide(state, d.LinkSecuritiesAccount(C, "SMA-2"))
    assert relinked.securities_account_id == "SMA-2"
    assert who_may_borrow(relinked, CreditGrade.BBB, NOW) == ()


def test_credit_limit_and_related_group_change() -> None:
    state = credit(eligible(), Money.of("HKD", "1000.00"))
    assert state.credit_limit == Money.of("HKD", "1000.00")
    state = decide(state, d.SetRelatedGroup(C, "G-9"))
    assert state.related_group_id == "G-9"
    assert decide(state, d.SetRelatedGroup(C, None)).related_group_id is None
    with pytest.raises(errors.InvalidArgument):
        recorded(state, Money.of("BTC", "1"), CONTEXT)


def test_professional_status_needs_evidence_and_lapses() -> None:
    status = ev.ProposedProfessionalInvestorStatus(True, "PI-CERT-1", date(2027, 1, 1))
    events = recorded(eligible(), status, CONTEXT)
    set_ = ev.ProfessionalInvestorStatusSet(C, True, NOW.date(), "PI-CERT-1", date(2027, 1, 1))
    assert events[-1] == set_
    state = fold(eligible(), events)
    assert is_professional_investor(state, NOW)
    assert not is_professional_investor(state, datetime(2027, 1, 1, tzinfo=UTC))
    for bad in (
        ev.ProposedProfessionalInvestorStatus(True, "", date(2027, 1, 1)),
        ev.ProposedProfessionalInvestorStatus(True, "PI-CERT-1", None),
        ev.ProposedProfessionalInvestorStatus(True, "PI-CERT-1", NOW.date()),
    ):
        with pytest.raises(errors.InvalidArgument):
            recorded(eligible(), bad, CONTEXT)
    revoked = credit(state, ev.ProposedProfessionalInvestorStatus(False, "", None))
    assert not is_professional_investor(revoked, NOW)


def test_an_expiry_not_after_the_assessment_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument):
        recorded(
            eligible(), assessment(CreditGrade.A, date(2026, 11, 1), date(2026, 11, 1)), CONTEXT
        )


@pytest.mark.parametrize(
    "command",
    [
        d.SignMarginAgreement(C, "MA", date(2026, 1, 1)),
        d.UnlinkSecuritiesAccount(C),
        d.SetRelatedGroup(C, None),
    ],
)
def test_facts_need_an_open_account(command: d.Command) -> None:
    with pytest.raises(errors.AccountNotFound):
        d.decide(MarginAccount.initial(C), command, CONTEXT)
    closed = fold(eligible(), [ev.AccountClosed(C, "closed on request")])
    with pytest.raises(errors.AccountClosed):
        d.decide(closed, command, CONTEXT)
