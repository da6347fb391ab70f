"""The broker-wide lending limits: total margin loans and single client (or related group).

docs/domain.md: total margin loans stay at or below ``total_loans_multiple`` x the
broker's capital (5 x by default, SFC margin financing guidelines), and what one client or
related group borrows at or below ``single_client_limit`` of the broker's shareholders' funds
(20% by default).

These are the one rule that spans accounts, so they cannot be decided on a client's stream
alone. The mechanism: the stream ``broker-exposure`` holds a :class:`BrokerExposureChanged`
for every change of outstanding principal (advance, principal repayment, capitalisation,
liquidation), appended in the same transaction as the account event that caused it, with an
expected version on *both* streams. A decision that raises exposure reads this stream's state,
checks the limits with :func:`check_broker_limits`, and appends at the version it read: two
concurrent advances cannot both succeed against the same total, because the second append
fails its expected-version check and is retried on the new total. The stream is therefore a
serialisable running total, and a limit decided on it holds however many servers decide at
once. Reductions never need the check (they are never refused) but still append, so the total
stays exact.

Amounts are kept per loan currency (``Balances``) and converted to HKD only when checked, at
the prices of that decision, rounding up (what clients owe is never understated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pyrsistent import PMap, pmap

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.balances import EMPTY, Balances
from harbour.ledger.codec import DecodeError, decode_value, encode_value
from harbour.ledger.errors import (
    BrokerLimitExceeded,
    ConcentrationLimitExceeded,
    PriceUnavailable,
)
from harbour.ledger.money import Money, exact_product, format_decimal, round_up
from harbour.ledger.policy import CollateralPolicy

EXPOSURE_STREAM = "broker-exposure"
_HKD = REPORTING_CURRENCY


@dataclass(frozen=True)
class BrokerExposure:
    """The state of ``broker-exposure``: outstanding principal per loan currency, for the
    broker as a whole and per related group (a client without a group is its own group).
    Groups whose exposure returns to zero are dropped, so equal states are equal values."""

    total: Balances = EMPTY
    # A persistent map (pyrsistent): an event changes one group in O(log groups) and shares
    # the rest, so a broker with 100,000 borrowers does not copy them on every advance.
    by_group: PMap[str, Balances] = field(default_factory=pmap)

    @classmethod
    def of_stream(cls, stream: str) -> BrokerExposure:
        """The state of an empty ``broker-exposure`` stream."""
        return cls()

    def group(self, group_id: str) -> Balances:
        return self.by_group.get(group_id, EMPTY)


def evolve_exposure(state: BrokerExposure, event: ev.Event) -> BrokerExposure:
    """The state after ``event``; never validates. Other events leave it unchanged."""
    if not isinstance(event, ev.BrokerExposureChanged):
        return state
    return BrokerExposure(*_apply(state.total, state.by_group, event))


def replay_exposure(
    history: Iterable[ev.Event], state: BrokerExposure | None = None
) -> BrokerExposure:
    """The state after every event of ``history`` (from ``state``, or the empty stream):
    the same result as folding :func:`evolve_exposure`, in one pass over a mutable copy."""
    start = state if state is not None else BrokerExposure()
    total, groups = start.total, start.by_group
    for event in history:
        if isinstance(event, ev.BrokerExposureChanged):
            total, groups = _apply(total, groups, event)
    return BrokerExposure(total, groups)


def _apply(
    total: Balances, groups: PMap[str, Balances], event: ev.BrokerExposureChanged
) -> tuple[Balances, PMap[str, Balances]]:
    code, delta = event.change.asset.code, event.change.minor
    after = groups.get(event.group_id, EMPTY).add(code, delta)
    groups = groups.discard(event.group_id) if after.is_zero else groups.set(event.group_id, after)
    return total.add(code, delta), groups


# Bump when BrokerExposure's shape changes: a snapshot of another shape is a cache miss.
SNAPSHOT_VERSION = 1


def to_snapshot(state: BrokerExposure) -> dict[str, Any]:
    """JSON-safe state for the snapshot cache (amounts as decimal strings per currency)."""
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "total": encode_value(state.total),
        "by_group": {
            group: encode_value(amounts) for group, amounts in sorted(state.by_group.items())
        },
    }


def from_snapshot(data: Any) -> BrokerExposure:
    """The state ``to_snapshot`` gave; DecodeError for any other shape (replay instead)."""
    if not isinstance(data, dict) or data.get("snapshot_version") != SNAPSHOT_VERSION:
        raise DecodeError("not a broker-exposure snapshot of the current version")
    if set(data) != {"snapshot_version", "total", "by_group"}:
        raise DecodeError("a broker-exposure snapshot has exactly total and by_group")
    groups = data["by_group"]
    if not isinstance(groups, dict):
        raise DecodeError("by_group: expected an object")
    by_group: dict[str, Balances] = {}
    for group, amounts in sorted(groups.items()):
        balances = decode_value(Balances, amounts, f"by_group.{group}")
        if balances:
            by_group[group] = balances
    return BrokerExposure(decode_value(Balances, data["total"], "total"), pmap(by_group))


def group_of(account: MarginAccount) -> str:
    """The concentration group of a client: its related group, or the client itself."""
    return account.related_group_id or account.client_id


def exposure_change(
    account: MarginAccount, change: Money, reason: str, reference: str
) -> ev.BrokerExposureChanged:
    """The event recording a signed principal change of ``account`` on ``broker-exposure``."""
    return ev.BrokerExposureChanged(account.client_id, group_of(account), change, reason, reference)


@dataclass(frozen=True)
class LimitFigures:
    """The figures a broker-limit check compared, all in HKD (recorded with the decision)."""

    total_after: Money
    total_limit: Money
    group_after: Money
    group_limit: Money


def check_broker_limits(
    state: BrokerExposure,
    group: str,
    change: Money,
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
) -> LimitFigures:
    """The HKD figures after ``change`` (signed, in its loan currency) for the broker's total
    and for ``group``; refuses an increase that would take either above its limit.

    Each currency is converted at its price (HKD per unit; HKD itself is 1), rounding up.
    An increase with a non-zero amount in a currency that has no price raises
    :class:`PriceUnavailable`. A change that does not increase exposure is never refused: for
    it, a currency without a price is left out of the figures (they are then a lower bound).
    """
    increases = change.minor > 0
    code = change.asset.code
    total_after = _in_hkd(state.total.add(code, change.minor), prices, strict=increases)
    group_after = _in_hkd(state.group(group).add(code, change.minor), prices, strict=increases)
    figures = LimitFigures(
        total_after=total_after,
        total_limit=policy.total_loans_limit,
        group_after=group_after,
        group_limit=policy.single_client_limit_amount,
    )
    if not increases:
        return figures
    if figures.total_after > figures.total_limit:
        raise BrokerLimitExceeded(
            f"total margin loans would be {_hkd_text(figures.total_after)}, above "
            f"{_factor_text(policy.total_loans_multiple)} x capital = "
            f"{_hkd_text(figures.total_limit)}"
        )
    if figures.group_after > figures.group_limit:
        raise ConcentrationLimitExceeded(
            f"margin loans to client or related group {group} would be "
            f"{_hkd_text(figures.group_after)}, above "
            f"{_percent_text(policy.single_client_limit)} of shareholders' funds = "
            f"{_hkd_text(figures.group_limit)}"
        )
    return figures


def _in_hkd(amounts: Balances, prices: Mapping[str, ev.PricePoint], *, strict: bool) -> Money:
    total = 0
    for code, minor in amounts:
        if code == _HKD.code:
            total += minor
            continue
        point = prices.get(code)
        if point is None:
            if strict:
                raise PriceUnavailable(
                    f"no price for {code}: margin loans in {code} cannot be valued in "
                    f"{_HKD.code} for the broker-wide limits"
                )
            continue
        if point.base_asset != code or point.quote_asset != _HKD.code:
            raise ValueError(
                f"price for {code} is {point.base_asset}/{point.quote_asset}, "
                f"not {code}/{_HKD.code}"
            )
        total += round_up(_HKD, exact_product(Money(asset(code), minor), point.price))
    return Money(_HKD, total)


def _hkd_text(amount: Money) -> str:
    """``1,234,567.89 HKD``: the amount with thousands separators."""
    sign = "-" if amount.minor < 0 else ""
    whole, fraction = divmod(abs(amount.minor), amount.asset.unit)
    return f"{sign}{whole:,}.{fraction:0{amount.asset.scale}d} {amount.asset.code}"


def _factor_text(factor: Decimal) -> str:
    return format_decimal(factor.normalize())


def _percent_text(share: Decimal) -> str:
    return f"{format_decimal((share * 100).normalize())}%"
