"""The collateral service's decisions: prices and the governed policy.

Pure: ``decide_price(track, command, context)`` and ``decide_policy(history, command,
context)`` return events or raise a domain error; the clock and the caller are inputs.

Price rules: a price is strictly positive, quoted in the reporting currency, observed no
later than now (plus a small clock skew). An observation older than the last accepted one
(out of order), or moving more than the policy's band away from a still-fresh last price
(an absurd jump), is recorded as ``PriceRejected`` with its reason, so the feed's quality can
be audited; it never becomes a price. After a gap longer than the staleness window the band
does not apply: the first observation re-anchors the price (a market that moved while the
feed was silent must still reach the margin calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from harbour.ledger import events as ev
from harbour.ledger import policy as governed
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.policy import CollateralPolicy, PolicyHistory
from harbour.ledger.prices import PriceTrack

CLOCK_SKEW = timedelta(seconds=5)


# ------------------------------------------------------------------------------ prices


@dataclass(frozen=True)
class RecordPrice:
    asset: str
    price: Decimal
    observed_at: datetime
    source: str


@dataclass(frozen=True)
class PriceContext:
    now: datetime
    policy: CollateralPolicy  # the version in force now


def decide_price(track: PriceTrack, command: RecordPrice, context: PriceContext) -> list[ev.Event]:
    if command.asset == REPORTING_CURRENCY.code:
        raise InvalidArgument.for_field(
            "price.base_asset", f"{REPORTING_CURRENCY.code} is the reporting currency (always 1)"
        )
    if command.observed_at > context.now + CLOCK_SKEW:
        raise InvalidArgument.for_field(
            "observed_at", f"{command.observed_at.isoformat()} is in the future"
        )
    reason = _rejection(track.last, command, context.policy)
    if reason is None:
        return [
            ev.PriceObserved(
                command.asset,
                REPORTING_CURRENCY.code,
                command.price,
                command.observed_at,
                command.source,
            )
        ]
    last = track.last
    return [
        ev.PriceRejected(
            command.asset,
            REPORTING_CURRENCY.code,
            command.price,
            command.observed_at,
            command.source,
            reason,
            last.price if last else None,
            last.observed_at if last else None,
            context.policy.version,
        )
    ]


def _rejection(
    last: ev.PricePoint | None, command: RecordPrice, policy: CollateralPolicy
) -> str | None:
    if last is None:
        return None
    if command.observed_at <= last.observed_at:
        return "out_of_order"
    window = timedelta(seconds=policy.price_staleness_seconds)
    if command.observed_at - last.observed_at > window:
        return None  # the last price had gone stale: re-anchor
    if abs(command.price - last.price) > last.price * policy.price_jump_band:
        return "jump_beyond_band"
    return None


# ------------------------------------------------------------------------------ policy


@dataclass(frozen=True)
class ProposePolicyChange:
    proposal_id: str
    parameters: tuple[ev.PolicyParameter, ...]
    effective_from: datetime


@dataclass(frozen=True)
class ApprovePolicyChange:
    proposal_id: str


@dataclass(frozen=True)
class RejectPolicyChange:
    proposal_id: str
    reason: str


PolicyCommand = ProposePolicyChange | ApprovePolicyChange | RejectPolicyChange


@dataclass(frozen=True)
class PolicyContext:
    now: datetime
    actor: str  # the authenticated principal: maker or checker


def initial_history(stream: str) -> PolicyHistory:
    return PolicyHistory()


def decide_policy(
    history: PolicyHistory, command: PolicyCommand, context: PolicyContext
) -> list[ev.Event]:
    match command:
        case ProposePolicyChange():
            return governed.propose(
                history,
                proposal_id=command.proposal_id,
                parameters=command.parameters,
                effective_from=command.effective_from,
                maker=context.actor,
                now=context.now,
            )
        case ApprovePolicyChange():
            return governed.approve(
                history, proposal_id=command.proposal_id, checker=context.actor, now=context.now
            )
        case RejectPolicyChange():
            return governed.reject(
                history,
                proposal_id=command.proposal_id,
                checker=context.actor,
                reason=command.reason,
            )
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover
