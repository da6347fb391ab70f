"""The accounts service's decisions: ``decide(state, command, context) -> events``.

Pure: no I/O, no clock (``context.now`` is an input), no transport. Every refusal is a
domain error from the kernel's closed vocabulary. Value-moving events carry their journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import Lifecycle, MarginAccount, with_journal
from harbour.ledger.assets import AssetKind
from harbour.ledger.errors import (
    AccountAlreadyExists,
    AccountClosed,
    AccountNotFound,
    AccountSuspended,
    FailedPrecondition,
    InsufficientBalance,
    InsufficientCollateral,
    InvalidArgument,
    NonZeroBalances,
    OutstandingDebt,
)
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money, format_amount
from harbour.ledger.postings import Journal

REPORTING_CURRENCY = "HKD"

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


Command = (
    OnboardClient
    | DepositCash
    | WithdrawCash
    | DepositCollateral
    | WithdrawCollateral
    | SuspendAccount
    | ResumeAccount
    | CloseAccount
)

# --------------------------------------------------------------------------------- context


class MarginCheck(Protocol):
    """The margin test a movement out must pass (DESIGN.md section 4).

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
class Context:
    now: datetime
    minimum_grade: CreditGrade = CreditGrade.BBB
    margin_check: MarginCheck = field(default_factory=NoLendingMarginCheck)


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
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _onboard(state: MarginAccount, command: OnboardClient, context: Context) -> list[ev.Event]:
    if state.exists:
        raise AccountAlreadyExists(f"client {command.client_id} already has a margin account")
    client, today = command.client_id, context.now.date()
    events: list[ev.Event] = [ev.ClientOnboarded(client, command.related_group_id)]
    if command.securities_account_id:
        events.append(ev.SecuritiesMarginAccountLinked(client, command.securities_account_id))
    if command.credit_grade is not None:
        assessment = command.credit_assessment_id or f"onboarding-{today.isoformat()}"
        events.append(ev.CreditAssessed(client, assessment, command.credit_grade, today))
    if command.credit_limit is not None:
        events.append(ev.CreditLimitSet(client, command.credit_limit))
    if command.agreement_version:
        events.append(ev.MarginAgreementSigned(client, command.agreement_version, today))
    if command.disclosure_version:
        events.append(ev.RiskDisclosureAcknowledged(client, command.disclosure_version, today))
    events.append(ev.ProfessionalInvestorStatusSet(client, command.professional_investor, today))
    return events


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
