"""Who may borrow: every missing item is a stable reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, replay
from harbour.ledger.assets import HKD
from harbour.ledger.eligibility import ALL_REASONS, require_may_borrow, who_may_borrow
from harbour.ledger.errors import Category, NotEligible, UnknownCreditGrade
from harbour.ledger.grades import CreditGrade, credit_grade
from harbour.ledger.money import Money

C = "C-7"


def eligible(grade: CreditGrade = CreditGrade.BBB) -> MarginAccount:
    return replay(
        C,
        [
            ev.ClientOnboarded(C, None),
            ev.SecuritiesMarginAccountLinked(C, "SMA-1"),
            ev.CreditAssessed(C, "CA-1", grade, date(2026, 3, 1)),
            ev.CreditLimitSet(C, Money(HKD, 1_000_000)),
            ev.MarginAgreementSigned(C, "v1", date(2026, 3, 1)),
            ev.RiskDisclosureAcknowledged(C, "v1", date(2026, 3, 1)),
        ],
    )


def test_a_complete_client_may_borrow() -> None:
    assert who_may_borrow(eligible(), CreditGrade.BBB) == ()
    require_may_borrow(eligible(), CreditGrade.BBB)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"securities_account_id": None}, "no_securities_margin_account"),
        ({"credit_grade": None}, "credit_assessment_missing"),
        ({"credit_grade": CreditGrade.BB}, "credit_grade_below_minimum"),
        ({"credit_limit": None}, "credit_limit_missing"),
        ({"agreement_version": None}, "margin_agreement_missing"),
        ({"disclosure_version": None}, "risk_disclosure_missing"),
        ({"suspended": True}, "account_suspended"),
        ({"status": Lifecycle.CLOSED}, "account_closed"),
    ],
)
def test_each_missing_item_has_its_reason(change: dict[str, object], reason: str) -> None:
    state = replace(eligible(), **change)  # type: ignore[arg-type]
    assert who_may_borrow(state, CreditGrade.BBB) == (reason,)


def test_a_new_client_misses_everything_in_a_stable_order() -> None:
    reasons = who_may_borrow(MarginAccount.initial(C), CreditGrade.BBB)
    assert reasons == (
        "no_securities_margin_account",
        "credit_assessment_missing",
        "credit_limit_missing",
        "margin_agreement_missing",
        "risk_disclosure_missing",
    )
    assert set(reasons) <= set(ALL_REASONS)


def test_not_eligible_lists_every_reason() -> None:
    with pytest.raises(NotEligible) as refused:
        require_may_borrow(MarginAccount.initial(C), CreditGrade.BBB)
    assert refused.value.reason == "not_eligible"
    assert refused.value.category is Category.FAILED_PRECONDITION
    assert "margin_agreement_missing" in refused.value.unmet


def test_grade_scale_best_first() -> None:
    order = [g.value for g in sorted(CreditGrade, key=lambda g: g.rank)]
    assert order == ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D"]
    assert CreditGrade.BBB.at_least(CreditGrade.BBB)
    assert CreditGrade.AAA.at_least(CreditGrade.D)
    assert not CreditGrade.D.at_least(CreditGrade.C)


@pytest.mark.parametrize(
    ("grade", "minimum", "ok"),
    [
        (CreditGrade.A, CreditGrade.A, True),
        (CreditGrade.AA, CreditGrade.A, True),
        (CreditGrade.BBB, CreditGrade.A, False),
    ],
)
def test_minimum_grade_boundary(grade: CreditGrade, minimum: CreditGrade, ok: bool) -> None:
    assert (who_may_borrow(eligible(grade), minimum) == ()) is ok


def test_grade_parsing() -> None:
    assert credit_grade("BBB") is CreditGrade.BBB
    with pytest.raises(UnknownCreditGrade) as refused:
        credit_grade("bbb", field="minimum_grade")
    assert refused.value.violations[0].field == "minimum_grade"
