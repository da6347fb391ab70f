"""The collateral and risk policy: every number docs/domain.md calls a parameter.

A policy is a frozen set of parameters with a version and the instant it takes effect. The
stream ``policy-collateral`` holds its history: proposals by a maker, approvals by a different
checker. Version 1 is :data:`DEFAULT_POLICY` (the defaults of docs/domain.md's table), in force from
the beginning of time; every later version is an approved proposal whose parameters are applied
on top of the version it was drafted against.

Parameters travel as ``(name, text)`` pairs (:class:`PolicyParameter`) so events hold exactly
what the maker typed. Names are a closed list; ``haircut.<ASSET>`` and
``limit.asset_exposure.<ASSET>`` take any asset code, including a security's.

The 60% haircut floor for virtual assets is regulatory, not a parameter: no policy can lower it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from harbour.ledger import events as ev
from harbour.ledger.assets import FIXED_ASSETS, REPORTING_CURRENCY, asset
from harbour.ledger.errors import (
    EffectiveInstantPassed,
    HaircutBelowFloor,
    InvalidArgument,
    PolicyProposalNotFound,
    ProposalAlreadyExists,
    ProposalNotPending,
    ProposalSuperseded,
    UnknownPolicyParameter,
)
from harbour.ledger.grades import CreditGrade, credit_grade
from harbour.ledger.maker_checker import pending_for_checker
from harbour.ledger.money import Money, format_decimal, parse_amount, parse_decimal

POLICY_STREAM = "policy-collateral"
VA_HAIRCUT_FLOOR = Decimal("0.60")  # SFC/HKMA circulars: not a policy parameter
MAX_CALL_DEADLINE_DAYS = 3
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
PROPOSAL_CLOCK_SKEW = timedelta(seconds=5)
_ONE = Decimal(1)


def _frozen(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(sorted(mapping.items())))


@dataclass(frozen=True)
class CollateralPolicy:
    version: int
    effective_from: datetime
    eligible_virtual_assets: tuple[str, ...]
    # Haircut per asset code; a security without one takes ``default_security_haircut``
    # (100% by default: ineligible until the policy lists it).
    haircuts: Mapping[str, Decimal]
    default_security_haircut: Decimal
    va_share_cap: Decimal  # VA marginable value <= cap x client marginable value; 1 disables
    warning_utilisation: Decimal
    margin_call_utilisation: Decimal
    forced_sale_utilisation: Decimal
    max_advance_utilisation: Decimal
    liquidation_target_utilisation: Decimal
    margin_call_deadline_days: int  # business days
    liquidation_fee: Decimal  # share of proceeds
    price_staleness_seconds: int
    price_jump_band: Decimal  # a tick moving more than this share from the last is refused
    minimum_credit_grade: CreditGrade
    single_client_limit: Decimal  # share of shareholders' funds, per client or related group
    total_loans_multiple: Decimal  # total margin loans <= this x broker capital
    asset_exposure_limits: Mapping[str, Decimal] = field(
        default_factory=lambda: MappingProxyType({})
    )  # multiples of capital
    # A forced sale fills no lower than this share below the mark; a market that would pauses
    # the sale for an operator instead of dumping collateral.
    liquidation_max_slippage: Decimal = Decimal("0.05")
    broker_capital: Money = field(default_factory=lambda: Money.of(REPORTING_CURRENCY.code, "0"))
    shareholders_funds: Money = field(
        default_factory=lambda: Money.of(REPORTING_CURRENCY.code, "0")
    )

    def haircut(self, code: str) -> Decimal:
        """The haircut of ``code``: listed, else 100% for a virtual asset the policy does not
        name as eligible, else the default for securities."""
        listed = self.haircuts.get(code)
        if listed is not None:
            if code in _VIRTUAL_CODES and code not in self.eligible_virtual_assets:
                return _ONE
            return listed
        if code in _VIRTUAL_CODES:
            return _ONE
        return self.default_security_haircut if "." in code else _ONE

    def is_eligible(self, code: str) -> bool:
        return self.haircut(code) < _ONE

    @property
    def total_loans_limit(self) -> Money:
        return _times(self.broker_capital, self.total_loans_multiple)

    @property
    def single_client_limit_amount(self) -> Money:
        return _times(self.shareholders_funds, self.single_client_limit)

    def asset_exposure_limit(self, code: str) -> Money | None:
        multiple = self.asset_exposure_limits.get(code)
        return None if multiple is None else _times(self.broker_capital, multiple)

    def parameters(self) -> tuple[ev.PolicyParameter, ...]:
        """Every parameter as (name, text), sorted by name: what GetPolicy shows."""
        return tuple(ev.PolicyParameter(name, text) for name, text in sorted(_render(self).items()))


def _times(amount: Money, factor: Decimal) -> Money:
    # Limits are what the broker may lend: round down, exactly (no Decimal context involved).
    numerator, denominator = factor.as_integer_ratio()
    return Money(amount.asset, amount.minor * numerator // denominator)


_VIRTUAL_CODES = frozenset(code for code, a in FIXED_ASSETS.items() if a.is_virtual)

DEFAULT_POLICY = CollateralPolicy(
    version=1,
    effective_from=BEGINNING,
    eligible_virtual_assets=("BTC", "ETH"),
    haircuts=_frozen(
        {
            "BTC": Decimal("0.60"),
            "ETH": Decimal("0.65"),
            "HKD": Decimal("0"),
            "USD": Decimal("0.05"),
            "USDT": Decimal("0.10"),
        }
    ),
    default_security_haircut=_ONE,
    va_share_cap=Decimal("0.50"),
    warning_utilisation=Decimal("0.90"),
    margin_call_utilisation=Decimal("1.00"),
    forced_sale_utilisation=Decimal("1.30"),
    max_advance_utilisation=Decimal("0.90"),
    liquidation_target_utilisation=Decimal("0.80"),
    margin_call_deadline_days=1,
    liquidation_fee=Decimal("0.02"),
    price_staleness_seconds=120,
    price_jump_band=Decimal("0.50"),
    minimum_credit_grade=CreditGrade.BBB,
    single_client_limit=Decimal("0.20"),
    total_loans_multiple=Decimal("5"),
    asset_exposure_limits=_frozen({"BTC": Decimal("2"), "ETH": Decimal("1")}),
    broker_capital=Money.of(REPORTING_CURRENCY.code, "100000000.00"),
    shareholders_funds=Money.of(REPORTING_CURRENCY.code, "120000000.00"),
)

# ------------------------------------------------------------------------------ parameters

_RATIOS = {
    "va_share_cap": "va_share_cap",
    "utilisation.warning": "warning_utilisation",
    "utilisation.margin_call": "margin_call_utilisation",
    "utilisation.forced_sale": "forced_sale_utilisation",
    "utilisation.max_advance": "max_advance_utilisation",
    "utilisation.liquidation_target": "liquidation_target_utilisation",
    "fee.liquidation": "liquidation_fee",
    "liquidation.max_slippage": "liquidation_max_slippage",
    "price.jump_band": "price_jump_band",
    "limit.single_client": "single_client_limit",
    "haircut.default_security": "default_security_haircut",
}
# Utilisation thresholds may exceed 1 (forced sale at 130%); shares and haircuts may not.
_RATIO_MAXIMUM = {name: _ONE for name in _RATIOS} | {
    "utilisation.margin_call": Decimal(10),
    "utilisation.forced_sale": Decimal(10),
}
_AMOUNTS = {"broker.capital": "broker_capital", "broker.shareholders_funds": "shareholders_funds"}
_PER_ASSET = re.compile(r"^(haircut|limit\.asset_exposure)\.([^.].*)$")
MAX_PARAMETERS = 200


def _render(policy: CollateralPolicy) -> dict[str, str]:
    out = {name: format_decimal(getattr(policy, attr)) for name, attr in _RATIOS.items()}
    out |= {
        name: format_decimal(getattr(policy, attr).to_decimal()) for name, attr in _AMOUNTS.items()
    }
    out["eligible_virtual_assets"] = ",".join(policy.eligible_virtual_assets)
    out["margin_call.deadline_business_days"] = str(policy.margin_call_deadline_days)
    out["price.staleness_seconds"] = str(policy.price_staleness_seconds)
    out["credit.minimum_grade"] = policy.minimum_credit_grade.value
    out["limit.total_loans_multiple"] = format_decimal(policy.total_loans_multiple)
    out |= {f"haircut.{code}": format_decimal(v) for code, v in policy.haircuts.items()}
    out |= {
        f"limit.asset_exposure.{code}": format_decimal(v)
        for code, v in policy.asset_exposure_limits.items()
    }
    return out


def apply_parameters(
    base: CollateralPolicy,
    parameters: Iterable[ev.PolicyParameter],
    *,
    version: int,
    effective_from: datetime,
    field_prefix: str = "parameters",
    validate: bool = True,
) -> CollateralPolicy:
    """``base`` with ``parameters`` applied, validated one by one and then as a whole.

    Raises InvalidArgument naming the offending parameter (``parameters[i].value``), or
    HaircutBelowFloor for a virtual asset haircut under the regulatory floor. Replay passes
    ``validate=False``: an approved version is a fact even if the rules have since tightened
    (the values must still parse; the floor and the cross-parameter rules are not re-applied).
    """
    policy = replace(base, version=version, effective_from=effective_from)
    seen: set[str] = set()
    for index, parameter in enumerate(parameters):
        where = f"{field_prefix}[{index}]"
        if index >= MAX_PARAMETERS:
            raise InvalidArgument.for_field(field_prefix, f"at most {MAX_PARAMETERS} parameters")
        if parameter.name in seen:
            raise InvalidArgument.for_field(f"{where}.name", f"{parameter.name!r} is given twice")
        seen.add(parameter.name)
        policy = _apply_one(policy, parameter.name, parameter.value, where, validate)
    if validate:
        _check_whole(policy, field_prefix)
    return policy


def _apply_one(
    policy: CollateralPolicy, name: str, text: str, where: str, validate: bool = True
) -> CollateralPolicy:
    value_field = f"{where}.value"
    if name in _RATIOS:
        ratio: dict[str, Any] = {
            _RATIOS[name]: parse_decimal(text, value_field, maximum=_RATIO_MAXIMUM[name])
        }
        return replace(policy, **ratio)
    if name in _AMOUNTS:
        amount: dict[str, Any] = {
            _AMOUNTS[name]: parse_amount(REPORTING_CURRENCY, text, value_field, allow_zero=True)
        }
        return replace(policy, **amount)
    if name == "eligible_virtual_assets":
        codes = tuple(code for code in text.split(",") if code) if text else ()
        if any(code not in _VIRTUAL_CODES for code in codes) or len(set(codes)) != len(codes):
            raise InvalidArgument.for_field(
                value_field, "a comma-separated list of distinct virtual assets (BTC, ETH)"
            )
        return replace(policy, eligible_virtual_assets=codes)
    if name == "margin_call.deadline_business_days":
        days = _whole(text, value_field, 1, MAX_CALL_DEADLINE_DAYS)
        return replace(policy, margin_call_deadline_days=days)
    if name == "price.staleness_seconds":
        return replace(policy, price_staleness_seconds=_whole(text, value_field, 1, 86_400))
    if name == "credit.minimum_grade":
        return replace(policy, minimum_credit_grade=credit_grade(text, value_field))
    if name == "limit.total_loans_multiple":
        multiple = parse_decimal(text, value_field, maximum=Decimal(100))
        return replace(policy, total_loans_multiple=multiple)
    per_asset = _PER_ASSET.fullmatch(name)
    if per_asset is not None:
        code = asset(per_asset.group(2), f"{where}.name").code
        if per_asset.group(1) == "haircut":
            haircut = parse_decimal(text, value_field, maximum=_ONE)
            if validate and code in _VIRTUAL_CODES and haircut < VA_HAIRCUT_FLOOR:
                raise HaircutBelowFloor.for_field(
                    value_field,
                    f"a virtual asset haircut may not be below {format_decimal(VA_HAIRCUT_FLOOR)}"
                    f" (the regulatory floor), got {text}",
                )
            return replace(policy, haircuts=_frozen({**policy.haircuts, code: haircut}))
        multiple = parse_decimal(text, value_field, maximum=Decimal(100))
        limits = _frozen({**policy.asset_exposure_limits, code: multiple})
        return replace(policy, asset_exposure_limits=limits)
    raise UnknownPolicyParameter.for_field(
        f"{where}.name", f"unknown policy parameter {name[:60]!r}; see GetPolicy for the names"
    )


def _whole(text: str, field_name: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidArgument.for_field(field_name, f"a whole number from {low} to {high}")
    return int(text)


def _check_whole(policy: CollateralPolicy, field_prefix: str) -> None:
    """Rules across parameters: the thresholds must keep the state machine meaningful."""
    # An advance may not put a client straight into WARNING, and a call is due only when
    # the debt exceeds the marginable value (so the call amount D - CV is positive).
    ordered = (
        0 < policy.liquidation_target_utilisation < policy.margin_call_utilisation
        and _ONE <= policy.margin_call_utilisation < policy.forced_sale_utilisation
        and policy.max_advance_utilisation <= policy.warning_utilisation
        and policy.warning_utilisation <= policy.margin_call_utilisation
    )
    if not ordered:
        raise InvalidArgument.for_field(
            field_prefix,
            "utilisation thresholds must satisfy 0 < liquidation_target < margin_call, "
            "1 <= margin_call < forced_sale and max_advance <= warning <= margin_call",
        )
    if policy.liquidation_fee >= _ONE:
        raise InvalidArgument.for_field(field_prefix, "the liquidation fee must be below 1")
    if policy.va_share_cap == 0:
        raise InvalidArgument.for_field(
            field_prefix,
            "va_share_cap 0 would value no virtual asset; list no eligible virtual assets instead",
        )


# ------------------------------------------------------------------------------ history


@dataclass(frozen=True)
class Proposal:
    proposal_id: str
    base_version: int
    parameters: tuple[ev.PolicyParameter, ...]
    effective_from: datetime
    proposed_by: str
    state: str = "pending"  # pending | approved | rejected
    decided_by: str | None = None  # the checker who approved or rejected it
    approved_version: int | None = None


@dataclass(frozen=True)
class PolicyHistory:
    """The state of ``policy-collateral``: every approved version and every proposal."""

    versions: tuple[CollateralPolicy, ...] = (DEFAULT_POLICY,)
    proposals: Mapping[str, Proposal] = field(default_factory=dict)

    @property
    def latest(self) -> CollateralPolicy:
        return self.versions[-1]

    def as_of(self, instant: datetime) -> CollateralPolicy:
        """The version in force at ``instant``: approvals are never retroactive and effective
        instants only move forward, so this is the last version that had taken effect."""
        current = self.versions[0]
        for version in self.versions:
            if version.effective_from <= instant:
                current = version
        return current

    def version(self, number: int) -> CollateralPolicy | None:
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None


def evolve_policy(history: PolicyHistory, event: ev.Event) -> PolicyHistory:
    """The history after ``event``; never validates (decisions did), so replay cannot fail."""
    match event:
        case ev.PolicyChangeProposed():
            proposal = Proposal(
                event.proposal_id,
                event.policy_version,
                event.parameters,
                event.effective_from,
                event.proposed_by,
            )
            return replace(history, proposals={**history.proposals, event.proposal_id: proposal})
        case ev.PolicyChangeApproved():
            proposal = history.proposals[event.proposal_id]
            base = history.version(proposal.base_version) or history.latest
            approved = apply_parameters(
                base,
                proposal.parameters,
                version=event.policy_version,
                effective_from=event.effective_from,
                validate=False,
            )
            proposals = {
                **history.proposals,
                event.proposal_id: replace(
                    proposal,
                    state="approved",
                    decided_by=event.approved_by,
                    approved_version=event.policy_version,
                ),
            }
            return PolicyHistory((*history.versions, approved), proposals)
        case ev.PolicyChangeRejected():
            proposal = history.proposals[event.proposal_id]
            proposals = {
                **history.proposals,
                event.proposal_id: replace(
                    proposal, state="rejected", decided_by=event.rejected_by
                ),
            }
            return replace(history, proposals=proposals)
    return history


# ------------------------------------------------------------------------------ decisions


def propose(
    history: PolicyHistory,
    *,
    proposal_id: str,
    parameters: tuple[ev.PolicyParameter, ...],
    effective_from: datetime,
    maker: str,
    now: datetime,
) -> list[ev.Event]:
    if proposal_id in history.proposals:
        raise ProposalAlreadyExists(f"policy proposal {proposal_id} already exists")
    if not parameters:
        raise InvalidArgument.for_field("parameters", "propose at least one parameter")
    _require_future(history, effective_from, now, "effective_from")
    base = history.latest
    # Validate now, so a proposal that could never be approved is refused at once.
    apply_parameters(base, parameters, version=base.version + 1, effective_from=effective_from)
    return [ev.PolicyChangeProposed(proposal_id, base.version, parameters, effective_from, maker)]


def approve(
    history: PolicyHistory, *, proposal_id: str, checker: str, now: datetime
) -> list[ev.Event]:
    proposal = pending_for_checker(
        history.proposals.get(proposal_id),
        what=f"policy proposal {proposal_id}",
        checker=checker,
        not_found=PolicyProposalNotFound,
        not_pending=ProposalNotPending,
    )
    if proposal.base_version != history.latest.version:
        raise ProposalSuperseded(
            f"{proposal_id} was drafted against policy version {proposal.base_version}, but "
            f"version {history.latest.version} has been approved since: reject it and propose "
            "again"
        )
    # An approval never back-dates: a proposal approved after its stated instant takes effect
    # at the approval, and the event records the instant it actually took effect.
    effective = max(proposal.effective_from, now)
    _require_future(history, effective, now, "effective_from")
    version = history.latest.version + 1
    return [ev.PolicyChangeApproved(proposal_id, version, checker, effective)]


def reject(
    history: PolicyHistory, *, proposal_id: str, checker: str, reason: str
) -> list[ev.Event]:
    _pending(history, proposal_id)
    return [ev.PolicyChangeRejected(proposal_id, checker, reason)]


def _pending(history: PolicyHistory, proposal_id: str) -> Proposal:
    proposal = history.proposals.get(proposal_id)
    if proposal is None:
        raise PolicyProposalNotFound(f"no policy proposal {proposal_id}")
    if proposal.state != "pending":
        raise ProposalNotPending(f"policy proposal {proposal_id} is already {proposal.state}")
    return proposal


def _require_future(
    history: PolicyHistory, effective_from: datetime, now: datetime, field_name: str
) -> None:
    # Policies are never retroactive: a decision taken under version N stays explainable by N.
    # (A few seconds of clock skew between the maker's clock and ours are tolerated: the
    # instant then means "as soon as approved".)
    if effective_from < now - PROPOSAL_CLOCK_SKEW:
        raise EffectiveInstantPassed(
            f"{field_name} {effective_from.isoformat()} has passed; propose a later instant"
        )
    if effective_from < history.latest.effective_from:
        raise EffectiveInstantPassed(
            f"{field_name} must not precede the latest version's "
            f"{history.latest.effective_from.isoformat()}"
        )
