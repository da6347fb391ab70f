"""The closed vocabulary of domain refusals.

Every refusal the domain can give is a subclass of :class:`DomainError` with a stable
snake_case ``reason`` (callers branch on it, so it never changes once released) and a
``category`` saying what kind of refusal it is. The runtime maps categories to gRPC status
codes in exactly one table (``harbour.runtime.errors``); nothing else knows about gRPC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Category(Enum):
    """What kind of refusal: decides the transport status code, nothing else."""

    INVALID_ARGUMENT = "invalid_argument"  # the request itself is malformed
    FAILED_PRECONDITION = "failed_precondition"  # well-formed, but the state forbids it
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    ABORTED = "aborted"  # lost a race; retrying the same request may succeed
    PERMISSION_DENIED = "permission_denied"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, named as the caller named it."""

    field: str
    description: str


@dataclass(frozen=True)
class DomainError(Exception):
    """Base of every domain refusal; never raised directly."""

    message: str
    violations: tuple[FieldViolation, ...] = field(default=())

    reason = "domain_error"
    category = Category.FAILED_PRECONDITION

    def __str__(self) -> str:
        return self.message


class InvalidArgument(DomainError):
    """The request is malformed: a bad id, amount, asset or field."""

    reason = "invalid_argument"
    category = Category.INVALID_ARGUMENT

    @classmethod
    def for_field(cls, field_name: str, description: str) -> InvalidArgument:
        return cls(f"{field_name}: {description}", (FieldViolation(field_name, description),))


class NotFound(DomainError):
    reason = "not_found"
    category = Category.NOT_FOUND


class PermissionDenied(DomainError):
    reason = "permission_denied"
    category = Category.PERMISSION_DENIED


class AlreadyExists(DomainError):
    reason = "already_exists"
    category = Category.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """The request is well-formed but the account's state forbids it."""

    reason = "failed_precondition"
    category = Category.FAILED_PRECONDITION


# --- malformed requests (INVALID_ARGUMENT): raised through ``for_field`` so the caller is told
# which field was wrong as well as why.


class UnknownAsset(InvalidArgument):
    reason = "unknown_asset"


class MalformedAmount(InvalidArgument):
    reason = "malformed_amount"


class TooManyDecimals(InvalidArgument):
    """More decimals than the asset's scale: refused, never rounded (docs/domain.md, Money)."""

    reason = "too_many_decimals"


class AmountNotPositive(InvalidArgument):
    reason = "amount_not_positive"


class MalformedDecimal(InvalidArgument):
    """A price, rate or ratio that is not a plain decimal string."""

    reason = "malformed_decimal"


class MalformedIdentifier(InvalidArgument):
    reason = "malformed_identifier"


class UnknownCreditGrade(InvalidArgument):
    reason = "unknown_credit_grade"


class HaircutBelowFloor(InvalidArgument):
    """A collateral policy that would haircut a virtual asset below the regulatory floor."""

    reason = "haircut_below_floor"


# --- not found / already exists


class AccountNotFound(NotFound):
    reason = "account_not_found"


class PriceUnavailable(NotFound):
    reason = "price_unavailable"


class PolicyProposalNotFound(NotFound):
    reason = "policy_proposal_not_found"


class AccountAlreadyExists(AlreadyExists):
    reason = "account_already_exists"


class ProposalAlreadyExists(AlreadyExists):
    reason = "proposal_already_exists"


class UnknownPolicyParameter(InvalidArgument):
    reason = "unknown_policy_parameter"


# --- state forbids it (FAILED_PRECONDITION)


class InsufficientBalance(FailedPrecondition):
    reason = "insufficient_balance"


class InsufficientCollateral(FailedPrecondition):
    reason = "insufficient_collateral"


class AccountNotActive(FailedPrecondition):
    reason = "account_not_active"


class AccountSuspended(FailedPrecondition):
    reason = "account_suspended"


class AccountClosed(FailedPrecondition):
    reason = "account_closed"


@dataclass(frozen=True)
class NotEligible(FailedPrecondition):
    """The client may not borrow; ``unmet`` lists every missing item (see eligibility.py)."""

    unmet: tuple[str, ...] = ()

    reason = "not_eligible"


class NotProfessionalInvestor(FailedPrecondition):
    reason = "not_professional_investor"


class AssetNotEligible(FailedPrecondition):
    """The asset is known but the collateral policy gives it no marginable value."""

    reason = "asset_not_eligible"


class OutstandingDebt(FailedPrecondition):
    reason = "outstanding_debt"


class NonZeroBalances(FailedPrecondition):
    reason = "non_zero_balances"


class NothingToRepay(FailedPrecondition):
    reason = "nothing_to_repay"


class StalePrice(FailedPrecondition):
    reason = "stale_price"


class MarginCallOpen(FailedPrecondition):
    reason = "margin_call_open"


class NoMarginCallOpen(FailedPrecondition):
    reason = "no_margin_call_open"


class AdvancesBlocked(FailedPrecondition):
    """Advances are suspended on the account (AdvancesSuspended is the event that did it)."""

    reason = "advances_suspended"


class LiquidationInProgress(FailedPrecondition):
    reason = "liquidation_in_progress"


class NotLiquidating(FailedPrecondition):
    reason = "not_liquidating"


class NotInDeficit(FailedPrecondition):
    reason = "not_in_deficit"


class CreditLimitExceeded(FailedPrecondition):
    reason = "credit_limit_exceeded"


class CreditLimitNotApproved(FailedPrecondition):
    """A facility needs a credit limit in its currency approved by a maker and a checker."""

    reason = "credit_limit_not_approved"


class FacilityAboveApprovedCreditLimit(FailedPrecondition):
    """A facility may lend at most the credit limit a maker and a checker approved."""

    reason = "facility_above_approved_credit_limit"


class ConcentrationLimitExceeded(FailedPrecondition):
    reason = "concentration_limit_exceeded"


class BrokerLimitExceeded(FailedPrecondition):
    """Total margin loans would exceed the broker-wide cap (5 x capital)."""

    reason = "broker_limit_exceeded"


class UtilisationTooHigh(FailedPrecondition):
    reason = "utilisation_too_high"


class ProposalNotPending(FailedPrecondition):
    reason = "proposal_not_pending"


class ProposalSuperseded(FailedPrecondition):
    """A policy proposal drafted against a version that is no longer the latest."""

    reason = "proposal_superseded"


class EffectiveInstantPassed(FailedPrecondition):
    """Policies are never retroactive: their effective instant must lie ahead."""

    reason = "effective_instant_passed"


class SameMakerAndChecker(PermissionDenied):
    """Maker-checker: the approver of a policy change must not be its proposer."""

    reason = "same_maker_and_checker"


# Every concrete refusal, for the test that holds reasons unique and snake_case and for the
# runtime's documentation of the closed vocabulary. DomainError itself is never raised.
ALL_ERRORS: tuple[type[DomainError], ...] = (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    AlreadyExists,
    FailedPrecondition,
    UnknownAsset,
    MalformedAmount,
    TooManyDecimals,
    AmountNotPositive,
    MalformedDecimal,
    MalformedIdentifier,
    UnknownCreditGrade,
    HaircutBelowFloor,
    AccountNotFound,
    PriceUnavailable,
    PolicyProposalNotFound,
    AccountAlreadyExists,
    InsufficientBalance,
    InsufficientCollateral,
    AccountNotActive,
    AccountSuspended,
    AccountClosed,
    NotEligible,
    NotProfessionalInvestor,
    AssetNotEligible,
    OutstandingDebt,
    NonZeroBalances,
    NothingToRepay,
    StalePrice,
    MarginCallOpen,
    NoMarginCallOpen,
    AdvancesBlocked,
    LiquidationInProgress,
    NotLiquidating,
    NotInDeficit,
    CreditLimitExceeded,
    CreditLimitNotApproved,
    FacilityAboveApprovedCreditLimit,
    ConcentrationLimitExceeded,
    BrokerLimitExceeded,
    UtilisationTooHigh,
    ProposalNotPending,
    SameMakerAndChecker,
    ProposalAlreadyExists,
    UnknownPolicyParameter,
    ProposalSuperseded,
    EffectiveInstantPassed,
)
