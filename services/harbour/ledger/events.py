"""The one versioned event vocabulary (docs/event-store.md, docs/domain.md).

Events are facts in the past tense, frozen dataclasses with business-named fields. Account
events (on stream ``account-<client_id>``) start with ``client_id``; every event that moves
value carries a balanced :class:`Journal`, and every decision records the policy version and
the prices it used (:class:`DecisionBasis`) so an auditor can recompute it.

``encode`` gives ``(type, schema_version, data)`` for the event store; ``decode`` is its exact
inverse. A change to an event's fields is a new schema version with an upcaster in the event
store, never an edit of stored data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from harbour.ledger.codec import DecodeError, decode_dataclass, encode_dataclass
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.ledger.postings import Journal

# --- values that events carry


@dataclass(frozen=True)
class PricePoint:
    """One price a decision used: ``price`` units of ``quote_asset`` per ``base_asset``."""

    base_asset: str
    quote_asset: str
    price: Decimal
    observed_at: datetime
    source: str


@dataclass(frozen=True)
class DecisionBasis:
    """What a decision rested on: the policy version in force, every price, the instant.

    A risk decision is taken on whatever prices there are (risk never sleeps), so it also
    says which of them were not fresh: ``stale_assets`` were valued on a price older than the
    policy's staleness window (a silent feed; or on none, at 0, when nothing is owed),
    ``closed_market_assets`` at their market's last close (HKEX shut for the night, a
    weekend, a holiday or a typhoon). Both are sorted asset
    codes, empty when every price was fresh; events stored before they existed decode with
    the defaults.
    """

    policy_version: int
    prices: tuple[PricePoint, ...]
    decided_at: datetime
    stale_assets: tuple[str, ...] = ()
    closed_market_assets: tuple[str, ...] = ()


@dataclass(frozen=True)
class RiskFigures:
    """A client's risk at a decision, in the reporting currency (docs/domain.md).

    ``utilisation`` is D / CV; ``None`` means unbounded (no marginable value but some debt).
    """

    market_value: Money
    marginable_value: Money
    debt: Money
    utilisation: Decimal | None


@dataclass(frozen=True)
class PolicyParameter:
    """One parameter of a collateral/risk policy, e.g. ("haircut.BTC", "0.60")."""

    name: str
    value: str


@dataclass(frozen=True)
class PriceShock:
    """A stress scenario's move of one asset's price, e.g. BTC at -0.40."""

    asset: str
    change: Decimal


class LiquidationTrigger(Enum):
    FORCED_SALE_THRESHOLD = "forced_sale_threshold"  # U reached the forced-sale level
    CALL_DEADLINE_PASSED = "call_deadline_passed"  # the margin call was not met in time
    OPERATOR = "operator"  # started by hand by an operator, with a recorded reason


# --- bases


@dataclass(frozen=True)
class Event:
    """Base of every event."""


@dataclass(frozen=True)
class AccountEvent(Event):
    """An event on a client's margin-account stream."""

    client_id: str


# --- onboarding and eligibility (accounts service)


@dataclass(frozen=True)
class ClientOnboarded(AccountEvent):
    # Clients in one related group share the single-client concentration limit.
    related_group_id: str | None


@dataclass(frozen=True)
class SecuritiesMarginAccountLinked(AccountEvent):
    securities_account_id: str


@dataclass(frozen=True)
class CreditAssessed(AccountEvent):
    assessment_id: str
    grade: CreditGrade
    assessed_on: date
    # The assessment lapses on this day (None: open-ended, as every onboarding one was).
    expires_on: date | None = None


@dataclass(frozen=True)
class CreditLimitSet(AccountEvent):
    """The most the client may owe, in the reporting currency."""

    limit: Money


@dataclass(frozen=True)
class MarginAgreementSigned(AccountEvent):
    agreement_version: str
    signed_on: date


@dataclass(frozen=True)
class RiskDisclosureAcknowledged(AccountEvent):
    disclosure_version: str
    acknowledged_on: date


@dataclass(frozen=True)
class ProfessionalInvestorStatusSet(AccountEvent):
    professional: bool
    assessed_on: date
    evidence: str = ""  # what the status rests on (e.g. a portfolio certificate's id)
    expires_on: date | None = None  # the status lapses on this day (None: open-ended)


@dataclass(frozen=True)
class SecuritiesMarginAccountUnlinked(AccountEvent):
    """The securities margin account no longer backs this one: the client may not borrow."""

    securities_account_id: str  # the account that was linked


@dataclass(frozen=True)
class RelatedGroupChanged(AccountEvent):
    # None: the client left its group (its concentration limit is its own again).
    related_group_id: str | None


@dataclass(frozen=True)
class AccountSuspended(AccountEvent):
    reason: str


@dataclass(frozen=True)
class AccountResumed(AccountEvent):
    reason: str


@dataclass(frozen=True)
class AccountClosed(AccountEvent):
    reason: str


# --- cash and collateral


@dataclass(frozen=True)
class CashDeposited(AccountEvent):
    amount: Money
    reference: str  # the bank or chain reference, for reconciliation
    journal: Journal


@dataclass(frozen=True)
class CashWithdrawn(AccountEvent):
    amount: Money
    basis: DecisionBasis
    journal: Journal


@dataclass(frozen=True)
class CollateralDeposited(AccountEvent):
    quantity: Money
    reference: str
    journal: Journal


@dataclass(frozen=True)
class CollateralWithdrawn(AccountEvent):
    quantity: Money
    risk_after: RiskFigures
    basis: DecisionBasis
    journal: Journal


# --- lending


@dataclass(frozen=True)
class MarginFacilityApproved(AccountEvent):
    """Credit approved for margin lending: the limit (whose asset is the loan currency) and
    the annual interest rate. A later approval replaces the terms for future draws."""

    facility_id: str
    credit_limit: Money
    annual_rate: Decimal
    policy_version: int


@dataclass(frozen=True)
class LoanAdvanced(AccountEvent):
    amount: Money
    risk_after: RiskFigures
    basis: DecisionBasis
    journal: Journal


@dataclass(frozen=True)
class LoanRepaid(AccountEvent):
    """Settles interest, then fees, then principal; the split is in the journal."""

    amount: Money
    journal: Journal


@dataclass(frozen=True)
class InterestAccrued(AccountEvent):
    """One day's interest, ACT/365 on principal: amount = round_up(principal * rate / 365)."""

    amount: Money
    accrual_date: date
    principal: Money
    annual_rate: Decimal
    policy_version: int
    journal: Journal


@dataclass(frozen=True)
class InterestCapitalised(AccountEvent):
    amount: Money
    period_end: date
    journal: Journal


@dataclass(frozen=True)
class FeeCharged(AccountEvent):
    amount: Money
    fee_kind: str  # e.g. "liquidation"
    reference: str  # what the fee is for, e.g. the liquidation id
    journal: Journal


# --- risk and margin calls


@dataclass(frozen=True)
class EarlyWarningIssued(AccountEvent):
    risk: RiskFigures
    basis: DecisionBasis


@dataclass(frozen=True)
class EarlyWarningCleared(AccountEvent):
    """Back to HEALTHY from WARNING (utilisation fell to or below the warning level)."""

    risk: RiskFigures
    basis: DecisionBasis


@dataclass(frozen=True)
class MarginCallIssued(AccountEvent):
    call_id: str
    call_amount: Money  # D - CV in the reporting currency, rounded up
    deadline: datetime
    risk: RiskFigures
    basis: DecisionBasis


@dataclass(frozen=True)
class MarginCallMet(AccountEvent):
    call_id: str
    risk: RiskFigures
    basis: DecisionBasis


@dataclass(frozen=True)
class MarginCallExpired(AccountEvent):
    call_id: str
    deadline: datetime


@dataclass(frozen=True)
class AdvancesSuspended(AccountEvent):
    """No advance may be drawn for this reason until an AdvancesResumed of the same cause.
    Two causes are held and lifted apart (``harbour.ledger.account.hold_of``): a credit
    assessment's, whose reasons are the stable codes ``credit_grade_below_minimum`` and
    ``credit_assessment_expired``, and a margin call's (``margin call <call id>``; every other
    reason). Advances resume only when no cause is left."""

    reason: str


@dataclass(frozen=True)
class AdvancesResumed(AccountEvent):
    """One cause of a suspension is gone (``credit_assessment_acceptable`` for a credit
    assessment's; ``margin call <call id> met`` or ``liquidation <outcome>`` for a margin
    call's): advances resume unless the other cause still holds."""

    reason: str


@dataclass(frozen=True)
class ConcentrationLimitBreached(AccountEvent):
    """The client's related group (or the client alone) went above the single-client limit
    (``limit`` "single_client"): every member's stream carries it (harbour.ledger.limits).
    The fields after ``limit_amount`` came later: events stored before them decode with the
    defaults (additive, so the schema version stays 1, as ``DecisionBasis`` grew)."""

    limit: str  # which limit, e.g. "single_client"
    exposure: Money  # the group's loans in HKD
    limit_amount: Money
    subject: str = ""  # the group measured (the client itself without a related group)
    cause: str = ""  # what moved it: draw, capitalisation, price, fx, broker_figures, ...
    basis: DecisionBasis | None = None  # the policy version and prices it was measured on


@dataclass(frozen=True)
class ConcentrationLimitCleared(AccountEvent):
    limit: str
    exposure: Money
    limit_amount: Money
    subject: str = ""
    cause: str = ""
    basis: DecisionBasis | None = None


# --- liquidation and its aftermath


@dataclass(frozen=True)
class LiquidationStarted(AccountEvent):
    liquidation_id: str
    trigger: LiquidationTrigger
    target_utilisation: Decimal
    risk: RiskFigures
    basis: DecisionBasis
    reason: str = ""  # an operator's reason for a liquidation started by hand


@dataclass(frozen=True)
class LiquidationFillExecuted(AccountEvent):
    """One sale of collateral, with the evidence of the conflict-of-interest safeguard."""

    liquidation_id: str
    fill_id: str
    quantity: Money
    price: Decimal
    proceeds: Money
    fee: Money
    venue: str
    counterparty: str
    affiliated: bool  # the counterparty is the broker's affiliated market maker
    quote: Decimal  # the price the counterparty quoted
    best_independent_quote: Decimal  # the best unaffiliated quote at that moment
    executed_at: datetime
    journal: Journal


@dataclass(frozen=True)
class LiquidationOrderPlaced(AccountEvent):
    """An order about to be sent to a venue. Recorded *before* it is sent: it reserves the
    quantity (two-phase, like a pending transfer), so no withdrawal and no second sale can
    take it, and after a crash the engine knows to ask the venue what became of it."""

    liquidation_id: str
    order_id: str  # the client order id the venue deduplicates on
    venue: str
    affiliated: bool
    quantity: Money  # reserved until the order is settled
    limit_price: Decimal  # the lowest price per whole unit it may fill at
    mark: Decimal  # the price the sale was sized on (the last observation)
    quote: Decimal  # this venue's bid when the order was placed
    best_independent_quote: Decimal
    placed_at: datetime


@dataclass(frozen=True)
class LiquidationOrderSettled(AccountEvent):
    """The venue's final answer on an order: what it filled (see the fills) and what is
    released back to the client's available collateral."""

    liquidation_id: str
    order_id: str
    status: str  # filled | partially_filled | rejected | cancelled
    filled: Money
    released: Money
    reason: str


@dataclass(frozen=True)
class LiquidationProceedsApplied(AccountEvent):
    """Cash from a forced sale repays the debt: interest, then fees, then principal."""

    liquidation_id: str
    amount: Money
    interest: Money
    fees: Money
    principal: Money
    journal: Journal


@dataclass(frozen=True)
class LiquidationPaused(AccountEvent):
    """No venue would buy within the policy's slippage limit of the mark: the sale waits for
    an operator instead of dumping collateral."""

    liquidation_id: str
    asset: str
    mark: Decimal
    best_quote: Decimal | None  # None: no venue quoted at all
    floor_price: Decimal
    reason: str


@dataclass(frozen=True)
class LiquidationResumed(AccountEvent):
    liquidation_id: str
    resumed_by: str
    reason: str
    floor_price: Decimal | None  # a lower floor the operator accepts for ``asset``; None: policy
    asset: str


@dataclass(frozen=True)
class LiquidationCompleted(AccountEvent):
    liquidation_id: str
    risk: RiskFigures
    basis: DecisionBasis
    # target_reached: sold down to the target; cured: the client (or the market) brought the
    # account back to or below the call level before the sale had to go on.
    outcome: str = "target_reached"


@dataclass(frozen=True)
class ShortfallRecognised(AccountEvent):
    """Collateral exhausted with debt left: the claim moves to a receivable in deficit."""

    liquidation_id: str
    shortfall: Money
    journal: Journal


@dataclass(frozen=True)
class DeficitSettlementProposed(AccountEvent):
    """A maker proposes to recover (from the client's cash or an outside payment) or to write
    off part of a shortfall; a different checker approves or rejects it."""

    proposal_id: str
    kind: str  # recovery | write_off
    amount: Money
    source: str  # for a recovery: client_cash | external; for a write-off: ""
    reference: str
    proposed_by: str


@dataclass(frozen=True)
class DeficitSettlementRejected(AccountEvent):
    proposal_id: str
    rejected_by: str
    reason: str


@dataclass(frozen=True)
class DebtRecovered(AccountEvent):
    amount: Money
    reference: str
    journal: Journal


@dataclass(frozen=True)
class DebtWrittenOff(AccountEvent):
    amount: Money
    approved_by: str
    journal: Journal
    proposal_id: str = ""  # the DeficitSettlementProposed it approves


# --- corrections of mistaken movements (accounts service, maker-checker)


@dataclass(frozen=True)
class CorrectionProposed(AccountEvent):
    """A maker proposes to reverse a mistaken cash or collateral movement of this stream
    (the original, named by its stream version and global position); a different checker
    approves (-> MovementReversed) or rejects it. Nothing is edited."""

    correction_id: str
    original_version: int
    original_position: int
    original_type: str  # CashDeposited | CashWithdrawn | CollateralDeposited | ...Withdrawn
    reason: str
    proposed_by: str


@dataclass(frozen=True)
class MovementReversed(AccountEvent):
    """The approved correction: the exact opposite of the original's journal, referencing it.
    ``basis`` is what the margin test rested on (policy, prices) when the reversal took value
    out of the account (a deposit reversed), else None."""

    correction_id: str
    original_version: int
    original_position: int
    original_type: str
    amount: Money  # the original's amount or quantity
    reason: str
    proposed_by: str
    approved_by: str
    basis: DecisionBasis | None
    journal: Journal


@dataclass(frozen=True)
class CorrectionRejected(AccountEvent):
    correction_id: str
    rejected_by: str
    reason: str


# --- credit facts a credit officer decides (accounts service, maker-checker)


@dataclass(frozen=True)
class ProposedCreditAssessment:
    """A credit assessment as proposed: what CreditAssessed records once it is approved."""

    assessment_id: str
    grade: CreditGrade
    assessed_on: date
    expires_on: date | None  # the assessment lapses on this day (None: open-ended)


@dataclass(frozen=True)
class ProposedProfessionalInvestorStatus:
    """A professional-investor status as proposed: what ProfessionalInvestorStatusSet records
    once it is approved (dated the day of the approval)."""

    professional: bool
    evidence: str  # what the status rests on (e.g. a portfolio certificate's id)
    expires_on: date | None  # the status lapses on this day (None: open-ended)


@dataclass(frozen=True)
class ClientFactProposed(AccountEvent):
    """A maker proposes one credit fact about the client: exactly one of `credit_assessment`,
    `credit_limit` and `professional_investor` is set. Nothing takes effect yet: a different
    principal approves it (ClientFactApproved, followed in the same append by the fact's own
    event: CreditAssessed, CreditLimitSet or ProfessionalInvestorStatusSet) or rejects it
    (ClientFactRejected)."""

    proposal_id: str  # the proposal, unique within the client's stream
    proposed_by: str
    proposed_at: datetime  # the instant of the proposal
    credit_assessment: ProposedCreditAssessment | None = None
    # The most the client may owe, in a cash asset (the loan currency)
    credit_limit: Money | None = None
    professional_investor: ProposedProfessionalInvestorStatus | None = None


@dataclass(frozen=True)
class ClientFactApproved(AccountEvent):
    """A checker other than the maker approved a proposed credit fact; the fact's own event
    follows it in the same append."""

    proposal_id: str
    fact: str  # which fact: credit_assessment, credit_limit or professional_investor
    proposed_by: str
    approved_by: str
    approved_at: datetime  # the instant of the approval: when the fact took effect


@dataclass(frozen=True)
class ClientFactRejected(AccountEvent):
    """A checker other than the maker rejected a proposed credit fact: it never takes effect."""

    proposal_id: str
    fact: str  # which fact: credit_assessment, credit_limit or professional_investor
    proposed_by: str
    rejected_by: str
    rejected_at: datetime  # the instant of the rejection
    reason: str


# --- price, policy and broker streams


@dataclass(frozen=True)
class PriceObserved(Event):
    base_asset: str
    quote_asset: str
    price: Decimal
    observed_at: datetime
    source: str


@dataclass(frozen=True)
class PriceRejected(Event):
    """A price observation the feed sent and the policy refused (out of order, or a jump
    beyond the policy's band): kept as a fact so the feed's quality can be audited."""

    base_asset: str
    quote_asset: str
    price: Decimal
    observed_at: datetime
    source: str
    reason: str  # "out_of_order" | "jump_beyond_band"
    last_price: Decimal | None
    last_observed_at: datetime | None
    policy_version: int


@dataclass(frozen=True)
class PriceFeedStale(Event):
    """An alert on stream ``price-<ASSET>``: an eligible virtual asset's last accepted price
    is older than the policy's staleness window. Raised once per staleness episode (until the
    next accepted price); risk decisions go on with the last price, its age recorded."""

    asset: str
    last_observed_at: datetime  # the last accepted observation, still the price in use
    detected_at: datetime
    age_seconds: int  # detected_at - last_observed_at, whole seconds


@dataclass(frozen=True)
class MarketClosureRecorded(Event):
    """An extraordinary closure of a market on a day it should have traded (stream
    ``calendar-<MARKET>``): no trading in those sessions, and a full-day closure is not a
    business day for margin-call deadlines."""

    market: str  # "HKEX"
    closed_on: date  # the Hong Kong date
    reason: str  # "typhoon_signal_8" | "black_rainstorm" | "extreme_conditions" | "other"
    sessions: str  # "full_day" | "morning" | "afternoon"
    recorded_by: str  # the operator or risk officer who recorded it


@dataclass(frozen=True)
class BrokerExposureChanged(Event):
    """The broker's outstanding margin loans moved (stream ``broker-exposure``): written in
    the same statement as the account event that moved them, so the cross-account limits
    (total loans vs capital, single client or related group vs shareholders' funds) are
    decided on a serialisable total."""

    client_id: str
    group_id: str  # the client's related group, or the client itself
    change: Money  # signed principal change in the loan currency
    reason: str  # "advance" | "repayment" | "capitalisation" | "liquidation"
    reference: str  # the request or event that caused it


@dataclass(frozen=True)
class BrokerLimitBreached(Event):
    """A broker-wide limit went above its amount (stream ``broker-limits``): total margin
    loans against capital (``limit`` "total_loans", subject "broker"), or the collateral held
    in one asset against capital ("asset_concentration" for a virtual asset,
    "security_concentration" for a security; subject the asset code). One per transition."""

    limit: str
    subject: str
    measured: Money  # in HKD, rounded up (a limit measure never flatters the broker)
    limit_amount: Money
    cause: str  # what moved it: draw, capitalisation, price, fx, broker_figures, collateral, ...
    basis: DecisionBasis  # the policy version (capital) and every price it was measured on


@dataclass(frozen=True)
class BrokerLimitCleared(Event):
    """A broker-wide limit back at or below its amount (stream ``broker-limits``)."""

    limit: str
    subject: str
    measured: Money
    limit_amount: Money
    cause: str
    basis: DecisionBasis


@dataclass(frozen=True)
class PolicyChangeProposed(Event):
    proposal_id: str
    policy_version: int
    parameters: tuple[PolicyParameter, ...]
    effective_from: datetime
    proposed_by: str  # the maker


@dataclass(frozen=True)
class PolicyChangeApproved(Event):
    proposal_id: str
    policy_version: int
    approved_by: str  # the checker, never the maker
    effective_from: datetime


@dataclass(frozen=True)
class PolicyChangeRejected(Event):
    proposal_id: str
    rejected_by: str
    reason: str


@dataclass(frozen=True)
class StressedAccount:
    """One account of a stress test (one of its worst, or one its pages list): its
    utilisation under the shocked prices (None: unbounded), what selling everything would
    leave unpaid, and the state the shocked prices imply."""

    client_id: str
    utilisation: Decimal | None
    debt: Money
    shortfall: Money
    # The implied state: warning, margin_call or forced_sale (liquidated), or healthy (an
    # account short though healthy, listed only among the worst). "" in a run recorded
    # before v2 of StressTestRun, whose worst accounts had no state.
    state: str


@dataclass(frozen=True)
class StressTestRun(Event):
    """A what-if over the whole book (stream ``stress-<run_id>``): how many accounts the
    shocked prices would warn, call and force into a sale, and the expected shortfall (the
    sum over accounts of the debt that selling everything, after the liquidation fee, would
    leave unpaid). Records nothing on any account. ``accounts_in_margin_call`` and
    ``accounts_liquidating`` count the implied states MARGIN_CALL and FORCED_SALE.

    Version 2: who is moved out of healthy. ``StressTestAccountsListed`` events follow this
    one on the run's stream, in the same append (versions 2 .. ``account_pages`` + 1), and
    list every account the shocked prices would warn, call or liquidate, worst first, with
    its implied state and shortfall: ``accounts_listed`` of them, at most
    ``harbour.ledger.stress.MAX_LISTED``; the rest (warned + called + liquidated - listed,
    the least bad) are counted only. A v1 run listed none: 0 and 0."""

    run_id: str
    scenario: str
    shocks: tuple[PriceShock, ...]
    policy_version: int
    run_at: datetime
    accounts_tested: int
    accounts_in_margin_call: int
    accounts_liquidating: int
    total_shortfall: Money
    accounts_warned: int = 0
    accounts_short: int = 0  # accounts with a shortfall
    # The shock applied to every security without a shock of its own; None: none.
    securities_shock: Decimal | None = None
    prices: tuple[PricePoint, ...] = ()  # the shocked prices, so the run can be recomputed
    worst_accounts: tuple[StressedAccount, ...] = ()  # by shortfall, then utilisation
    accounts_flagged: int = 0  # valued exactly (the rest are provably healthy, none short)
    book_position: int = 0  # the read models' feed position the book reflects
    requested_by: str = ""
    accounts_listed: int = 0  # in the StressTestAccountsListed pages that follow (v2)
    account_pages: int = 0  # how many StressTestAccountsListed follow (v2)


@dataclass(frozen=True)
class StressTestAccountsListed(Event):
    """One page of a stress test's accounts moved out of healthy (stream ``stress-<run_id>``,
    version ``page`` + 1, appended with its StressTestRun): each with its implied state,
    utilisation, debt and shortfall, worst first across the pages. Records nothing on any
    account."""

    run_id: str
    page: int  # 1 .. the run's account_pages
    accounts: tuple[StressedAccount, ...]  # this page's, worst first (at most 1,000)


@dataclass(frozen=True)
class ReconciliationBreak:
    """One difference between an outside statement and the ledger (see ReconciliationRun).

    ``cause`` is one of ``missing_from_statement`` (the ledger holds it, the statement does
    not), ``missing_from_ledger`` (the statement holds it, the ledger does not),
    ``amount_differs``, ``unknown_client``, ``malformed_line`` or ``duplicate_line``. Amounts
    are exact decimal strings of the asset's scale ("" where a side has none); ``difference``
    is statement minus ledger. ``line`` is the statement's line number (1 is the header; 0: a
    break with no line, such as a balance the statement left out)."""

    cause: str
    line: int
    client_id: str
    asset: str
    ledger_amount: str
    statement_amount: str
    difference: str
    detail: str


@dataclass(frozen=True)
class ReconciliationRun(Event):
    """A statement from outside (the custodian's wallets, the bank, the securities margin
    system) compared with the ledger's own balances as of the statement's instant (stream
    ``reconciliation-<run_id>``). Records nothing on any account; ``breaks`` lists every
    difference found, up to a bound (``breaks_found`` counts them all)."""

    run_id: str
    source: str  # custodian | bank | securities
    statement_at: datetime  # the instant the statement's balances stand at
    file_sha256: str  # hex digest of the statement's bytes, as received
    file_name: str
    run_at: datetime
    requested_by: str
    lines_read: int  # data lines in the statement (the header excluded)
    balances_compared: int  # (client, asset) pairs held by either side
    balances_matched: int
    breaks_found: int
    breaks: tuple[ReconciliationBreak, ...]
    ledger_position: int  # the balances read model's feed position the ledger side started from


# --- the registry

_ALL: tuple[type[Event], ...] = (
    ClientOnboarded,
    SecuritiesMarginAccountLinked,
    SecuritiesMarginAccountUnlinked,
    RelatedGroupChanged,
    CreditAssessed,
    CreditLimitSet,
    MarginAgreementSigned,
    RiskDisclosureAcknowledged,
    ProfessionalInvestorStatusSet,
    AccountSuspended,
    AccountResumed,
    AccountClosed,
    CashDeposited,
    CashWithdrawn,
    CollateralDeposited,
    CollateralWithdrawn,
    MarginFacilityApproved,
    LoanAdvanced,
    LoanRepaid,
    InterestAccrued,
    InterestCapitalised,
    FeeCharged,
    EarlyWarningIssued,
    EarlyWarningCleared,
    MarginCallIssued,
    MarginCallMet,
    MarginCallExpired,
    AdvancesSuspended,
    AdvancesResumed,
    ConcentrationLimitBreached,
    ConcentrationLimitCleared,
    LiquidationStarted,
    LiquidationOrderPlaced,
    LiquidationOrderSettled,
    LiquidationFillExecuted,
    LiquidationProceedsApplied,
    LiquidationPaused,
    LiquidationResumed,
    LiquidationCompleted,
    ShortfallRecognised,
    DeficitSettlementProposed,
    DeficitSettlementRejected,
    DebtRecovered,
    DebtWrittenOff,
    CorrectionProposed,
    MovementReversed,
    CorrectionRejected,
    ClientFactProposed,
    ClientFactApproved,
    ClientFactRejected,
    PriceObserved,
    PriceRejected,
    PriceFeedStale,
    MarketClosureRecorded,
    BrokerExposureChanged,
    BrokerLimitBreached,
    BrokerLimitCleared,
    PolicyChangeProposed,
    PolicyChangeApproved,
    PolicyChangeRejected,
    StressTestRun,
    ReconciliationRun,
    StressTestAccountsListed,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in _ALL}

# The current shape of each type. Bump it (and add the step from the old version to
# harbour.ledger.upcasters.STEPS, which the runtime hands to the event store) when a type's
# fields change; stored events keep the version they were written with.
SCHEMA_VERSION: dict[str, int] = {
    **dict.fromkeys(EVENT_TYPES, 1),
    "StressTestRun": 2,  # v2: accounts_listed, account_pages, a state per worst account
}

ACCOUNT_EVENT_TYPES: frozenset[str] = frozenset(
    name for name, cls in EVENT_TYPES.items() if issubclass(cls, AccountEvent)
)
VALUE_MOVING_EVENT_TYPES: frozenset[str] = frozenset(
    name for name, cls in EVENT_TYPES.items() if "journal" in cls.__dataclass_fields__
)


class UnknownEventType(DecodeError):
    pass


def journal_of(event: Event) -> Journal | None:
    """The postings an event carries, or None for an event that moves no value."""
    journal = getattr(event, "journal", None)
    return journal if isinstance(journal, Journal) else None


def encode(event: Event) -> tuple[str, int, dict[str, Any]]:
    """(type name, schema version, JSON-safe data) of an event, for the event store."""
    name = type(event).__name__
    if EVENT_TYPES.get(name) is not type(event):
        raise TypeError(f"{name} is not in the event vocabulary")
    return name, SCHEMA_VERSION[name], encode_dataclass(event)


def decode(event_type: str, schema_version: int, data: Any) -> Event:
    """The event that ``encode`` gave; data must already be upcast to the current version."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    if schema_version != SCHEMA_VERSION[event_type]:
        raise DecodeError(
            f"{event_type} v{schema_version} is not the current "
            f"v{SCHEMA_VERSION[event_type]}: upcast it first"
        )
    return decode_dataclass(cls, data, event_type)
