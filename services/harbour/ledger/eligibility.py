"""Who may borrow (docs/domain.md, from the SFC circular).

A client may borrow only with a linked securities margin account, a completed credit
assessment at or above the policy's minimum grade, a signed margin agreement and an
acknowledged risk disclosure, and while the account is open, approved and not suspended.
Each unmet condition is a stable snake_case reason; the order below is the order reported.

Facts lapse: a credit assessment or a professional-investor status recorded with an expiry day
no longer counts from that day on. The caller says when (``now``): no clock here.
"""

from __future__ import annotations

from datetime import date, datetime

from harbour.ledger import events as ev
from harbour.ledger.account import CREDIT_HOLD, Lifecycle, MarginAccount
from harbour.ledger.errors import NotEligible
from harbour.ledger.grades import CreditGrade

ACCOUNT_CLOSED = "account_closed"
NO_SECURITIES_MARGIN_ACCOUNT = "no_securities_margin_account"
CREDIT_ASSESSMENT_MISSING = "credit_assessment_missing"
CREDIT_GRADE_BELOW_MINIMUM = "credit_grade_below_minimum"
CREDIT_ASSESSMENT_EXPIRED = "credit_assessment_expired"
CREDIT_LIMIT_MISSING = "credit_limit_missing"
MARGIN_AGREEMENT_MISSING = "margin_agreement_missing"
RISK_DISCLOSURE_MISSING = "risk_disclosure_missing"
ACCOUNT_SUSPENDED = "account_suspended"
# Why a credit hold on advances ends (AdvancesResumed): the assessment in force is acceptable.
CREDIT_ASSESSMENT_ACCEPTABLE = "credit_assessment_acceptable"

ALL_REASONS = (
    ACCOUNT_CLOSED,
    NO_SECURITIES_MARGIN_ACCOUNT,
    CREDIT_ASSESSMENT_MISSING,
    CREDIT_GRADE_BELOW_MINIMUM,
    CREDIT_ASSESSMENT_EXPIRED,
    CREDIT_LIMIT_MISSING,
    MARGIN_AGREEMENT_MISSING,
    RISK_DISCLOSURE_MISSING,
    ACCOUNT_SUSPENDED,
)


def who_may_borrow(
    state: MarginAccount, minimum_grade: CreditGrade, now: datetime | None = None
) -> tuple[str, ...]:
    """Why this client may not borrow at ``now``: empty when it may. Without ``now`` (a
    read model folding events, which has no instant of its own) expiry is not judged."""
    reasons: list[str] = []
    if state.status is Lifecycle.CLOSED:
        reasons.append(ACCOUNT_CLOSED)
    if state.securities_account_id is None:
        reasons.append(NO_SECURITIES_MARGIN_ACCOUNT)
    if state.credit_grade is None:
        reasons.append(CREDIT_ASSESSMENT_MISSING)
    elif not state.credit_grade.at_least(minimum_grade):
        reasons.append(CREDIT_GRADE_BELOW_MINIMUM)
    if state.credit_grade is not None and _lapsed(state.credit_expires_on, now):
        reasons.append(CREDIT_ASSESSMENT_EXPIRED)
    if state.credit_limit is None:
        reasons.append(CREDIT_LIMIT_MISSING)
    if not state.agreement_signed:
        reasons.append(MARGIN_AGREEMENT_MISSING)
    if not state.disclosure_acknowledged:
        reasons.append(RISK_DISCLOSURE_MISSING)
    if state.suspended:
        reasons.append(ACCOUNT_SUSPENDED)
    return tuple(reasons)


def is_professional_investor(state: MarginAccount, now: datetime) -> bool:
    """Whether the client counts as a professional investor at ``now`` (unexpired status)."""
    return state.professional_investor and not _lapsed(state.professional_investor_expires_on, now)


def credit_hold_reason(
    state: MarginAccount, minimum_grade: CreditGrade, now: datetime
) -> str | None:
    """Why the credit assessment in force at ``now`` suspends advances (a grade below the
    minimum, or lapsed), or None: acceptable, or no assessment at all (that is not a hold but
    an unmet condition of who_may_borrow)."""
    if state.credit_grade is None:
        return None
    if not state.credit_grade.at_least(minimum_grade):
        return CREDIT_GRADE_BELOW_MINIMUM
    if _lapsed(state.credit_expires_on, now):
        return CREDIT_ASSESSMENT_EXPIRED
    return None


def credit_hold(state: MarginAccount, minimum_grade: CreditGrade, now: datetime) -> list[ev.Event]:
    """The event that brings the account's credit hold in line with its credit assessment at
    ``now``: AdvancesSuspended with the reason when the assessment stops being acceptable,
    AdvancesResumed (``credit_assessment_acceptable``) when a held account's is acceptable
    again; nothing when they agree or the account is closed. A margin call's hold is its own
    (harbour.ledger.account.hold_of): this never lifts it."""
    if not state.exists or state.status is Lifecycle.CLOSED:
        return []
    reason = credit_hold_reason(state, minimum_grade, now)
    held = state.advances_held(CREDIT_HOLD)
    if reason is not None and not held:
        return [ev.AdvancesSuspended(state.client_id, reason)]
    if reason is None and held:
        return [ev.AdvancesResumed(state.client_id, CREDIT_ASSESSMENT_ACCEPTABLE)]
    return []


def _lapsed(expires_on: date | None, now: datetime | None) -> bool:
    # A fact expiring on a day no longer holds on that day.
    return expires_on is not None and now is not None and now.date() >= expires_on


def require_may_borrow(
    state: MarginAccount, minimum_grade: CreditGrade, now: datetime | None = None
) -> None:
    """Refuse with NotEligible (every unmet reason listed) unless the client may borrow."""
    unmet = who_may_borrow(state, minimum_grade, now)
    if unmet:
        raise NotEligible(f"client may not borrow: {', '.join(unmet)}", (), unmet)
