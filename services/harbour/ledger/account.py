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
from dataclasses import dataclass, fields, replace
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
    issued_at: datetime | None = None  # when the decision was made (its basis)


@dataclass(frozen=True)
class OpenOrder:
    """A sell order of a liquidation that the venue has not settled yet (its quantity is
    reserved: see ``MarginAccount.reserved``)."""

    order_id: str
    venue: str
    affiliated: bool
    quantity: Money
    limit_price: Decimal
    quote: Decimal
    best_independent_quote: Decimal


@dataclass(frozen=True)
class LiquidationProgress:
    """Where a running liquidation stands, folded from its events."""

    liquidation_id: str
    target_utilisation: Decimal
    orders: tuple[OpenOrder, ...] = ()
    orders_placed: int = 0  # numbers the next order id, so ids never repeat
    fills: int = 0
    paused_asset: str | None = None  # set while the sale waits for an operator
    # Per asset, the lowest price an operator accepted below the policy's slippage floor.
    floor_overrides: tuple[tuple[str, Decimal], ...] = ()
    client_acted: bool = False  # a deposit or repayment by the client since it started

    def floor_override(self, code: str) -> Decimal | None:
        return dict(self.floor_overrides).get(code)


@dataclass(frozen=True)
class PendingSettlement:
    """A proposal to recover or write off (part of) a shortfall, awaiting its checker."""

    proposal_id: str
    kind: str  # recovery | write_off
    amount: Money
    source: str
    reference: str
    proposed_by: str


@dataclass(frozen=True)
class Correction:
    """A proposed reversal of one of the account's movements, and what became of it."""

    correction_id: str
    original_version: int  # the movement's version in this stream
    original_type: str
    proposed_by: str
    reason: str
    state: str = "pending"  # pending | approved | rejected


@dataclass(frozen=True)
class FactProposal:
    """A credit fact proposed by a maker (``ClientFactProposed``), and what became of it."""

    proposal_id: str
    proposed: ev.ClientFactProposed
    state: str = "pending"  # pending | approved | rejected

    @property
    def proposed_by(self) -> str:
        return self.proposed.proposed_by


# Why advances are suspended: each cause is suspended and resumed on its own, and advances
# resume only when no cause is left (see ``ev.AdvancesSuspended``).
MARGIN_CALL_HOLD = "margin_call"
CREDIT_HOLD = "credit"


def hold_of(reason: str) -> str:
    """The cause an AdvancesSuspended or AdvancesResumed reason belongs to: the credit
    assessment's reasons are codes starting ``credit_``; every other one (``margin call ...``,
    ``liquidation ...``: the only cause before credit holds existed) is a margin call's."""
    return CREDIT_HOLD if reason.startswith("credit_") else MARGIN_CALL_HOLD


@dataclass(frozen=True)
class MarginAccount:
    client_id: str
    status: Lifecycle = Lifecycle.NOT_ONBOARDED
    risk: RiskState = RiskState.HEALTHY
    # Orthogonal flags.
    suspended: bool = False
    advance_holds: tuple[str, ...] = ()  # the causes suspending advances (hold_of), if any
    breached_limits: tuple[str, ...] = ()
    # Eligibility facts.
    related_group_id: str | None = None
    securities_account_id: str | None = None
    credit_grade: CreditGrade | None = None
    credit_expires_on: date | None = None  # the latest assessment lapses on this day
    # What draws are bounded by (its asset is the loan currency): set by the latest
    # CreditLimitSet or MarginFacilityApproved.
    credit_limit: Money | None = None
    # The latest limit a maker and a checker approved (CreditLimitSet only): a facility is
    # approved within it, so no one principal sets or raises what a client may owe.
    approved_credit_limit: Money | None = None
    facility_id: str | None = None  # set once a margin facility is approved
    annual_rate: Decimal | None = None
    agreement_version: str | None = None
    disclosure_version: str | None = None
    professional_investor: bool = False
    professional_investor_expires_on: date | None = None  # the status lapses on this day
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
    liquidation: LiquidationProgress | None = None
    # Collateral that open sell orders are selling: still the client's (and still valued),
    # but no withdrawal and no second order may take it.
    reserved: Balances = EMPTY
    settlements: tuple[PendingSettlement, ...] = ()
    # Every correction ever proposed (rare: a handful in an account's life), so a movement
    # is reversed at most once and a correction id names one proposal only.
    corrections: tuple[Correction, ...] = ()
    # Every credit fact ever proposed (a few a year), so a proposal id names one proposal.
    fact_proposals: tuple[FactProposal, ...] = ()
    last_accrual_date: date | None = None
    last_capitalisation_date: date | None = None

    @classmethod
    def initial(cls, client_id: str) -> MarginAccount:
        return cls(client_id)

    @property
    def exists(self) -> bool:
        return self.status is not Lifecycle.NOT_ONBOARDED

    @property
    def advances_suspended(self) -> bool:
        """Whether any cause suspends advances (a margin call, the credit assessment)."""
        return bool(self.advance_holds)

    def advances_held(self, cause: str) -> bool:
        return cause in self.advance_holds

    def fact_proposal(self, proposal_id: str) -> FactProposal | None:
        return next((p for p in self.fact_proposals if p.proposal_id == proposal_id), None)

    @property
    def pending_fact_proposals(self) -> tuple[FactProposal, ...]:
        return tuple(p for p in self.fact_proposals if p.state == "pending")

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

    def available_collateral(self, code: str) -> int:
        """Collateral of ``code`` held and not reserved by an open sell order."""
        return self.collateral.get(code) - self.reserved.get(code)

    def correction(self, correction_id: str) -> Correction | None:
        return next((c for c in self.corrections if c.correction_id == correction_id), None)

    def correction_of(self, version: int) -> Correction | None:
        """The pending or approved correction of the movement at ``version``, if any."""
        return next(
            (
                c
                for c in self.corrections
                if c.original_version == version and c.state in ("pending", "approved")
            ),
            None,
        )

    @property
    def has_balances(self) -> bool:
        """Anything still held for the client (an account with balances cannot close)."""
        return bool(self.cash) or bool(self.collateral)


# The fold's own copy-with-changes. ``evolve`` runs for every event of every account a cold
# risk screen or an audit replay loads, and ``dataclasses.replace`` re-runs ``__init__`` over
# the state's 33 fields each time: a third of a cold screen's time (17 µs a call; a cold
# screen went from 483-598 to 842-959 accounts/s). It lives here, in the kernel, because
# ``evolve`` does: a frozen dataclass without ``__post_init__`` is nothing but its fields'
# values, so copying them makes the same state; what a ``cached_property`` worked out for the
# old state (``debt``) is left behind. The nested dataclasses keep ``dataclasses.replace``.
# tests/unit/ledger/test_account_changed.py holds it equal to ``dataclasses.replace``.
_FIELDS = frozenset(f.name for f in fields(MarginAccount))
_CACHED = tuple(n for n, v in vars(MarginAccount).items() if isinstance(v, cached_property))


def changed(state: MarginAccount, /, **changes: Any) -> MarginAccount:
    """``dataclasses.replace(state, **changes)`` without running ``__init__`` again."""
    unknown = changes.keys() - _FIELDS
    if unknown:
        raise TypeError(f"MarginAccount has no field {', '.join(sorted(unknown))}")
    values = state.__dict__.copy()
    for name in _CACHED:
        values.pop(name, None)
    values.update(changes)
    new = object.__new__(MarginAccount)
    object.__setattr__(new, "__dict__", values)
    return new


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
    return changed(
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
        return changed(state, status=Lifecycle.ACTIVE)
    return state


def evolve(state: MarginAccount, event: ev.Event) -> MarginAccount:
    """The state after ``event``. Total over the vocabulary; never raises on business rules."""
    state = _apply_postings(state, event)
    match event:
        case ev.ClientOnboarded():
            if state.status is Lifecycle.NOT_ONBOARDED:
                state = changed(state, status=Lifecycle.APPLIED)
            return changed(state, related_group_id=event.related_group_id)
        case ev.SecuritiesMarginAccountLinked():
            return changed(state, securities_account_id=event.securities_account_id)
        case ev.SecuritiesMarginAccountUnlinked():
            return changed(state, securities_account_id=None)
        case ev.RelatedGroupChanged():
            return changed(state, related_group_id=event.related_group_id)
        case ev.CreditAssessed():
            # The latest assessment replaces the previous one, a downgrade included.
            return changed(state, credit_grade=event.grade, credit_expires_on=event.expires_on)
        case ev.CreditLimitSet():
            return _activated(
                changed(state, credit_limit=event.limit, approved_credit_limit=event.limit)
            )
        case ev.MarginFacilityApproved():
            # The facility's limit bounds draws; the approved limit stays as a checker left it.
            return _activated(
                changed(
                    state,
                    credit_limit=event.credit_limit,
                    facility_id=event.facility_id,
                    annual_rate=event.annual_rate,
                )
            )
        case ev.MarginAgreementSigned():
            return _activated(changed(state, agreement_version=event.agreement_version))
        case ev.RiskDisclosureAcknowledged():
            return changed(state, disclosure_version=event.disclosure_version)
        case ev.ProfessionalInvestorStatusSet():
            return changed(
                state,
                professional_investor=event.professional,
                professional_investor_expires_on=event.expires_on,
            )
        case ev.AccountSuspended():
            return changed(state, suspended=True)
        case ev.AccountResumed():
            return changed(state, suspended=False)
        case ev.AccountClosed():
            return changed(state, status=Lifecycle.CLOSED)
        case ev.InterestAccrued():
            return changed(state, last_accrual_date=event.accrual_date)
        case ev.InterestCapitalised():
            return changed(state, last_capitalisation_date=event.period_end)
        case ev.EarlyWarningIssued():
            return changed(state, risk=RiskState.WARNING)
        case ev.EarlyWarningCleared():
            return changed(state, risk=RiskState.HEALTHY)
        case ev.MarginCallIssued():
            call = OpenMarginCall(
                event.call_id, event.call_amount, event.deadline, issued_at=event.basis.decided_at
            )
            return changed(state, risk=RiskState.MARGIN_CALL, margin_call=call)
        case ev.MarginCallMet():
            return changed(state, risk=RiskState.HEALTHY, margin_call=None)
        case ev.MarginCallExpired():
            if state.margin_call is None:
                return state
            return changed(state, margin_call=replace(state.margin_call, expired=True))
        case ev.AdvancesSuspended():
            cause = hold_of(event.reason)
            if cause in state.advance_holds:
                return state
            return changed(state, advance_holds=(*state.advance_holds, cause))
        case ev.AdvancesResumed():
            cause = hold_of(event.reason)
            return changed(state, advance_holds=tuple(h for h in state.advance_holds if h != cause))
        case ev.ConcentrationLimitBreached():
            if event.limit in state.breached_limits:
                return state
            return changed(state, breached_limits=(*state.breached_limits, event.limit))
        case ev.ConcentrationLimitCleared():
            remaining = tuple(x for x in state.breached_limits if x != event.limit)
            return changed(state, breached_limits=remaining)
        case ev.LiquidationStarted():
            progress = LiquidationProgress(event.liquidation_id, event.target_utilisation)
            return changed(
                state,
                risk=RiskState.LIQUIDATING,
                liquidation_id=event.liquidation_id,
                liquidation=progress,
            )
        case (
            ev.LiquidationOrderPlaced()
            | ev.LiquidationOrderSettled()
            | ev.LiquidationFillExecuted()
            | ev.LiquidationPaused()
            | ev.LiquidationResumed()
        ):
            return _liquidation_step(state, event)
        case ev.CashDeposited() | ev.CollateralDeposited() | ev.LoanRepaid():
            if state.liquidation is None:
                return state
            return changed(state, liquidation=replace(state.liquidation, client_acted=True))
        case ev.LiquidationCompleted():
            # A liquidation that ends short is followed by ShortfallRecognised (-> DEFICIT).
            return changed(
                state,
                risk=RiskState.HEALTHY,
                margin_call=None,
                liquidation_id=None,
                liquidation=None,
            )
        case ev.ShortfallRecognised():
            return changed(
                state,
                risk=RiskState.DEFICIT,
                margin_call=None,
                liquidation_id=None,
                liquidation=None,
            )
        case ev.DeficitSettlementProposed():
            pending = PendingSettlement(
                event.proposal_id,
                event.kind,
                event.amount,
                event.source,
                event.reference,
                event.proposed_by,
            )
            return changed(state, settlements=(*state.settlements, pending))
        case ev.DeficitSettlementRejected():
            return _settled(state, event.proposal_id)
        case ev.DebtRecovered():
            state = _settled(state, event.reference)
            if state.shortfall.is_zero:
                return changed(state, risk=RiskState.RECOVERED)
            return state
        case ev.DebtWrittenOff():
            return changed(_settled(state, event.proposal_id), risk=RiskState.WRITTEN_OFF)
        case ev.CorrectionProposed():
            proposed = Correction(
                event.correction_id,
                event.original_version,
                event.original_type,
                event.proposed_by,
                event.reason,
            )
            return changed(state, corrections=(*state.corrections, proposed))
        case ev.MovementReversed():
            # The balances moved with the reversing journal above; here only the bookkeeping.
            return _corrected(
                state,
                Correction(
                    event.correction_id,
                    event.original_version,
                    event.original_type,
                    event.proposed_by,
                    event.reason,
                    "approved",
                ),
            )
        case ev.CorrectionRejected():
            found = state.correction(event.correction_id)
            if found is None:
                return state
            return _corrected(state, replace(found, state="rejected"))
        case ev.ClientFactProposed():
            proposal = FactProposal(event.proposal_id, event)
            return changed(state, fact_proposals=(*state.fact_proposals, proposal))
        case ev.ClientFactApproved():
            return _fact_decided(state, event.proposal_id, "approved")
        case ev.ClientFactRejected():
            return _fact_decided(state, event.proposal_id, "rejected")
    return state


def _fact_decided(state: MarginAccount, proposal_id: str, decided: str) -> MarginAccount:
    """The proposal ``proposal_id`` marked ``decided`` (unknown: unchanged, evolve is total).
    The fact itself takes effect with its own event, which follows the approval."""
    kept = tuple(
        replace(p, state=decided) if p.proposal_id == proposal_id else p
        for p in state.fact_proposals
    )
    return changed(state, fact_proposals=kept)


def _corrected(state: MarginAccount, decided: Correction) -> MarginAccount:
    """``decided`` in place of the correction with its id (added if unknown: total)."""
    if state.correction(decided.correction_id) is None:
        return changed(state, corrections=(*state.corrections, decided))
    kept = tuple(
        decided if c.correction_id == decided.correction_id else c for c in state.corrections
    )
    return changed(state, corrections=kept)


def _settled(state: MarginAccount, proposal_id: str) -> MarginAccount:
    remaining = tuple(p for p in state.settlements if p.proposal_id != proposal_id)
    return changed(state, settlements=remaining)


def _liquidation_step(state: MarginAccount, event: ev.AccountEvent) -> MarginAccount:
    """A liquidation's own progress: orders reserve and release, fills and pauses count."""
    progress = state.liquidation
    if progress is None:
        return state  # never for a stream the engine wrote; evolve does not validate
    match event:
        case ev.LiquidationOrderPlaced():
            order = OpenOrder(
                event.order_id,
                event.venue,
                event.affiliated,
                event.quantity,
                event.limit_price,
                event.quote,
                event.best_independent_quote,
            )
            progress = replace(
                progress,
                orders=(*progress.orders, order),
                orders_placed=progress.orders_placed + 1,
            )
            reserved = state.reserved.add(event.quantity.asset.code, event.quantity.minor)
            return changed(state, liquidation=progress, reserved=reserved)
        case ev.LiquidationOrderSettled():
            settled = [o for o in progress.orders if o.order_id == event.order_id]
            reserved = state.reserved
            for order in settled:
                reserved = reserved.add(order.quantity.asset.code, -order.quantity.minor)
            left = tuple(o for o in progress.orders if o.order_id != event.order_id)
            return changed(state, liquidation=replace(progress, orders=left), reserved=reserved)
        case ev.LiquidationFillExecuted():
            return changed(state, liquidation=replace(progress, fills=progress.fills + 1))
        case ev.LiquidationPaused():
            return changed(state, liquidation=replace(progress, paused_asset=event.asset))
        case ev.LiquidationResumed():
            overrides = dict(progress.floor_overrides)
            if event.floor_price is not None:
                overrides[event.asset] = event.floor_price
            return changed(
                state,
                liquidation=replace(
                    progress, paused_asset=None, floor_overrides=tuple(sorted(overrides.items()))
                ),
            )
    return state


def replay(client_id: str, history: Iterable[ev.Event]) -> MarginAccount:
    """The state after every event of a stream, from the beginning."""
    state = MarginAccount.initial(client_id)
    for event in history:
        state = evolve(state, event)
    return state


# Bump when MarginAccount's fields change: a snapshot of another shape is a cache miss.
SNAPSHOT_VERSION = 7


def to_snapshot(state: MarginAccount) -> dict[str, Any]:
    """JSON-safe state for the snapshot cache; ``from_snapshot`` gives back an equal state."""
    return {"snapshot_version": SNAPSHOT_VERSION, "state": encode_dataclass(state)}


def from_snapshot(data: dict[str, Any]) -> MarginAccount:
    """The state in a snapshot; DecodeError for any other shape or version (replay instead)."""
    if not isinstance(data, dict) or data.get("snapshot_version") != SNAPSHOT_VERSION:
        raise DecodeError("not a margin-account snapshot of the current version")
    return decode_dataclass(MarginAccount, data.get("state"), "MarginAccount")
