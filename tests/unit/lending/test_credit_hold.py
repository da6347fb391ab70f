"""The credit hold on advances: a lapsed or below-minimum credit assessment suspends advances
with its reason (CheckCredit, the approval of an assessment), a margin call suspends them for
its own; each cause is lifted by its own event, and advances resume only when none is left."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from harbour.ledger import errors
from harbour.ledger import events as ev
from harbour.ledger.account import CREDIT_HOLD, MARGIN_CALL_HOLD, evolve
from harbour.ledger.grades import CreditGrade
from harbour.ledger.policy import apply_parameters
from harbour.lending import domain as d
from tests.unit.lending.test_lending_domain import (
    NO_EXPOSURE,
    NOW,
    POLICY,
    C,
    applied,
    collateralised,
    deposited,
    fully_drawn,
    hkd,
    in_call,
    names,
    prices,
    when,
)

EXPIRY = NOW.date() + timedelta(days=3)


def assessed(grade: CreditGrade, expires: date | None = None) -> ev.CreditAssessed:
    return ev.CreditAssessed(C, "CA-2", grade, NOW.date(), expires)


def test_an_assessment_suspends_advances_from_its_expiry_day_once() -> None:
    state = evolve(collateralised(), assessed(CreditGrade.A, EXPIRY))
    day_before = NOW + timedelta(days=2)
    assert when(state, d.CheckCredit(C), now=day_before).account == []
    on_expiry = NOW.replace(hour=0, minute=0) + timedelta(days=3)
    decision = when(state, d.CheckCredit(C), now=on_expiry, price_book=prices(at=on_expiry))
    assert decision.account == [ev.AdvancesSuspended(C, "credit_assessment_expired")]
    assert decision.exposure == []
    state = applied(state, decision)
    assert state.advances_held(CREDIT_HOLD)
    assert when(state, d.CheckCredit(C), now=on_expiry).account == []  # recorded once
    with pytest.raises(errors.NotEligible) as refused:
        when(state, d.DrawLoan(C, hkd("1.00")), now=on_expiry, price_book=prices(at=on_expiry))
    assert refused.value.unmet == ("credit_assessment_expired",)


def test_a_lowered_minimum_lifts_a_below_minimum_hold() -> None:
    state = evolve(collateralised(), assessed(CreditGrade.BB))
    state = applied(state, when(state, d.CheckCredit(C)))
    assert state.advances_held(CREDIT_HOLD)
    lowered = apply_parameters(
        POLICY, [ev.PolicyParameter("credit.minimum_grade", "BB")], version=3, effective_from=NOW
    )
    context = d.Context(NOW, lowered, prices(), NO_EXPOSURE, "r")
    decision = d.decide(state, d.CheckCredit(C), context)
    assert decision.account == [ev.AdvancesResumed(C, "credit_assessment_acceptable")]
    assert not applied(state, decision).advances_suspended


def test_a_met_margin_call_leaves_the_credit_hold_in_place() -> None:
    state, t2 = in_call()
    assert state.advance_holds == (MARGIN_CALL_HOLD,)
    state = evolve(state, assessed(CreditGrade.BB))  # downgraded while in the call
    credit = when(state, d.CheckCredit(C), now=t2, price_book=prices("300", at=t2))
    assert credit.account == [ev.AdvancesSuspended(C, "credit_grade_below_minimum")]
    state = applied(state, credit)
    state = evolve(state, deposited(hkd("30000.00")))  # meets the call (see the lending tests)
    met = when(state, d.CheckRisk(C), now=t2, price_book=prices("300", at=t2))
    assert names(met)[:2] == ["MarginCallMet", "AdvancesResumed"]
    state = applied(state, met)
    assert state.margin_call is None and state.advance_holds == (CREDIT_HOLD,)
    assert state.advances_suspended  # the credit cause is left: still no advances
    state = evolve(state, assessed(CreditGrade.A))  # an acceptable assessment approved
    lifted = when(state, d.CheckCredit(C), now=t2, price_book=prices("300", at=t2))
    assert lifted.account == [ev.AdvancesResumed(C, "credit_assessment_acceptable")]
    assert not applied(state, lifted).advances_suspended


def test_a_margin_call_on_a_credit_held_account_records_its_own_suspension() -> None:
    state = fully_drawn()
    state = evolve(state, ev.AdvancesSuspended(C, "credit_grade_below_minimum"))
    t2 = NOW + timedelta(hours=2)
    call = when(state, d.CheckRisk(C), now=t2, price_book=prices("300", at=t2))
    assert names(call) == ["MarginCallIssued", "AdvancesSuspended"]
    assert applied(state, call).advance_holds == (CREDIT_HOLD, MARGIN_CALL_HOLD)
