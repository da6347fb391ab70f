"""The accounts service's decisions: ``decide(state, command, context) -> events``.

Pure: no I/O, no clock (``context.now`` is an input), no transport. Every refusal is a
domain error from the kernel's closed vocabulary. Value-moving events carry their journal.

Corrections (maker-checker). A mistaken cash or collateral movement is never edited: one
operator proposes to reverse it (``CorrectionProposed``, naming the original by its stream
version), a different one approves (``MovementReversed``: the exact opposite of the original
journal) or rejects (``CorrectionRejected``). The handler reads the original event and hands
it in (``Context.original``). Refusal precedence:

ProposeCorrection: AccountNotFound, AccountClosed, CorrectionAlreadyExists (the id),
  MovementNotFound, NotReversible (not a cash or collateral movement), AlreadyReversed,
  CorrectionPending (another proposal for it), then the reversal's own checks.
ApproveCorrection: AccountNotFound, AccountClosed, CorrectionNotFound, CorrectionNotPending,
  SameMakerAndChecker, then the reversal's checks again (the account may have moved).
RejectCorrection: AccountNotFound, CorrectionNotFound, CorrectionNotPending,
  SameMakerAndChecker.
The reversal's checks: no balance may go negative (InsufficientBalance: the deposited cash was
spent; InsufficientCollateral: the collateral left or is reserved by a sale), and a reversal
that takes value out (a deposit reversed) passes the same margin test as a withdrawal.

Client facts over time. Eligibility facts recorded after onboarding (a new credit assessment,
a downgrade included; a credit limit; a margin agreement or risk disclosure signed later; a
professional-investor status with its evidence and expiry; a related group; the securities
margin account linked or unlinked) are the same events onboarding records, so signing later
activates an APPLIED client exactly as signing at onboarding does. Each needs an open account
(AccountNotFound, AccountClosed); a lapse day not after its start day is InvalidArgument.

Credit facts (maker-checker). The facts a credit officer decides — a credit assessment (grade,
expiry), a credit limit, a professional-investor status — take effect only when a principal
other than their maker approves them: ``ProposeClientFact`` records ``ClientFactProposed``;
``ApproveClientFact`` records ``ClientFactApproved`` followed by the fact's own event
(``CreditAssessed``, ``CreditLimitSet``, ``ProfessionalInvestorStatusSet``) and, for an
assessment, the credit hold it implies (``harbour.ledger.eligibility.credit_hold``: a grade
below the policy's minimum or a lapsed assessment appends ``AdvancesSuspended`` with the
reason, an acceptable one after a hold ``AdvancesResumed``); ``RejectClientFact`` records
``ClientFactRejected``. The direct commands for these facts (RecordCreditAssessment,
SetCreditLimit, SetProfessionalInvestorStatus) are refused (MakerCheckerRequired). Onboarding
proposes the grade and limit it is given (proposal ids ``onboarding-credit-assessment`` and
``onboarding-credit-limit``) and refuses a professional status, which needs evidence and an
expiry onboarding cannot carry. Refusal precedence:

ProposeClientFact: AccountNotFound, AccountClosed, ProposalAlreadyExists (the id), then the
  fact's own checks (InvalidArgument).
ApproveClientFact: AccountNotFound, AccountClosed, FactProposalNotFound, ProposalNotPending,
  SameMakerAndChecker, then the fact's own checks again (a status may have lapsed meanwhile).
RejectClientFact: AccountNotFound, FactProposalNotFound, ProposalNotPending,
  SameMakerAndChecker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import (
    Correction,
    FactProposal,
    Lifecycle,
    MarginAccount,
    evolve,
    with_journal,
)
from harbour.ledger.assets import AssetKind
from harbour.ledger.eligibility import credit_hold
from harbour.ledger.errors import (
    AccountAlreadyExists,
    AccountClosed,
    AccountNotFound,
    AccountSuspended,
    AlreadyExists,
    FailedPrecondition,
    InsufficientBalance,
    InsufficientCollateral,
    InvalidArgument,
    NonZeroBalances,
    NotFound,
    OutstandingDebt,
    ProposalAlreadyExists,
    ProposalNotPending,
)
from harbour.ledger.grades import CreditGrade
from harbour.ledger.maker_checker import pending_for_checker
from harbour.ledger.money import Money, format_amount
from harbour.ledger.postings import Journal, client_of

REPORTING_CURRENCY = "HKD"

# --------------------------------------------------------------------------------- refusals


class MovementNotFound(NotFound):
    reason = "movement_not_found"


class NotReversible(FailedPrecondition):
    reason = "not_reversible"


class AlreadyReversed(FailedPrecondition):
    reason = "already_reversed"


class CorrectionPending(FailedPrecondition):
    reason = "correction_pending"


class CorrectionNotFound(NotFound):
    reason = "correction_not_found"


class CorrectionNotPending(FailedPrecondition):
    reason = "correction_not_pending"


class CorrectionAlreadyExists(AlreadyExists):
    reason = "correction_already_exists"


class FactProposalNotFound(NotFound):
    reason = "fact_proposal_not_found"


class MakerCheckerRequired(FailedPrecondition):
    """A credit fact given directly: it needs a maker's proposal and another's approval."""

    reason = "maker_checker_required"


Movement = ev.CashDeposited | ev.CashWithdrawn | ev.CollateralDeposited | ev.CollateralWithdrawn
REVERSIBLE = (ev.CashDeposited, ev.CashWithdrawn, ev.CollateralDeposited, ev.CollateralWithdrawn)

# --------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class OnboardClient:
    client_id: str
    securities_account_id: str | None
    credit_assessment_id: str | None
    credit_grade: CreditGrade | None
    credit_limit: Money | None
    agreement_version: str | None
    disclosure_version: str | None
    professional_investor: bool
    related_group_id: str | None = None


@dataclass(frozen=True)
class DepositCash:
    client_id: str
    amount: Money
    reference: str


@dataclass(frozen=True)
class WithdrawCash:
    client_id: str
    amount: Money
    reference: str


@dataclass(frozen=True)
class DepositCollateral:
    client_id: str
    quantity: Money
    reference: str


@dataclass(frozen=True)
class WithdrawCollateral:
    client_id: str
    quantity: Money
    reference: str


@dataclass(frozen=True)
class SuspendAccount:
    client_id: str
    reason: str


@dataclass(frozen=True)
class ResumeAccount:
    client_id: str
    reason: str


@dataclass(frozen=True)
class CloseAccount:
    client_id: str


@dataclass(frozen=True)
class ProposeCorrection:
    """The maker's proposal to reverse the movement at ``original_version`` of the stream."""

    client_id: str
    correction_id: str
    original_version: int
    reason: str


@dataclass(frozen=True)
class ApproveCorrection:
    client_id: str
    correction_id: str


@dataclass(frozen=True)
class RejectCorrection:
    client_id: str
    correction_id: str
    reason: str


CorrectionCommand = ProposeCorrection | ApproveCorrection | RejectCorrection


@dataclass(frozen=True)
class RecordCreditAssessment:
    client_id: str
    assessment_id: str
    grade: CreditGrade
    assessed_on: date
    expires_on: date | None


@dataclass(frozen=True)
class SetCreditLimit:
    client_id: str
    limit: Money


@dataclass(frozen=True)
class SignMarginAgreement:
    client_id: str
    version: str
    signed_on: date


@dataclass(frozen=True)
class AcknowledgeRiskDisclosure:
    client_id: str
    version: str
    acknowledged_on: date


@dataclass(frozen=True)
class SetProfessionalInvestorStatus:
    client_id: str
    professional: bool
    evidence: str
    expires_on: date | None


@dataclass(frozen=True)
class SetRelatedGroup:
    client_id: str
    group_id: str | None  # None: the client leaves its group


@dataclass(frozen=True)
class LinkSecuritiesAccount:
    client_id: str
    securities_account_id: str


@dataclass(frozen=True)
class UnlinkSecuritiesAccount:
    client_id: str


FactCommand = (
    SignMarginAgreement
    | AcknowledgeRiskDisclosure
    | SetRelatedGroup
    | LinkSecuritiesAccount
    | UnlinkSecuritiesAccount
)
# The credit facts given directly (deprecated): refused, they need a maker and a checker.
DirectCreditFact = RecordCreditAssessment | SetCreditLimit | SetProfessionalInvestorStatus

# What a credit-fact proposal carries: exactly what ClientFactProposed records.
CreditFact = ev.ProposedCreditAssessment | Money | ev.ProposedProfessionalInvestorStatus
CREDIT_ASSESSMENT, CREDIT_LIMIT, PROFESSIONAL_INVESTOR = (
    "credit_assessment",
    "credit_limit",
    "professional_investor",
)
ONBOARDING_ASSESSMENT = "onboarding-credit-assessment"
ONBOARDING_LIMIT = "onboarding-credit-limit"


@dataclass(frozen=True)
class ProposeClientFact:
    """The maker's proposal of one credit fact; nothing takes effect until it is approved."""

    client_id: str
    proposal_id: str
    fact: CreditFact


@dataclass(frozen=True)
class ApproveClientFact:
    client_id: str
    proposal_id: str


@dataclass(frozen=True)
class RejectClientFact:
    client_id: str
    proposal_id: str
    reason: str


ClientFactCommand = ProposeClientFact | ApproveClientFact | RejectClientFact

Command = (
    OnboardClient
    | DepositCash
    | WithdrawCash
    | DepositCollateral
    | WithdrawCollateral
    | SuspendAccount
    | ResumeAccount
    | CloseAccount
    | ProposeCorrection
    | ApproveCorrection
    | RejectCorrection
    | FactCommand
    | DirectCreditFact
    | ClientFactCommand
)

# --------------------------------------------------------------------------------- context


class MarginCheck(Protocol):
    """The margin test a movement out must pass (docs/domain.md).

    Given the account as it would be after the movement, return the risk figures and the basis
    (policy version, prices) the decision rested on, or raise a domain error. Lending supplies
    the real test (utilisation after <= 90%, fresh prices, no open call); until then
    :class:`NoLendingMarginCheck` applies.
    """

    def check(
        self, after: MarginAccount, now: datetime
    ) -> tuple[ev.RiskFigures, ev.DecisionBasis]: ...


@dataclass(frozen=True)
class NoLendingMarginCheck:
    """Before lending exists no client owes anything; an account with debt is refused, since
    no valuation could justify the movement."""

    policy_version: int = 0

    def check(self, after: MarginAccount, now: datetime) -> tuple[ev.RiskFigures, ev.DecisionBasis]:
        if after.has_debt:
            raise InsufficientCollateral(
                "the account owes money and no valuation is available to release collateral"
            )
        zero = Money.of(REPORTING_CURRENCY, "0")
        figures = ev.RiskFigures(zero, zero, zero, Decimal(0))
        return figures, ev.DecisionBasis(self.policy_version, (), now)


@dataclass(frozen=True)
class OriginalMovement:
    """An event of the account's stream, as read for a correction: where it is and what."""

    version: int
    position: int
    event: ev.Event


@dataclass(frozen=True)
class Context:
    now: datetime
    minimum_grade: CreditGrade = CreditGrade.BBB  # the policy's, in force at ``now``
    margin_check: MarginCheck = field(default_factory=NoLendingMarginCheck)
    actor: str = ""  # the authenticated caller: a correction's or credit fact's maker or checker
    original: OriginalMovement | None = None  # the event a correction names, if it exists


# --------------------------------------------------------------------------------- decide


def decide(state: MarginAccount, command: Command, context: Context) -> list[ev.Event]:
    match command:
        case OnboardClient():
            return _onboard(state, command, context)
        case DepositCash():
            _require_open(state)
            _require_kind(command.amount, cash=True, field_name="amount")
            journal = journals.cash_deposit(state.client_id, command.amount)
            return [ev.CashDeposited(state.client_id, command.amount, command.reference, journal)]
        case WithdrawCash():
            _require_movable(state)
            _require_kind(command.amount, cash=True, field_name="amount")
            held = state.cash.money(command.amount.asset.code)
            if command.amount > held:
                raise InsufficientBalance(
                    f"cash balance is {format_amount(held)} {held.asset.code}; "
                    f"cannot withdraw {format_amount(command.amount)}"
                )
            journal = journals.cash_withdrawal(state.client_id, command.amount)
            _, basis = context.margin_check.check(_after(state, journal), context.now)
            return [ev.CashWithdrawn(state.client_id, command.amount, basis, journal)]
        case DepositCollateral():
            _require_open(state)
            _require_kind(command.quantity, cash=False, field_name="quantity")
            journal = journals.collateral_deposit(state.client_id, command.quantity)
            return [
                ev.CollateralDeposited(
                    state.client_id, command.quantity, command.reference, journal
                )
            ]
        case WithdrawCollateral():
            _require_movable(state)
            _require_kind(command.quantity, cash=False, field_name="quantity")
            code = command.quantity.asset.code
            held = state.collateral.money(code)
            # Collateral an open sell order is selling is reserved: it cannot leave.
            available = Money(held.asset, state.available_collateral(code))
            if command.quantity > available:
                reserved = state.reserved.get(code)
                under_sale = (
                    f", {format_amount(Money(held.asset, reserved))} of it reserved by a sale"
                    if reserved
                    else ""
                )
                raise InsufficientCollateral(
                    f"holding is {format_amount(held)} {held.asset.code}{under_sale}; "
                    f"cannot withdraw {format_amount(command.quantity)}"
                )
            journal = journals.collateral_withdrawal(state.client_id, command.quantity)
            figures, basis = context.margin_check.check(_after(state, journal), context.now)
            return [
                ev.CollateralWithdrawn(state.client_id, command.quantity, figures, basis, journal)
            ]
        case SuspendAccount():
            _require_open(state)
            if state.suspended:
                raise AccountSuspended("the account is already suspended")
            return [ev.AccountSuspended(state.client_id, command.reason)]
        case ResumeAccount():
            _require_open(state)
            if not state.suspended:
                raise FailedPrecondition("the account is not suspended")
            return [ev.AccountResumed(state.client_id, command.reason)]
        case CloseAccount():
            _require_open(state)
            if state.has_debt:
                raise OutstandingDebt("the account owes money: repay it before closing")
            if state.has_balances:
                raise NonZeroBalances("withdraw all cash and collateral before closing")
            return [ev.AccountClosed(state.client_id, "closed on request")]
        case ProposeCorrection() | ApproveCorrection() | RejectCorrection():
            return _correct(state, command, context)
        case (
            SignMarginAgreement()
            | AcknowledgeRiskDisclosure()
            | SetRelatedGroup()
            | LinkSecuritiesAccount()
            | UnlinkSecuritiesAccount()
        ):
            _require_open(state)
            return [_fact(state, command)]
        case RecordCreditAssessment() | SetCreditLimit() | SetProfessionalInvestorStatus():
            raise MakerCheckerRequired(
                f"a {_FACT_NAMES[type(command)]} is a credit officer's decision and needs a "
                "second person: propose it with ProposeClientFact, then a different principal "
                "approves it with ApproveClientFact"
            )
        case ProposeClientFact() | ApproveClientFact() | RejectClientFact():
            return _client_fact(state, command, context)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _onboard(state: MarginAccount, command: OnboardClient, context: Context) -> list[ev.Event]:
    if state.exists:
        raise AccountAlreadyExists(f"client {command.client_id} already has a margin account")
    client, today = command.client_id, context.now.date()
    events: list[ev.Event] = [ev.ClientOnboarded(client, command.related_group_id)]
    if command.securities_account_id:
        events.append(ev.SecuritiesMarginAccountLinked(client, command.securities_account_id))
    if command.professional_investor:
        raise MakerCheckerRequired(
            "professional-investor status needs evidence, an expiry and a second person: "
            "propose it with ProposeClientFact once the account is open"
        )
    # The credit facts onboarding is given are proposed, as a credit officer's later ones are.
    proposed: list[tuple[str, CreditFact]] = []
    if command.credit_grade is not None:
        assessment = command.credit_assessment_id or f"onboarding-{today.isoformat()}"
        grade = ev.ProposedCreditAssessment(assessment, command.credit_grade, today, None)
        proposed.append((ONBOARDING_ASSESSMENT, grade))
    if command.credit_limit is not None:
        proposed.append((ONBOARDING_LIMIT, command.credit_limit))
    for proposal_id, fact in proposed:
        # Refused now if it could never be approved.
        _fact_event(client, fact, today, limit_field="credit_limit")
        events.append(_proposed(client, proposal_id, fact, context))
    if command.agreement_version:
        events.append(ev.MarginAgreementSigned(client, command.agreement_version, today))
    if command.disclosure_version:
        events.append(ev.RiskDisclosureAcknowledged(client, command.disclosure_version, today))
    events.append(ev.ProfessionalInvestorStatusSet(client, False, today))
    return events


def _fact(state: MarginAccount, command: FactCommand) -> ev.Event:
    """The one event recording a later eligibility fact (the account is open)."""
    client = state.client_id
    match command:
        case SignMarginAgreement():
            return ev.MarginAgreementSigned(client, command.version, command.signed_on)
        case AcknowledgeRiskDisclosure():
            return ev.RiskDisclosureAcknowledged(client, command.version, command.acknowledged_on)
        case SetRelatedGroup():
            return ev.RelatedGroupChanged(client, command.group_id)
        case LinkSecuritiesAccount():
            return ev.SecuritiesMarginAccountLinked(client, command.securities_account_id)
        case UnlinkSecuritiesAccount():
            if state.securities_account_id is None:
                raise FailedPrecondition(f"client {client} has no securities margin account linked")
            return ev.SecuritiesMarginAccountUnlinked(client, state.securities_account_id)


# --------------------------------------------------------------------------------- credit facts

_FACT_NAMES: dict[type, str] = {
    RecordCreditAssessment: "credit assessment",
    SetCreditLimit: "credit limit",
    SetProfessionalInvestorStatus: "professional-investor status",
}


def _client_fact(
    state: MarginAccount, command: ClientFactCommand, context: Context
) -> list[ev.Event]:
    match command:
        case ProposeClientFact():
            _require_open(state)
            if state.fact_proposal(command.proposal_id) is not None:
                raise ProposalAlreadyExists(
                    f"proposal {command.proposal_id} already exists on the account of "
                    f"{state.client_id}"
                )
            _fact_event(state.client_id, command.fact, context.now.date())
            return [_proposed(state.client_id, command.proposal_id, command.fact, context)]
        case ApproveClientFact():
            _require_open(state)
            proposal = _pending_fact(state, command.proposal_id, context)
            fact = _fact_of(proposal.proposed)
            approved = ev.ClientFactApproved(
                state.client_id,
                proposal.proposal_id,
                _fact_kind(fact),
                proposal.proposed_by,
                context.actor,
                context.now,
            )
            effect = _fact_event(state.client_id, fact, context.now.date())
            events: list[ev.Event] = [approved, effect]
            if isinstance(effect, ev.CreditAssessed):
                after = _folded(state, events)
                events += credit_hold(after, context.minimum_grade, context.now)
            return events
        case RejectClientFact():
            if not state.exists:
                raise AccountNotFound(f"client {state.client_id} has no margin account")
            proposal = _pending_fact(state, command.proposal_id, context)
            rejected = ev.ClientFactRejected(
                state.client_id,
                proposal.proposal_id,
                _fact_kind(_fact_of(proposal.proposed)),
                proposal.proposed_by,
                context.actor,
                context.now,
                command.reason,
            )
            return [rejected]


def _pending_fact(state: MarginAccount, proposal_id: str, context: Context) -> FactProposal:
    return pending_for_checker(
        state.fact_proposal(proposal_id),
        what=f"credit-fact proposal {proposal_id} on the account of {state.client_id}",
        checker=context.actor,
        not_found=FactProposalNotFound,
        not_pending=ProposalNotPending,
    )


def _proposed(
    client: str, proposal_id: str, fact: CreditFact, context: Context
) -> ev.ClientFactProposed:
    return ev.ClientFactProposed(
        client,
        proposal_id,
        context.actor,
        context.now,
        credit_assessment=fact if isinstance(fact, ev.ProposedCreditAssessment) else None,
        credit_limit=fact if isinstance(fact, Money) else None,
        professional_investor=(
            fact if isinstance(fact, ev.ProposedProfessionalInvestorStatus) else None
        ),
    )


def _fact_of(proposed: ev.ClientFactProposed) -> CreditFact:
    fact: CreditFact | None = (
        proposed.credit_assessment or proposed.credit_limit or proposed.professional_investor
    )
    if fact is None:  # pragma: no cover - never decided so; evolve keeps whatever was stored
        raise FactProposalNotFound(f"proposal {proposed.proposal_id} carries no fact")
    return fact


def _fact_kind(fact: CreditFact) -> str:
    if isinstance(fact, ev.ProposedCreditAssessment):
        return CREDIT_ASSESSMENT
    if isinstance(fact, Money):
        return CREDIT_LIMIT
    return PROFESSIONAL_INVESTOR


def _fact_event(
    client: str, fact: CreditFact, today: date, *, limit_field: str = "limit"
) -> ev.Event:
    """The event recording ``fact`` as of ``today``, refused (InvalidArgument) when the fact
    could not be recorded: a proposal is checked when it is made and again when approved."""
    if isinstance(fact, ev.ProposedCreditAssessment):
        _require_after(fact.expires_on, fact.assessed_on, "expires_on", "assessed_on")
        return ev.CreditAssessed(
            client, fact.assessment_id, fact.grade, fact.assessed_on, fact.expires_on
        )
    if isinstance(fact, Money):
        _require_kind(fact, cash=True, field_name=limit_field)
        return ev.CreditLimitSet(client, fact)
    if fact.professional:
        # Professional status rests on evidence and is reviewed: both are required to grant it.
        if not fact.evidence:
            raise InvalidArgument.for_field("evidence", "is required to grant the status")
        if fact.expires_on is None:
            raise InvalidArgument.for_field("expires_on", "is required to grant the status")
        _require_after(fact.expires_on, today, "expires_on", "today")
    return ev.ProfessionalInvestorStatusSet(
        client, fact.professional, today, fact.evidence, fact.expires_on
    )


def _folded(state: MarginAccount, events: list[ev.Event]) -> MarginAccount:
    for event in events:
        state = evolve(state, event)
    return state


def _require_after(later: date | None, earlier: date, field_name: str, what: str) -> None:
    if later is not None and later <= earlier:
        raise InvalidArgument.for_field(field_name, f"must be after {what} ({earlier.isoformat()})")


def _require_open(state: MarginAccount) -> None:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.status is Lifecycle.CLOSED:
        raise AccountClosed(f"the margin account of {state.client_id} is closed")


def _require_movable(state: MarginAccount) -> None:
    _require_open(state)
    if state.suspended:
        raise AccountSuspended(
            f"the account of {state.client_id} is suspended: nothing may leave it"
        )


def _require_kind(amount: Money, *, cash: bool, field_name: str) -> None:
    is_cash = amount.asset.kind in (AssetKind.FIAT, AssetKind.STABLECOIN)
    if is_cash != cash:
        wanted = "a cash asset (HKD, USD, USDT)" if cash else "collateral (BTC, ETH, securities)"
        raise InvalidArgument.for_field(f"{field_name}.asset", f"must be {wanted}")


def _after(state: MarginAccount, journal: Journal) -> MarginAccount:
    return with_journal(state, journal)


# --------------------------------------------------------------------------------- corrections


def _correct(state: MarginAccount, command: CorrectionCommand, context: Context) -> list[ev.Event]:
    match command:
        case ProposeCorrection():
            return _propose_correction(state, command, context)
        case ApproveCorrection():
            return _approve_correction(state, command, context)
        case RejectCorrection():
            return _reject_correction(state, command, context)


def _propose_correction(
    state: MarginAccount, command: ProposeCorrection, context: Context
) -> list[ev.Event]:
    _require_open(state)
    if state.correction(command.correction_id) is not None:
        raise CorrectionAlreadyExists(
            f"correction {command.correction_id} already exists on the account of {state.client_id}"
        )
    original, movement = _movement(state, command.original_version, context)
    existing = state.correction_of(original.version)
    if existing is not None and existing.state == "approved":
        raise AlreadyReversed(
            f"the {type(movement).__name__} at version {original.version} was "
            f"reversed already (correction {existing.correction_id})"
        )
    if existing is not None:
        raise CorrectionPending(
            f"correction {existing.correction_id} of version {original.version} awaits its "
            "checker: approve or reject it first"
        )
    _reversal_basis(state, journals.reversal(movement.journal), context)
    return [
        ev.CorrectionProposed(
            state.client_id,
            command.correction_id,
            original.version,
            original.position,
            type(movement).__name__,
            command.reason,
            context.actor,
        )
    ]


def _approve_correction(
    state: MarginAccount, command: ApproveCorrection, context: Context
) -> list[ev.Event]:
    _require_open(state)
    correction = _pending_correction(state, command.correction_id, context)
    original, movement = _movement(state, correction.original_version, context)
    journal = journals.reversal(movement.journal)
    basis = _reversal_basis(state, journal, context)
    return [
        ev.MovementReversed(
            state.client_id,
            correction.correction_id,
            original.version,
            original.position,
            correction.original_type,
            _moved(movement),
            correction.reason,
            correction.proposed_by,
            context.actor,
            basis,
            journal,
        )
    ]


def _reject_correction(
    state: MarginAccount, command: RejectCorrection, context: Context
) -> list[ev.Event]:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    correction = _pending_correction(state, command.correction_id, context)
    rejected = ev.CorrectionRejected(
        state.client_id, correction.correction_id, context.actor, command.reason
    )
    return [rejected]


def _pending_correction(state: MarginAccount, correction_id: str, context: Context) -> Correction:
    """The pending correction ``correction_id``, decided by a checker who is not its maker."""
    return pending_for_checker(
        state.correction(correction_id),
        what=f"correction {correction_id} on the account of {state.client_id}",
        checker=context.actor,
        not_found=CorrectionNotFound,
        not_pending=CorrectionNotPending,
    )


def _moved(movement: Movement) -> Money:
    """The amount of cash or the quantity of collateral a movement moved."""
    if isinstance(movement, ev.CashDeposited | ev.CashWithdrawn):
        return movement.amount
    return movement.quantity


def _movement(
    state: MarginAccount, version: int, context: Context
) -> tuple[OriginalMovement, Movement]:
    """The movement at ``version`` of the account's stream (the handler read it)."""
    original = context.original
    if original is None or original.version != version:
        raise MovementNotFound(
            f"the account of {state.client_id} has no event at version {version}"
        )
    event = original.event
    if not isinstance(event, REVERSIBLE):
        raise NotReversible(
            f"the {type(event).__name__} at version {version} is not a cash or collateral "
            "movement: only those are reversed by a correction"
        )
    return original, event


def _reversal_basis(
    state: MarginAccount, journal: Journal, context: Context
) -> ev.DecisionBasis | None:
    """Refuse a reversal that no balance can bear; a reversal that takes value out of the
    account (a deposit reversed) must pass the withdrawals' margin test, whose basis it
    records. None when it only puts value back (a withdrawal reversed)."""
    after = _after(state, journal)
    takes_out = False
    for posting in journal:
        owner = client_of(posting.ledger_account)
        if owner is None or owner[0] != state.client_id or posting.amount >= 0:
            continue
        takes_out = True
        code = posting.asset
        if owner[1] == "cash" and after.cash.get(code) < 0:
            held = state.cash.money(code)
            raise InsufficientBalance(
                f"cash balance is {format_amount(held)} {code}: reversing "
                f"{format_amount(Money(held.asset, -posting.amount))} would leave it negative "
                "(the cash was spent or withdrawn since)"
            )
        if owner[1] == "custody" and after.available_collateral(code) < 0:
            held = state.collateral.money(code)
            available = Money(held.asset, state.available_collateral(code))
            raise InsufficientCollateral(
                f"available {code} is {format_amount(available)} of a holding of "
                f"{format_amount(held)}: reversing "
                f"{format_amount(Money(held.asset, -posting.amount))} would leave it negative"
            )
    if not takes_out:
        return None
    _, basis = context.margin_check.check(after, context.now)
    return basis
