"""Credit facts by maker and checker: proposed by one principal, in effect only once another
approves them; each refusal of that path. Pure domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from harbour.accounts import domain as d
from harbour.application.caller import Principal
from harbour.ledger import errors
from harbour.ledger import events as ev
from harbour.ledger.account import CREDIT_HOLD, Lifecycle, MarginAccount, evolve, replay
from harbour.ledger.eligibility import who_may_borrow
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.runtime.authorization import PACKAGE, authorize

C = "C1"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
MAKER, CHECKER = "ann", "ben"
GRADE_A = ev.ProposedCreditAssessment("CA-2", CreditGrade.A, date(2026, 11, 24), None)
LIMIT = Money.of("HKD", "250000.00")


def context(actor: str, now: datetime = NOW) -> d.Context:
    return d.Context(now, CreditGrade.BBB, actor=actor)


def fold(state: MarginAccount, events: list[ev.Event]) -> MarginAccount:
    for event in events:
        state = evolve(state, event)
    return state


def applied() -> MarginAccount:
    """Onboarded and signed, with a securities account, but no credit fact yet."""
    return replay(
        C,
        [
            ev.ClientOnboarded(C, None),
            ev.SecuritiesMarginAccountLinked(C, "SMA-1"),
            ev.MarginAgreementSigned(C, "MA", date(2026, 11, 1)),
            ev.RiskDisclosureAcknowledged(C, "RD", date(2026, 11, 1)),
        ],
    )


def proposed(state: MarginAccount, fact: d.CreditFact, proposal: str = "P-1") -> MarginAccount:
    command = d.ProposeClientFact(C, proposal, fact)
    return fold(state, d.decide(state, command, context(MAKER)))


def approve(state: MarginAccount, proposal: str = "P-1", actor: str = CHECKER) -> list[ev.Event]:
    return d.decide(state, d.ApproveClientFact(C, proposal), context(actor))


def test_a_proposal_records_who_and_when_and_changes_nothing_yet() -> None:
    events = d.decide(applied(), d.ProposeClientFact(C, "P-1", GRADE_A), context(MAKER))
    assert events == [ev.ClientFactProposed(C, "P-1", MAKER, NOW, credit_assessment=GRADE_A)]
    state = fold(applied(), events)
    assert state.credit_grade is None
    assert [p.proposal_id for p in state.pending_fact_proposals] == ["P-1"]


def test_an_approval_by_another_principal_puts_the_fact_in_effect() -> None:
    state = proposed(applied(), GRADE_A)
    later = datetime(2026, 11, 26, tzinfo=UTC)
    events = d.decide(state, d.ApproveClientFact(C, "P-1"), context(CHECKER, later))
    assert events == [
        ev.ClientFactApproved(C, "P-1", "credit_assessment", MAKER, CHECKER, later),
        ev.CreditAssessed(C, "CA-2", CreditGrade.A, date(2026, 11, 24), None),
    ]
    state = fold(state, events)
    assert state.credit_grade is CreditGrade.A and state.pending_fact_proposals == ()
    # The limit activates the signed client, as a limit recorded directly did.
    state = proposed(state, LIMIT, "P-2")
    assert state.status is Lifecycle.APPLIED
    state = fold(state, approve(state, "P-2"))
    assert state.status is Lifecycle.ACTIVE and state.credit_limit == LIMIT
    assert who_may_borrow(state, CreditGrade.BBB, NOW) == ()


@pytest.mark.parametrize(
    "command", [d.ApproveClientFact(C, "P-1"), d.RejectClientFact(C, "P-1", "no")]
)
def test_the_maker_may_not_decide_its_own_proposal(command: d.Command) -> None:
    state = proposed(applied(), LIMIT)
    with pytest.raises(errors.SameMakerAndChecker) as refused:
        d.decide(state, command, context(MAKER))
    assert refused.value.reason == "same_maker_and_checker"
    assert refused.value.category is errors.Category.PERMISSION_DENIED


@pytest.mark.parametrize(
    "command", [d.ApproveClientFact(C, "P-9"), d.RejectClientFact(C, "P-9", "no")]
)
def test_an_unknown_proposal_is_not_found(command: d.Command) -> None:
    with pytest.raises(d.FactProposalNotFound) as refused:
        d.decide(proposed(applied(), LIMIT), command, context(CHECKER))
    assert refused.value.reason == "fact_proposal_not_found"


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_a_decided_proposal_is_decided_once(first: str) -> None:
    state = proposed(applied(), LIMIT)
    if first == "approve":
        state = fold(state, approve(state))
    else:
        state = fold(state, d.decide(state, d.RejectClientFact(C, "P-1", "no"), context(CHECKER)))
    for again in (d.ApproveClientFact(C, "P-1"), d.RejectClientFact(C, "P-1", "no")):
        with pytest.raises(errors.ProposalNotPending) as refused:
            d.decide(state, again, context("carl"))
        assert refused.value.reason == "proposal_not_pending"


def test_a_rejected_fact_never_takes_effect() -> None:
    state = proposed(applied(), LIMIT)
    events = d.decide(state, d.RejectClientFact(C, "P-1", "limit too high"), context(CHECKER))
    assert events == [
        ev.ClientFactRejected(C, "P-1", "credit_limit", MAKER, CHECKER, NOW, "limit too high")
    ]
    state = fold(state, events)
    assert state.credit_limit is None and state.status is Lifecycle.APPLIED


def test_a_proposal_id_names_one_proposal_and_a_bad_fact_is_refused_at_once() -> None:
    state = proposed(applied(), LIMIT)
    with pytest.raises(errors.ProposalAlreadyExists):
        d.decide(state, d.ProposeClientFact(C, "P-1", GRADE_A), context(MAKER))
    with pytest.raises(errors.InvalidArgument):
        d.decide(state, d.ProposeClientFact(C, "P-2", Money.of("BTC", "1")), context(MAKER))
    with pytest.raises(errors.AccountNotFound):
        d.decide(MarginAccount.initial(C), d.ProposeClientFact(C, "P-1", LIMIT), context(MAKER))


@pytest.mark.parametrize(
    "command",
    [
        d.RecordCreditAssessment(C, "CA-2", CreditGrade.A, date(2026, 11, 24), None),
        d.SetCreditLimit(C, LIMIT),
        d.SetProfessionalInvestorStatus(C, True, "PI-1", date(2027, 1, 1)),
    ],
)
def test_the_direct_commands_are_refused_naming_the_new_path(command: d.Command) -> None:
    with pytest.raises(d.MakerCheckerRequired) as refused:
        d.decide(applied(), command, context(MAKER))
    assert refused.value.category is errors.Category.FAILED_PRECONDITION
    assert "ProposeClientFact" in refused.value.message


def test_onboarding_proposes_its_grade_and_limit() -> None:
    onboard = d.OnboardClient(C, "SMA-1", "CA-1", CreditGrade.A, LIMIT, "MA", "RD", False)
    state = fold(
        MarginAccount.initial(C), d.decide(MarginAccount.initial(C), onboard, context(MAKER))
    )
    assert [p.proposal_id for p in state.pending_fact_proposals] == [
        "onboarding-credit-assessment",
        "onboarding-credit-limit",
    ]
    assert state.credit_grade is None and state.status is Lifecycle.APPLIED
    for proposal in ("onboarding-credit-assessment", "onboarding-credit-limit"):
        state = fold(state, approve(state, proposal))
    assert state.status is Lifecycle.ACTIVE
    assert who_may_borrow(state, CreditGrade.BBB, NOW) == ()
    with pytest.raises(d.MakerCheckerRequired):
        d.decide(
            MarginAccount.initial(C), replace(onboard, professional_investor=True), context(MAKER)
        )


def test_an_approved_downgrade_suspends_advances_and_an_upgrade_resumes_them() -> None:
    state = fold(proposed(applied(), GRADE_A), approve(proposed(applied(), GRADE_A)))
    weak = ev.ProposedCreditAssessment("CA-3", CreditGrade.BB, date(2026, 11, 25), None)
    state = proposed(state, weak, "P-2")
    events = approve(state, "P-2")
    assert events[-1] == ev.AdvancesSuspended(C, "credit_grade_below_minimum")
    state = fold(state, events)
    assert state.advances_held(CREDIT_HOLD) and state.advances_suspended
    # A second downgrade changes nothing more: the hold is recorded once.
    worse = ev.ProposedCreditAssessment("CA-4", CreditGrade.C, date(2026, 11, 25), None)
    state = proposed(state, worse, "P-3")
    assert not any(isinstance(e, ev.AdvancesSuspended) for e in approve(state, "P-3"))
    state = fold(state, approve(state, "P-3"))
    good = ev.ProposedCreditAssessment("CA-5", CreditGrade.AA, date(2026, 11, 25), None)
    state = proposed(state, good, "P-4")
    events = approve(state, "P-4")
    assert events[-1] == ev.AdvancesResumed(C, "credit_assessment_acceptable")
    assert not fold(state, events).advances_suspended


def test_an_assessment_approved_after_it_lapsed_suspends_advances() -> None:
    lapsing = ev.ProposedCreditAssessment("CA-2", CreditGrade.A, date(2026, 1, 1), date(2026, 6, 1))
    state = proposed(applied(), lapsing)
    assert approve(state)[-1] == ev.AdvancesSuspended(C, "credit_assessment_expired")


@pytest.mark.parametrize("method", ["ProposeClientFact", "ApproveClientFact", "RejectClientFact"])
def test_only_credit_roles_may_propose_and_decide(method: str) -> None:
    rpc = f"/{PACKAGE}.AccountsService/{method}"
    for role in ("operator", "risk"):
        authorize(Principal("someone", frozenset({role})), rpc)
    for role in ("trading-platform", "auditor", "policy-admin", "price-feed"):
        with pytest.raises(errors.PermissionDenied):
            authorize(Principal("someone", frozenset({role})), rpc)
