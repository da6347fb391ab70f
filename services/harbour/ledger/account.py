"""The margin account: the state a client's stream folds into, and ``evolve``.

``evolve`` never validates and never raises on a business rule: events are facts already
decided, and replay must succeed even after the rules that produced them have changed. Events
this aggregate does not know (price, policy and broker-stream events, or other clients'
postings) leave the state unchanged.

Balances are not read from event fields but from the journal postings to the client's own
ledger accounts, so the state and the ledger cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any

from harbour.ledger import events as ev
from harbour.ledger.balances import EMPTY, Balances
from harbour.ledger.codec import DecodeError, decode_dataclass, encode_dataclass
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.ledger.postings import Journal, client_of


class Lifecycle(Enum):
    NOT_ONBOARDED = "not_onboarded"  # the initial state of an empty stream
    APPLIED = "applied"
    ACTIVE = "active"  # credit approved (a limit set) and the margin agreement signed
    CLOSED = "closed"


class RiskState(Enum):
    HEALTHY = "healthy"
    WARNING = "warning"
    MARGIN_CALL = "margin_call"
    LIQUIDATING = "liquidating"
    DEFICIT = "deficit"
    RECOVERED = "recovered"
    WRITTEN_OFF = "written_off"


@dataclass(frozen=True)
class OpenMarginCall:
    call_id: str
    amount: Money
    deadline: datetime
    expired: bool = False


@dataclass(frozen=True)
class MarginAccount:
    client_id: str
    status: Lifecycle = Lifecycle.NOT_ONBOARDED
    risk: RiskState = RiskState.HEALTHY
    # Orthogonal flags.
    suspended: bool = False
    advances_suspended: bool = False
    breached_limits: tuple[str, ...] = ()
    # Eligibility facts.
    related_group_id: str | None = None
    securities_account_id: str | None = None
    credit_grade: CreditGrade | None = None
    credit_limit: Money | None = None  # its asset is the loan currency
    facility_id: str | None = None  # set once a margin facility is approved
    annual_rate: Decimal | None = None
    agreement_version: str | None = None
    disclosure_version: str | None = None
    professional_investor: bool = False
    # Balances in minor units, per asset; what the client holds is positive ...
    cash: Balances = EMPTY
    collateral: Balances = EMPTY
    # ... and so is what the client owes (the ledger accounts hold minus these).
    principal: Balances = EMPTY
    accrued_interest: Balances = EMPTY
    unpaid_fees: Balances = EMPTY
    shortfall: Balances = EMPTY
    margin_call: OpenMarginCall | None = None
    liquidation_id: str | None = None
    last_accrual_date: date | None = None
    last_capitalisation_date: date | None = None

    @classmethod
    def initial(cls, client_id: str) -> MarginAccount:
        return cls(client_id)

    @property
    def exists(self) -> bool:
        return self.status is not Lifecycle.NOT_ONBOARDED

    @property
    def limit_breach(self) -> bool:
        return bool(self.breached_limits)

    @property
    def agreement_signed(self) -> bool:
        return self.agreement_version is not None

    @property
    def disclosure_acknowledged(self) -> bool:
        return self.disclosure_version is not None

    @cached_property
    def debt(self) -> Balances:
        """D per asset: principal + accrued interest + unpaid fees + shortfall. Worked out
        once per state (states are immutable; the next event makes a new one): a risk check
        reads it several times, and a screen of every borrower was spending a third of its
        time adding these up again."""
        return self.principal + self.accrued_interest + self.unpaid_fees + self.shortfall

    @property
    def has_debt(self) -> bool:
        return any(minor != 0 for _, minor in self.debt)

    @property
    def has_balances(self) -> bool:
        """Anything still held for the client (an account with balances cannot close)."""
        return bool(self.cash) or bool(self.collateral)


def _apply_postings(state: MarginAccount, event: ev.Event) -> MarginAccount:
    journal = ev.journal_of(event)
    return state if journal is None else with_journal(state, journal)


def with_journal(state: MarginAccount, journal: Journal) -> MarginAccount:
    """The account as ``journal`` would leave it (a decision's "after" view)."""
    balances = {
        "cash": state.cash,
        "custody": state.collateral,
        "loan": state.principal,
        "interest_receivable": state.accrued_interest,
        "fees_receivable": state.unpaid_fees,
        "shortfall": state.shortfall,
    }
    touched = False
    for posting in journal:
        owner = client_of(posting.ledger_account)
        if owner is None or owner[0] != state.client_id:
            continue
        kind = owner[1]
        # The client holds cash and custody; the other accounts go negative as it owes.
        sign = 1 if kind in ("cash", "custody") else -1
        balances[kind] = balances[kind].add(posting.asset, sign * posting.amount)
        touched = True
    if not touched:
        return state
    return replace(
        state,
        cash=balances["cash"],
        collateral=balances["custody"],
        principal=balances["loan"],
        accrued_interest=balances["interest_receivable"],
        unpaid_fees=balances["fees_receivable"],
        shortfall=balances["shortfall"],
    )


def _activated(state: MarginAccount) -> MarginAccount:
    # APPLIED -> ACTIVE once credit is approved and the agreement signed, in either order.
    if (
        state.status is Lifecycle.APPLIED
        and state.credit_limit is not None
        and state.agreement_version is not None
    ):
        return replace(state, status=Lifecycle.ACTIVE)
    return state


def evolve(state: MarginAccount, event: ev.Event) -> MarginAccount:
    """The state after ``event``. Total over the vocabulary; never raises on business rules."""
    state = _apply_postings(state, event)
    match event:
        case ev.ClientOnboarded():
            if state.status is Lifecycle.NOT_ONBOARDED:
                state = replace(state, status=Lifecycle.APPLIED)
            return replace(state, related_group_id=event.related_group_id)
        case ev.SecuritiesMarginAccountLinked():
            return replace(state, securities_account_id=event.securities_account_id)
        case ev.CreditAssessed():
            return replace(state, credit_grade=event.grade)
        case ev.CreditLimitSet():
            return _activated(replace(state, credit_limit=event.limit))
        case ev.MarginFacilityApproved():
            return _activated(
                replace(
                    state,
                    credit_limit=event.credit_limit,
                    facility_id=event.facility_id,
                    annual_rate=event.annual_rate,
                )
            )
        case ev.MarginAgreementSigned():
            return _activated(replace(state, agreement_version=event.agreement_version))
        case ev.RiskDisclosureAcknowledged():
            return replace(state, disclosure_version=event.disclosure_version)
        case ev.ProfessionalInvestorStatusSet():
            return replace(state, professional_investor=event.professional)
        case ev.AccountSuspended():
            return replace(state, suspended=True)
        case ev.AccountResumed():
            return replace(state, suspended=False)
        case ev.AccountClosed():
            return replace(state, status=Lifecycle.CLOSED)
        case ev.InterestAccrued():
            return replace(state, last_accrual_date=event.accrual_date)
        case ev.InterestCapitalised():
            return replace(state, last_capitalisation_date=event.period_end)
        case ev.EarlyWarningIssued():
            return replace(state, risk=RiskState.WARNING)
        case ev.EarlyWarningCleared():
            return replace(state, risk=RiskState.HEALTHY)
        case ev.MarginCallIssued():
            call = OpenMarginCall(event.call_id, event.call_amount, event.deadline)
            return replace(state, risk=RiskState.MARGIN_CALL, margin_call=call)
        case ev.MarginCallMet():
            return replace(state, risk=RiskState.HEALTHY, margin_call=None)
        case ev.MarginCallExpired():
            if state.margin_call is None:
                return state
            return replace(state, margin_call=replace(state.margin_call, expired=True))
        case ev.AdvancesSuspended():
            return replace(state, advances_suspended=True)
        case ev.AdvancesResumed():
            return replace(state, advances_suspended=False)
        case ev.ConcentrationLimitBreached():
            if event.limit in state.breached_limits:
                return state
            return replace(state, breached_limits=(*state.breached_limits, event.limit))
        case ev.ConcentrationLimitCleared():
            remaining = tuple(x for x in state.breached_limits if x != event.limit)
            return replace(state, breached_limits=remaining)
        case ev.LiquidationStarted():
            return replace(state, risk=RiskState.LIQUIDATING, liquidation_id=event.liquidation_id)
        case ev.LiquidationCompleted():
            # A liquidation that ends short is followed by ShortfallRecognised (-> DEFICIT).
            return replace(state, risk=RiskState.HEALTHY, margin_call=None, liquidation_id=None)
        case ev.ShortfallRecognised():
            return replace(state, risk=RiskState.DEFICIT, margin_call=None, liquidation_id=None)
        case ev.DebtRecovered():
            if state.shortfall.is_zero:
                return replace(state, risk=RiskState.RECOVERED)
            return state
        case ev.DebtWrittenOff():
            return replace(state, risk=RiskState.WRITTEN_OFF)
    return state


def replay(client_id: str, history: Iterable[ev.Event]) -> MarginAccount:
    """The state after every event of a stream, from the beginning."""
    state = MarginAccount.initial(client_id)
    for event in history:
        state = evolve(state, event)
    return state


# Bump when MarginAccount's fields change: a snapshot of another shape is a cache miss.
SNAPSHOT_VERSION = 2


def to_snapshot(state: MarginAccount) -> dict[str, Any]:
    """JSON-safe state for the snapshot cache; ``from_snapshot`` gives back an equal state."""
    return {"snapshot_version": SNAPSHOT_VERSION, "state": encode_dataclass(state)}


def from_snapshot(data: dict[str, Any]) -> MarginAccount:
    """The state in a snapshot; DecodeError for any other shape or version (replay instead)."""
    if not isinstance(data, dict) or data.get("snapshot_version") != SNAPSHOT_VERSION:
        raise DecodeError("not a margin-account snapshot of the current version")
    return decode_dataclass(MarginAccount, data.get("state"), "MarginAccount")
